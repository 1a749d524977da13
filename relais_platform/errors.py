"""One error format for the API, friendly pages for the web.

API errors are JSON `{"code", "status", "message", "errors"}`; 422 carries a list of messages
per field. flask-smorest registers its own HTTPException handler; ours replaces it so that
HTML pages keep HTML errors.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, abort, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.http import HTTP_STATUS_CODES

from relais_platform.bounds import INT32_MAX, INT64_MAX, is_storable_text
from relais_platform.domain import DomainError

_DEFAULT_MESSAGES = {
    400: _l("Requête invalide."),
    401: _l("Authentification requise."),
    403: _l("Vous n'avez pas accès à cette ressource."),
    404: _l("Ressource introuvable."),
    405: _l("Méthode non autorisée."),
    409: _l("Conflit avec l'état actuel de la ressource."),
    422: _l("Certaines informations sont invalides."),
    429: _l("Trop de requêtes : réessayez plus tard."),
    500: _l("Erreur interne : l'équipe technique a été prévenue."),
    503: _l("Service momentanément indisponible : réessayez dans quelques instants."),
}
RETRY_AFTER_SECONDS = "5"


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/webhooks/")


def json_error(
    code: int,
    message: str | None = None,
    errors: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
):
    payload = {
        "code": code,
        "status": HTTP_STATUS_CODES.get(code, "Error"),
        "message": message or str(_DEFAULT_MESSAGES.get(code, _l("Erreur."))),
        "errors": errors or {},
    }
    return jsonify(payload), code, headers or {}


def _field_errors(exc: HTTPException) -> dict[str, Any]:
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages") or data.get("errors") or {}
    flat: dict[str, Any] = {}
    for location, fields in messages.items():
        # webargs nests by location ({"json": {...}}); clients want the fields.
        if isinstance(fields, dict) and location in ("json", "query", "form", "view_args"):
            flat.update(fields)
        else:
            flat[location] = fields
    return flat


MAX_JSON_DEPTH = 32
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')


def json_depth(raw: bytes) -> int:
    """How deeply a JSON text nests, read before parsing (a deep one exhausts the parser's stack)."""
    depth = deepest = 0
    for byte in _JSON_STRING.sub(b'""', raw):
        if byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif byte in b"]}":
            depth -= 1
    return deepest


def _bad_json_fields(value: Any, name: str = "") -> dict[str, str]:
    """Dotted paths (`lines.0.serials.1`) of what no column can take, with the reason.

    Strings and keys holding NUL or a lone surrogate; integers beyond bigint (ids inside lists
    included). Narrower limits are the schemas' and the columns' (relais_platform.bounds).
    """
    if isinstance(value, str):
        return {} if is_storable_text(value) else {name or "body": _l("Caractères non valides.")}
    if isinstance(value, int) and not isinstance(value, bool):
        return {} if abs(value) <= INT64_MAX else {name or "body": _l("Nombre hors limites.")}
    if isinstance(value, dict):
        items = [(str(key), item) for key, item in value.items()]
    elif isinstance(value, list):
        items = [(str(index), item) for index, item in enumerate(value)]
    else:
        return {}
    found: dict[str, str] = {}
    for part, item in items:
        path = f"{name}.{part}" if name else part
        if not is_storable_text(part):
            found[path] = _l("Caractères non valides.")
        else:
            found.update(_bad_json_fields(item, path))
    return found


# Query and form parameters that carry a row id or a page number, whatever the page or form.
_BOUNDED_PARAMETER = re.compile(r"(?:page|id|\w+_id)")


def _beyond_bounds(key: str, value: str) -> bool:
    """A page number beyond int4 or an id beyond bigint (the offset or the key overflows)."""
    digits = value.strip().removeprefix("-").removeprefix("+")
    if not (_BOUNDED_PARAMETER.fullmatch(key) and digits.isdigit()):
        return False
    limit = INT32_MAX if key == "page" else INT64_MAX
    return len(digits) > 20 or int(digits) > limit


def refuse_unstorable_input() -> ResponseReturnValue | None:
    """Refuse up front, naming the field, what PostgreSQL cannot take: NUL and lone surrogates
    in text, integers beyond bigint in JSON, ids and page numbers beyond their range in a query
    or a form; a JSON body nested absurdly deep is a 400."""
    if not is_storable_text(request.path):
        abort(404)  # no identifier can hold one, so nothing is there
    fields: dict[str, str] = {}
    for source in (request.args, request.form):
        for key, values in source.lists():
            if not all(is_storable_text(v) for v in [key, *values]):
                fields[key] = _l("Caractères non valides.")
            elif any(_beyond_bounds(key, v) for v in values):
                fields[key] = _l("Nombre hors limites.")
    if request.is_json:
        if json_depth(request.get_data(cache=True)) > MAX_JSON_DEPTH:
            abort(400)
        fields.update(_bad_json_fields(request.get_json(silent=True)))
    if not fields:
        return None
    if wants_json():
        return json_error(422, errors={field: [str(fields[field])] for field in sorted(fields)})
    message = " ".join(sorted({str(reason) for reason in fields.values()}))
    return render_template("errors/error.html", code=400, message=message), 400


def domain_error_response(exc: DomainError) -> ResponseReturnValue:
    if wants_json():
        return json_error(exc.status, exc.message, exc.errors)
    return render_template("errors/error.html", code=exc.status, message=exc.message), exc.status


def init_app(app: Flask) -> None:
    app.before_request(refuse_unstorable_input)

    @app.errorhandler(HTTPException)
    def handle_http_exception(exc: HTTPException):
        code = exc.code or 500
        if wants_json():
            data = getattr(exc, "data", None) or {}
            message = data.get("message")
            if message is None and code not in _DEFAULT_MESSAGES:
                message = exc.description
            headers = dict(data.get("headers") or {})
            if code == 401 and "WWW-Authenticate" not in headers:
                headers["WWW-Authenticate"] = 'Bearer realm="api"'
            return json_error(code, message, _field_errors(exc), headers)
        return render_template("errors/error.html", code=code,
                               message=str(_DEFAULT_MESSAGES.get(code, _l("Erreur.")))), code

    app.register_error_handler(DomainError, domain_error_response)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(DisconnectionError)
    def handle_database_unavailable(exc: Exception) -> ResponseReturnValue:
        # A connection dropped or refused: the request may succeed again in a moment.
        app.logger.warning("database unavailable: %s", exc)
        message = str(_DEFAULT_MESSAGES[503])
        headers = {"Retry-After": RETRY_AFTER_SECONDS}
        if wants_json():
            return json_error(503, message, headers=headers)
        return render_template("errors/error.html", code=503, message=message), 503, headers

    @app.errorhandler(InternalServerError)
    def handle_500(exc: InternalServerError):
        app.logger.exception("unhandled error", exc_info=exc.original_exception)
        return handle_http_exception(exc)
