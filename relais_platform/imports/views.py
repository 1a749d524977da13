"""Import pages: choose a kind, download its template, upload, see the check, apply."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from relais_platform.accounts.auth import roles_required
from relais_platform.accounts.forms import ActionForm, add_errors
from relais_platform.accounts.models import Role
from relais_platform.domain import Conflict, ValidationFailed
from relais_platform.extensions import db
from relais_platform.imports import services as imports
from relais_platform.imports.forms import UploadForm
from relais_platform.imports.models import ImportStatus
from relais_platform.tabular.writer import CSV_MIMETYPE, XLSX_MIMETYPE

bp = Blueprint("imports", __name__, url_prefix="/imports", template_folder="templates")

IMPORTERS = (Role.NATIONAL, Role.RELAIS_ADMIN)
RUNNING = (ImportStatus.CHECKING, ImportStatus.APPLYING)
STATUS_LABELS = {
    ImportStatus.CHECKING: _l("Vérification en cours"),
    ImportStatus.CHECKED: _l("Vérifié, prêt à appliquer"),
    ImportStatus.INVALID: _l("Erreurs à corriger"),
    ImportStatus.APPLYING: _l("Import en cours"),
    ImportStatus.APPLIED: _l("Appliqué"),
    ImportStatus.FAILED: _l("Échoué, rien n'a été enregistré"),
    ImportStatus.EXPIRED: _l("Expiré, fichier supprimé sans être appliqué"),
}


@bp.app_template_filter("import_status")
def _status_label(status: ImportStatus) -> str:
    return str(STATUS_LABELS[ImportStatus(status)])


def _form() -> UploadForm:
    form = UploadForm()
    form.kind.choices = [(cls.kind, str(cls.label)) for cls in imports.kinds_for(current_user.role)]
    return form


@bp.route("/", methods=["GET", "POST"])
@roles_required(*IMPORTERS)
def index() -> Response | tuple[str, int] | str:
    form = _form()
    if form.validate_on_submit():
        try:
            if form.file.data and form.file.data.filename:
                filename = form.file.data.filename
                data = form.file.data.stream.read(imports.max_bytes() + 1)
            elif form.kind.data == "serials" and (form.serials.data or "").strip():
                filename = _("numéros collés")
                data = imports.pasted_serials(form.sku.data or "", form.serials.data)
            else:
                raise ValidationFailed.field("file", _("Choisissez un fichier CSV ou XLSX."))
            run = imports.upload(current_user, form.kind.data, filename, data)
        except ValidationFailed as exc:
            db.session.rollback()
            add_errors(form, exc.errors)
        else:
            return redirect(url_for("imports.detail", import_id=run.id))
    kinds = [(cls, cls.columns_for(current_user.role)) for cls in imports.kinds_for(current_user.role)]
    return render_template("imports/index.html", form=form, kinds=kinds,
                           runs=imports.recent_imports(current_user),
                           retention_days=imports.retention_days()), 422 if form.errors else 200


@bp.route("/<int:import_id>")
@roles_required(*IMPORTERS)
def detail(import_id: int) -> str:
    run = imports.get_import(current_user, import_id)
    return render_template("imports/detail.html", run=run, progress=imports.progress_of(run),
                           running=run.status in RUNNING, form=ActionForm(),
                           retention_days=imports.retention_days(),
                           columns=imports.columns_for(run.kind.value, current_user.role))


@bp.route("/<int:import_id>/apply", methods=["POST"])
@roles_required(*IMPORTERS)
def apply(import_id: int) -> Response:
    run = imports.get_import(current_user, import_id)
    if ActionForm().validate_on_submit():
        try:
            imports.request_apply(current_user, run)
        except Conflict as exc:
            flash(exc.message, "error")
            return redirect(url_for("imports.detail", import_id=run.id), code=303)
        flash(_("Import lancé : cette page suit sa progression."), "success")
    return redirect(url_for("imports.detail", import_id=run.id), code=303)


@bp.route("/templates/<string:kind>.<any(csv, xlsx):fmt>")
@roles_required(*IMPORTERS)
def template(kind: str, fmt: str) -> Response:
    try:
        data = imports.template(kind, fmt, current_user)
    except ValidationFailed:
        abort(404)
    return Response(data, mimetype=CSV_MIMETYPE if fmt == "csv" else XLSX_MIMETYPE,
                    headers={"Content-Disposition": f'attachment; filename="modele-{kind}.{fmt}"'})
