"""Web pages of funders and agreements: national users list and create them; coaches and
relais admins read the agreements covering them and their reports."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from relais_platform.accounts.auth import roles_required
from relais_platform.accounts.models import Role
from relais_platform.domain import ValidationFailed
from relais_platform.reporting import exports
from relais_platform.reporting.activity.presentation import (
    breakdown_tables,
    charts_of,
    product_rows,
    total_rows,
)
from relais_platform.reporting.funders import services
from relais_platform.reporting.funders.forms import ConventionForm, FunderForm

bp = Blueprint("funders", __name__, url_prefix="/rapports/conventions", template_folder="templates")

READERS = (Role.NATIONAL, Role.COACH, Role.RELAIS_ADMIN)

Page = Response | tuple[str, int] | str


def _add_errors(form: FlaskForm, errors: Mapping[str, list[str]]) -> None:
    for name, messages in errors.items():
        field = form._fields.get(name)
        if field is not None:
            field.errors = [*field.errors, *messages]
        else:
            form.form_errors.extend(messages)


def _convention_form(formdata: object = None) -> ConventionForm:
    form = ConventionForm(formdata=formdata) if formdata is not None else ConventionForm()
    form.funder_id.choices = [(f.id, f.name) for f in services.list_funders()[0]]
    return form


@bp.route("")
@roles_required(*READERS)
def index() -> Page:
    national = current_user.role == Role.NATIONAL
    return render_template(
        "reporting/conventions.html", title=_("Financeurs et conventions") if national else _("Conventions"),
        conventions=services.list_conventions(current_user)[0],
        funders=services.list_funders()[0] if national else [],
        funder_form=FunderForm() if national else None,
        convention_form=_convention_form() if national else None)


def _index_with_errors(funder_form: FunderForm, convention_form: ConventionForm) -> tuple[str, int]:
    return render_template(
        "reporting/conventions.html", title=_("Financeurs et conventions"),
        conventions=services.list_conventions(current_user)[0], funders=services.list_funders()[0],
        funder_form=funder_form, convention_form=convention_form), 422


@bp.route("/financeurs", methods=["POST"])
@roles_required(Role.NATIONAL)
def funder_create() -> Page:
    form = FunderForm()
    if form.validate_on_submit():
        try:
            services.create_funder(form.values())
        except ValidationFailed as exc:
            _add_errors(form, exc.errors)
        else:
            flash(_("Financeur enregistré."), "success")
            return redirect(url_for("funders.index"))
    return _index_with_errors(form, _convention_form())


@bp.route("/nouvelle", methods=["POST"])
@roles_required(Role.NATIONAL)
def convention_create() -> Page:
    form = _convention_form(request.form)
    if form.validate_on_submit():
        try:
            convention = services.create_convention(current_user, form.values())
        except ValidationFailed as exc:
            _add_errors(form, exc.errors)
        else:
            flash(_("Convention enregistrée."), "success")
            return redirect(url_for("funders.detail", convention_id=convention.id))
    return _index_with_errors(FunderForm(formdata=None), form)


@bp.route("/<int:convention_id>")
@roles_required(*READERS)
def detail(convention_id: int) -> Page:
    result = services.convention_report(current_user, convention_id)
    activity = result["activity"]
    return render_template(
        "reporting/convention.html", title=result["convention"]["name"], result=result, report=activity,
        totals=total_rows(activity), products=product_rows(activity), breakdowns=breakdown_tables(activity),
        charts=charts_of(activity), form=FlaskForm())


@bp.route("/<int:convention_id>/export", methods=["POST"])
@roles_required(*READERS)
def export(convention_id: int) -> Page:
    convention = services.get_convention(current_user, convention_id)
    form = FlaskForm()
    fmt = request.form.get("format", "pdf")
    if not form.validate_on_submit() or fmt not in ("pdf", "xlsx"):
        flash(_("La demande d'export a expiré : recommencez."), "error")
        return redirect(url_for("funders.detail", convention_id=convention.id))
    job = exports.request_report_export(current_user, "convention", fmt, {"convention_id": convention.id},
                                        year=convention.ends_on.year)
    return redirect(url_for("reporting.export_status", export_id=job.id))
