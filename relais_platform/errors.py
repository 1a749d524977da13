"""One error format for the API, friendly pages for the web.

API errors are JSON `{"code", "status", "message", "errors"}`; 422 carries a list of messages
per field. flask-smorest registers its own HTTPException handler; ours replaces it so that
HTML pages keep HTML errors.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.http import HTTP_STATUS_CODES

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
}


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


def _fields_with_nul(value: Any, name: str = "") -> list[str]:
    """Dotted paths (`lines.0.serials.1`) of the strings and keys in a JSON body holding NUL."""
    if isinstance(value, str):
        return [name or "body"] if "\x00" in value else []
    if isinstance(value, dict):
        items = [(str(key), item) for key, item in value.items()]
    elif isinstance(value, list):
        items = [(str(index), item) for index, item in enumerate(value)]
    else:
        return []
    found = []
    for part, item in items:
        path = f"{name}.{part}" if name else part
        found += [path] if "\x00" in part else _fields_with_nul(item, path)
    return found


def refuse_nul_characters():
    """PostgreSQL text cannot hold NUL: refuse it up front, naming the field, instead of a 500."""
    if "\x00" in request.path:
        abort(404)  # no identifier can hold one, so nothing is there
    fields: list[str] = []
    for source in (request.args, request.form):
        fields += [key for key, values in source.lists() for v in [key, *values] if "\x00" in v]
    if request.is_json:
        fields += _fields_with_nul(request.get_json(silent=True))
    if not fields:
        return None
    message = str(_l("Caractère nul non autorisé."))
    if wants_json():
        return json_error(422, errors={field: [message] for field in sorted(set(fields))})
    return render_template("errors/error.html", code=400, message=message), 400


def init_app(app: Flask) -> None:
    app.before_request(refuse_nul_characters)

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

    @app.errorhandler(DomainError)
    def handle_domain_error(exc: DomainError):
        if wants_json():
            return json_error(exc.status, exc.message, exc.errors)
        return render_template("errors/error.html", code=exc.status, message=exc.message), exc.status

    @app.errorhandler(InternalServerError)
    def handle_500(exc: InternalServerError):
        app.logger.exception("unhandled error", exc_info=exc.original_exception)
        return handle_http_exception(exc)
