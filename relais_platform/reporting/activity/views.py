"""Web page of the activity report (every role, its own reach) and its export button."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from relais_platform.accounts.auth import roles_required
from relais_platform.accounts.models import Role
from relais_platform.domain import ValidationFailed
from relais_platform.reporting import exports
from relais_platform.reporting.activity.forms import ActivityExportForm
from relais_platform.reporting.activity.presentation import (
    breakdown_tables,
    charts_of,
    product_rows,
    total_rows,
)
from relais_platform.reporting.activity.services import (
    Period,
    activity_report,
    parse_period,
)
from relais_platform.reporting.bilan import REGIONS, departements_in_use, relais_choices
from relais_platform.reporting.funders import services as funders
from relais_platform.stock.scope import local_today

bp = Blueprint("activity", __name__, url_prefix="/rapports/activite", template_folder="templates")

EVERYONE = (Role.NATIONAL, Role.COACH, Role.RELAIS_ADMIN, Role.RELAIS_WORKER)

Page = Response | tuple[str, int] | str


@bp.app_template_filter("figure")
def _figure(value: Any) -> str:
    """A report figure: a number in the locale's format, or a protection mark as it is."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return format_decimal(value, format="#,##0.##")
    return "" if value is None else str(value)


def _filters(source: Any) -> dict[str, Any]:
    def number(name: str) -> int | None:
        value = (source.get(name) or "").strip()
        return int(value) if value.isdigit() else None

    filters: dict[str, Any] = {"convention_id": number("convention_id")}
    if current_user.role in (Role.NATIONAL, Role.COACH):
        filters["relais_id"] = number("relais_id")
    if current_user.role == Role.NATIONAL:
        filters["departement"] = source.get("departement") or None
        filters["region"] = source.get("region") or None
    return filters


def _default_period() -> Period:
    today = local_today()
    return Period(date(today.year, 1, 1), today)


@bp.route("")
@roles_required(*EVERYONE)
def report() -> Page:
    errors: dict[str, list[str]] = {}
    default = _default_period()
    try:
        period = parse_period(request.args.get("from") or default.start,
                              request.args.get("to") or default.end)
    except ValidationFailed as exc:
        errors, period = exc.errors, default
    filters = _filters(request.args)
    try:
        scope = funders.activity_scope(current_user, **filters)
    except ValidationFailed as exc:
        errors.update(exc.errors)
        filters = {}
        scope = funders.activity_scope(current_user)
    figures = activity_report(scope, period)
    form = ActivityExportForm(formdata=None, to=period.end.isoformat(),
                              **{k: v or "" for k, v in filters.items()})
    form.from_.data = period.start.isoformat()
    return render_template(
        "reporting/activity.html", title=_("Rapport d'activité"), report=figures, period=period,
        totals=total_rows(figures), products=product_rows(figures), breakdowns=breakdown_tables(figures),
        charts=charts_of(figures), export_form=form, filters=filters, errors=errors,
        relais=relais_choices(current_user) if current_user.role in (Role.NATIONAL, Role.COACH) else [],
        departements=departements_in_use() if current_user.role == Role.NATIONAL else [],
        regions=REGIONS if current_user.role == Role.NATIONAL else [],
    ), 422 if errors else 200


@bp.route("/export", methods=["POST"])
@roles_required(*EVERYONE)
def export() -> Page:
    form = ActivityExportForm()
    if not form.validate_on_submit():
        flash(_("La demande d'export a expiré : recommencez."), "error")
        return redirect(url_for("activity.report"))
    try:
        period = parse_period(request.form.get("from"), form.to.data)
        filters = {k: v for k, v in _filters(request.form).items() if v is not None}
        funders.activity_scope(current_user, **filters)
        job = exports.request_report_export(
            current_user, "activity", form.format.data,
            {"from": period.start.isoformat(), "to": period.end.isoformat(), **filters}, year=period.end.year)
    except ValidationFailed as exc:
        flash(" ".join(m for messages in exc.errors.values() for m in messages), "error")
        return redirect(url_for("activity.report"))
    return redirect(url_for("reporting.export_status", export_id=job.id))
