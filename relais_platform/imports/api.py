"""REST API for imports: upload (then a check job), report, apply (a job), templates."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint

from relais_platform.accounts.models import Role
from relais_platform.api import api_access, paginate, pagination_headers
from relais_platform.domain import ValidationFailed
from relais_platform.imports import services as imports
from relais_platform.imports.models import ImportRun
from relais_platform.imports.schemas import UPLOAD_BODY, ImportListArgs, ImportSchema, ImportSummarySchema
from relais_platform.tabular.http import exportable
from relais_platform.tabular.writer import CSV_MIMETYPE, XLSX_MIMETYPE
from relais_platform.tenants.schemas import PAGINATION_HEADERS, error_responses

blp = Blueprint("imports_api", __name__,
                description="Imports (relais, utilisateurs, bénéficiaires, stock, catalogue)")

IMPORTERS = (Role.NATIONAL, Role.RELAIS_ADMIN)


def uploaded() -> tuple[str, str, bytes]:
    """kind, file name and content of a multipart upload; 422 naming what is missing."""
    errors: dict[str, list[str]] = {}
    kind = (request.form.get("kind") or "").strip()
    if not kind:
        errors["kind"] = [_("Ce champ est obligatoire.")]
    file = request.files.get("file")
    if file is None or not file.filename:
        errors["file"] = [_("Choisissez un fichier CSV ou XLSX.")]
    if errors:
        raise ValidationFailed(errors)
    assert file is not None
    # One byte more than allowed is enough to refuse it.
    data = file.stream.read(imports.max_bytes() + 1)
    return kind, file.filename or "", data


@blp.route("/imports")
class ImportCollection(MethodView):
    @api_access(*IMPORTERS)
    @blp.arguments(ImportListArgs, location="query")
    @blp.response(200, ImportSummarySchema(many=True), headers=PAGINATION_HEADERS)
    @error_responses(blp, 401, 403, 422)
    @exportable(ImportSummarySchema, "imports")
    def get(self, args: dict[str, Any]):
        """Les imports de l'appelant, du plus récent au plus ancien : ceux de l'équipe nationale, ou
        ceux de son relais (référent) ; les compteurs du rapport, sans la liste des erreurs."""
        page, per_page = args["page"], args["per_page"]
        runs, total = paginate(imports.import_list(current_user, kind=args.get("kind"),
                                                   status=args.get("status")), page, per_page)
        return runs, pagination_headers(total, page, per_page)

    @api_access(*IMPORTERS)
    @blp.doc(requestBody=UPLOAD_BODY)
    @blp.response(202, ImportSchema)
    @error_responses(blp, 401, 403, 422)
    def post(self) -> ImportRun:
        """Envoyer un fichier à importer : 202, puis suivre la vérification (GET)."""
        kind, filename, data = uploaded()
        return imports.upload(current_user, kind, filename, data)


@blp.route("/imports/<int:import_id>")
class ImportItem(MethodView):
    @api_access(*IMPORTERS)
    @blp.response(200, ImportSchema)
    @error_responses(blp, 401, 403, 404)
    def get(self, import_id: int) -> ImportRun:
        """L'état d'un import : vérification, erreurs par ligne et colonne, progression."""
        return imports.get_import(current_user, import_id)


@blp.route("/imports/<int:import_id>/apply")
class ImportApply(MethodView):
    @api_access(*IMPORTERS)
    @blp.response(202, ImportSchema)
    @error_responses(blp, 401, 403, 404, 409)
    def post(self, import_id: int) -> ImportRun:
        """Appliquer un fichier vérifié sans erreur (tout ou rien, en tâche de fond)."""
        return imports.request_apply(current_user, imports.get_import(current_user, import_id))


@blp.route("/imports/templates/<string:kind>.<any(csv, xlsx):fmt>")
class ImportTemplate(MethodView):
    @api_access(*IMPORTERS)
    @blp.doc(responses={"200": {"description": "Le modèle", "content": {
        "text/csv": {"schema": {"type": "string"}},
        XLSX_MIMETYPE: {"schema": {"type": "string", "format": "binary"}}}}})
    @error_responses(blp, 401, 403, 422)
    def get(self, kind: str, fmt: str) -> Response:
        """Le modèle d'un import : colonnes attendues, leur sens et une ligne d'exemple."""
        data = imports.template(kind, fmt, current_user)
        return Response(data, mimetype=CSV_MIMETYPE if fmt == "csv" else XLSX_MIMETYPE, headers={
            "Content-Disposition": f'attachment; filename="modele-{kind}.{fmt}"'})
