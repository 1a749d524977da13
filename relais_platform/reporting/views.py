"""Web pages of reporting: events and governance (relais staff), the annual bilan and its exports.

Thin views over the same services as the API. Export buttons post a form; the export's
page shows a progress bar (refreshed by the page itself while the job runs: no script) and
the download link when the file is ready.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response as BaseResponse

from relais_platform.accounts.auth import roles_required
from relais_platform.accounts.models import Role
from relais_platform.domain import ValidationFailed
from relais_platform.reporting import events, exports
from relais_platform.reporting.bilan import (
    REGIONS,
    annual_bilan,
    departements_in_use,
    parse_year,
    relais_choices,
    resolve_scope,
)
from relais_platform.reporting.forms import KIND_LABELS, EventForm, ExportForm
from relais_platform.reporting.models import EventKind, ExportStatus
from relais_platform.reporting.presentation import charts_of
from relais_platform.stock.scope import local_today

bp = Blueprint("reporting", __name__, url_prefix="/rapports", template_folder="templates")

STAFF = (Role.RELAIS_ADMIN, Role.RELAIS_WORKER)
EVERYONE = (Role.NATIONAL, Role.COACH, *STAFF)
PAGE_SIZE = 25

Page = BaseResponse | tuple[str, int] | str


@bp.app_template_filter("event_kind")
def _event_kind(kind: EventKind) -> str:
    return str(KIND_LABELS[EventKind(kind)])


def _add_errors(form: FlaskForm, errors: Mapping[str, list[str]]) -> None:
    for name, messages in errors.items():
        field = form._fields.get(name)
        if field is not None:
            field.errors = [*field.errors, *messages]
        else:
            form.form_errors.extend(messages)


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "").strip()
    return int(value) if value.isdigit() else None


# --- events and governance ---------------------------------------------------------------


@bp.route("/evenements")
@roles_required(*STAFF)
def event_list() -> Page:
    page = max(1, _int_arg("page") or 1)
    year = _int_arg("year")
    items, total = events.page(None, year, page, PAGE_SIZE)
    return render_template("reporting/events.html", title=_("Événements et gouvernance"), items=items,
                           total=total, page=page, last_page=max(1, -(-total // PAGE_SIZE)), year=year)


def _event_form_page(form: EventForm, event: Any = None) -> Page:
    status = 200
    if form.validate_on_submit():
        try:
            if event is None:
                events.create(form.values())
            else:
                events.update(event, form.values())
        except ValidationFailed as exc:
            _add_errors(form, exc.errors)
            status = 422
        else:
            flash(_("Événement enregistré."), "success")
            return redirect(url_for("reporting.event_list"))
    elif form.is_submitted():
        status = 422
    title = _("Nouvel événement") if event is None else _("Modifier l'événement")
    return render_template("reporting/event_form.html", title=title, form=form, event=event), status


@bp.route("/evenements/nouveau", methods=["GET", "POST"])
@roles_required(*STAFF)
def event_new() -> Page:
    form = EventForm()
    if request.method == "GET":
        form.kind.data = request.args.get("kind", EventKind.EVENT.value)
        form.date.data = local_today()
    return _event_form_page(form)


@bp.route("/evenements/<int:event_id>/modifier", methods=["GET", "POST"])
@roles_required(*STAFF)
def event_edit(event_id: int) -> Page:
    event = events.get(event_id)
    form = EventForm()
    if request.method == "GET":
        form.kind.data, form.title.data, form.date.data = event.kind.value, event.title, event.held_on
        form.participants.data, form.body.data = event.participants, event.body
    return _event_form_page(form, event)


@bp.route("/evenements/<int:event_id>/supprimer", methods=["GET", "POST"])
@roles_required(*STAFF)
def event_delete(event_id: int) -> Page:
    event = events.get(event_id)
    form = FlaskForm()
    if form.validate_on_submit():
        events.delete(event)
        flash(_("Événement supprimé."), "success")
        return redirect(url_for("reporting.event_list"))
    return render_template("reporting/event_delete.html", title=_("Supprimer l'événement"), event=event,
                           form=form)


# --- the annual bilan ------------------------------------------------------------------------


def _bilan_filters() -> dict[str, Any]:
    if current_user.role not in (Role.NATIONAL, Role.COACH):
        return {}
    filters: dict[str, Any] = {"relais_id": _int_arg("relais_id")}
    if current_user.role == Role.NATIONAL:
        filters["departement"] = request.args.get("departement") or None
        filters["region"] = request.args.get("region") or None
    return filters


def _activity(figures: dict[str, Any]) -> int:
    return (figures["beneficiaries"] + figures["accompaniment_sessions"] + figures["events"]
            + sum(figures["distributions"].values()))


def _default_bilan(scope: Any) -> tuple[int, dict[str, Any]]:
    """Last year's bilan, unless this year already holds more (a network in its first year)."""
    this_year = local_today().year
    current = annual_bilan(scope, this_year)
    if _activity(current) > _activity(current["previous_year"]):
        return this_year, current
    return this_year - 1, annual_bilan(scope, this_year - 1)


