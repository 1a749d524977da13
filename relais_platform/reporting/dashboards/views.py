"""Web pages of the dashboards (national, relais, coach): charts with their data tables."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, redirect, render_template, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from relais_platform.accounts.auth import roles_required
from relais_platform.accounts.models import Role
from relais_platform.beneficiaries import referrers
from relais_platform.reporting.charts import bar_chart, line_chart, stacked_bar_chart
from relais_platform.reporting.dashboards import services as dashboards
from relais_platform.stock.orders.services import status_label
from relais_platform.stock.supply import figures as supply_figures

bp = Blueprint("dashboards", __name__, template_folder="templates", url_prefix="/dashboards")

STAFF = (Role.RELAIS_ADMIN, Role.RELAIS_WORKER)


def month_label(month: date) -> str:
    return format_date(month, "MMM y")


def dashboard_endpoint(role: Role) -> str:
    """The dashboard of a role (the navigation and the home pages link to it)."""
    if role == Role.NATIONAL:
        return "dashboards.national"
    if role == Role.COACH:
        return "dashboards.coach"
    return "dashboards.relais"


@bp.app_template_global()
def dashboard_url() -> str | None:
    if not current_user.is_authenticated:
        return None
    return url_for(dashboard_endpoint(current_user.role))


@bp.get("/")
@login_required
def index() -> Any:
    return redirect(url_for(dashboard_endpoint(current_user.role)))


def _category_series(series: dashboards.MonthlySeries) -> dict[str, list[float | None]]:
    return {str(dashboards.CATEGORY_GROUPS[key]): list(values) for key, values in series.series.items()}


@bp.get("/national")
@roles_required(Role.NATIONAL)
def national() -> str:
    data = dashboards.national_dashboard(current_user)
    months = [month_label(m) for m in data.distributions.months]
    totals = data.distributions.total()
    measured = [t for t in data.lead_times if t.median_days is not None]
    charts: dict[str, Markup] = {
        "stock": stacked_bar_chart(
            _("Stock par produit"), [p.sku for p in data.stock],
            {_("Disponible"): [p.available for p in data.stock],
             _("Réservé"): [p.reserved for p in data.stock],
             _("En transit"): [p.in_transit for p in data.stock],
             _("Dans les relais"): [p.at_relais for p in data.stock]}),
        "distributions": line_chart(
            _("Unités distribuées par mois et par catégorie"), months, _category_series(data.distributions)),
        "trend": line_chart(
            _("Unités distribuées par mois et moyenne mobile sur 3 mois"), months,
            {_("Total distribué"): list(totals), _("Moyenne mobile 3 mois"): data.moving_average}),
        "orders": bar_chart(_("Commandes par statut"), [status_label(s) for s, _n in data.orders_by_status],
                            [n for _s, n in data.orders_by_status]),
        "lead_times": bar_chart(_("Délais médians des commandes (jours)"),
                                [str(t.label) for t in measured],
                                [t.median_days or 0.0 for t in measured], unit=_("j")),
        "regions": bar_chart(_("Unités distribuées sur 12 mois par région"), [r.name for r in data.regions],
                             [r.distributed for r in data.regions]),
    }
    return render_template("reporting/dashboard_national.html", title=_("Tableau de bord national"),
                           d=data, charts=charts, months=months, totals=totals, month_label=month_label,
                           categories=dashboards.CATEGORY_GROUPS, late_months=dashboards.LATE_HISTORY_MONTHS,
                           late_rows=dashboards.LATE_ROWS, supply=supply_figures.figures())


@bp.get("/relais")
@roles_required(*STAFF)
def relais() -> str:
    data = dashboards.relais_dashboard(current_user)
    months = [month_label(a.month) for a in data.activity]
    charts = {
        "activity": line_chart(
            _("Activité du relais par mois"), months,
            {_("Unités distribuées"): [a.distributed for a in data.activity],
             _("Séances d'accompagnement"): [a.sessions for a in data.activity],
             _("Personnes servies"): [a.people for a in data.activity]}),
        "cover": bar_chart(
            _("Jours de couverture du stock par produit"),
            [row.sku for row in data.stock if row.cover.days_of_cover is not None],
            [row.cover.days_of_cover or 0 for row in data.stock if row.cover.days_of_cover is not None],
            unit=_("j")),
    }
    return render_template("reporting/dashboard_relais.html", title=_("Tableau de bord du relais"),
                           d=data, charts=charts, months=months, month_label=month_label,
                           referrer_kind_label=referrers.kind_label)


@bp.get("/coach")
@roles_required(Role.COACH)
def coach() -> str:
    data = dashboards.coach_dashboard(current_user)
    months = [month_label(m) for m in data.distributions.months]
    charts = {
        "activity": line_chart(
            _("Activité du portefeuille par mois"), months,
            {_("Unités distribuées"): list(data.distributions.total()),
             _("Séances d'accompagnement"): list(data.sessions_by_month)}),
        "progress": bar_chart(
            _("Jalons atteints par relais (%)"), [row.progress.relais.name for row in data.rows],
            [row.progress.milestones_percent for row in data.rows], unit="%"),
    }
    return render_template("reporting/dashboard_coach.html", title=_("Tableau de bord du portefeuille"),
                           d=data, charts=charts, months=months, month_label=month_label)

