"""REST API of the dashboards: the figures of the web pages, as JSON."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from relais_platform.accounts.models import Role
from relais_platform.api import api_access
from relais_platform.reporting.dashboards import services as dashboards
from relais_platform.reporting.dashboards.schemas import (
    DashboardCoachSchema,
    DashboardNationalSchema,
    DashboardRelaisSchema,
    month_text,
)
from relais_platform.tenants.schemas import error_responses

blp = Blueprint("dashboards_api", __name__, description="Tableaux de bord (chiffres agrégés)")


@blp.route("/dashboards/national")
class NationalDashboard(MethodView):
    @api_access(Role.NATIONAL)
    @blp.response(200, DashboardNationalSchema)
    @error_responses(blp, 401, 403)
    def get(self) -> dict[str, Any]:
        """Tableau de bord national : stock, distributions sur 24 mois, commandes et délais, rapports en
        retard, couverture et réassort suggéré, territoires (équipe nationale)."""
        d = dashboards.national_dashboard(current_user)
        totals = d.distributions.total()
        average = d.moving_average
        series = d.distributions.series
        return {
            "month": month_text(d.current_month),
            "cover_target_days": d.cover_target_days,
            "stock": d.stock,
            "distributions": [
                {"month": month_text(month), **{key: values[i] for key, values in series.items()},
                 "total": totals[i], "moving_average": average[i]}
                for i, month in enumerate(d.distributions.months)
            ],
            "orders_by_status": {status.value: count for status, count in d.orders_by_status},
            "lead_times": d.lead_times,
            "stock_reports": {"period": month_text(d.report_period), "due_on": d.report_due_on,
                              "expected": len(d.reporting), "reported": d.reported,
                              "late": d.late_reporters, "history_months": dashboards.LATE_HISTORY_MONTHS,
                              "history": d.late_history},
            "cover": d.cover,
            "departements": d.departements,
            "regions": d.regions,
        }


@blp.route("/dashboards/relais")
class RelaisDashboard(MethodView):
    @api_access(Role.RELAIS_ADMIN, Role.RELAIS_WORKER)
    @blp.response(200, DashboardRelaisSchema)
    @error_responses(blp, 401, 403)
    def get(self) -> dict[str, Any]:
        """Tableau de bord du relais : activité mensuelle, stock et couverture, commandes en cours."""
        d = dashboards.relais_dashboard(current_user)
        return {
            "relais_id": d.relais.id,
            "month": month_text(d.current_month),
            "cover_target_days": d.cover_target_days,
            "activity": [{**vars(a), "month": month_text(a.month), "people": a.people} for a in d.activity],
            "stock": d.stock,
            "open_orders": [{**vars(o), "status": o.status.value} for o in d.open_orders],
            "referred": [{"kind": kind, "people": people} for kind, people in d.referred],
        }


@blp.route("/dashboards/coach")
class CoachDashboard(MethodView):
    @api_access(Role.COACH)
    @blp.response(200, DashboardCoachSchema)
    @error_responses(blp, 401, 403)
    def get(self) -> dict[str, Any]:
        """Tableau de bord du coach : activité et progression des relais de son portefeuille seulement."""
        d = dashboards.coach_dashboard(current_user)
        totals = d.distributions.total()
        return {
            "month": month_text(d.current_month),
            "cover_target_days": d.cover_target_days,
            "activity": [{"month": month_text(month), "distributed": totals[i],
                          "sessions": d.sessions_by_month[i]}
                         for i, month in enumerate(d.distributions.months)],
            "relais": [
                {"relais_id": row.progress.relais.id, "name": row.progress.relais.name,
                 "city": row.progress.relais.city, "departement": row.progress.relais.departement,
                 **vars(row.activity), "milestones_done": row.progress.milestones_done,
                 "milestones_total": len(row.progress.milestones),
                 "training_percent": row.progress.training.percent,
                 "alerts": [alert.code for alert in row.progress.alerts]}
                for row in d.rows
            ],
            "cover": d.cover,
        }