@bp.route("/bilan")
@roles_required(*EVERYONE)
def bilan() -> Page:
    filters = _bilan_filters()
    errors: dict[str, list[str]] = {}
    year: int | None = None
    if request.args.get("year"):
        try:
            year = parse_year(request.args["year"])
        except ValidationFailed as exc:
            errors = exc.errors
    try:
        scope = resolve_scope(current_user, **filters)
    except ValidationFailed as exc:
        errors.update(exc.errors)
        filters = {}
        scope = resolve_scope(current_user)
    year, figures = (year, annual_bilan(scope, year)) if year else _default_bilan(scope)
    export_form = ExportForm(formdata=None, year=year, **{k: v or "" for k, v in filters.items()})
    return render_template(
        "reporting/bilan.html", title=_("Bilan annuel %(year)d", year=year), bilan=figures,
        rows=exports.indicator_rows(figures), products=exports.product_rows(figures),
        charts=charts_of(figures), export_form=export_form, filters=filters, errors=errors,
        years=list(range(local_today().year, local_today().year - 6, -1)),
        relais=relais_choices(current_user) if current_user.role in (Role.NATIONAL, Role.COACH) else [],
        departements=departements_in_use() if current_user.role == Role.NATIONAL else [],
        regions=REGIONS if current_user.role == Role.NATIONAL else [],
    ), 422 if errors else 200


@bp.route("/bilan/export", methods=["POST"])
@roles_required(*EVERYONE)
def bilan_export() -> Page:
    form = ExportForm()
    if not form.validate_on_submit():
        flash(_("La demande d'export a expiré : recommencez."), "error")
        return redirect(url_for("reporting.bilan"))
    filters: dict[str, Any] = {}
    if current_user.role in (Role.NATIONAL, Role.COACH):
        relais_id = (form.relais_id.data or "").strip()
        filters["relais_id"] = int(relais_id) if relais_id.isdigit() else None
    if current_user.role == Role.NATIONAL:
        filters["departement"] = form.departement.data or None
        filters["region"] = form.region.data or None
    try:
        export = exports.request_export(current_user, form.year.data, form.format.data, filters)
    except ValidationFailed as exc:
        flash(" ".join(m for messages in exc.errors.values() for m in messages), "error")
        return redirect(url_for("reporting.bilan"))
    return redirect(url_for("reporting.export_status", export_id=export.id))


@bp.route("/exports/<int:export_id>")
@roles_required(*EVERYONE)
def export_status(export_id: int) -> Page:
    export = exports.settle_lost(exports.get_export(current_user, export_id))
    running = export.status in (ExportStatus.QUEUED, ExportStatus.RUNNING)
    return render_template("reporting/export.html", title=_("Export du bilan %(year)d", year=export.year),
                           export=export, running=running)


@bp.route("/exports/<int:export_id>/relancer", methods=["POST"])
@roles_required(*EVERYONE)
def export_restart(export_id: int) -> Page:
    export = exports.restart_export(current_user, export_id)
    flash(_("L'export est relancé."), "success")
    return redirect(url_for("reporting.export_status", export_id=export.id))


@bp.route("/exports/<int:export_id>/fichier")
@roles_required(*EVERYONE)
def export_file(export_id: int) -> Response:
    name, mimetype, content = exports.file_of(exports.get_export(current_user, export_id))
    return Response(content, content_type=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
