"""REST API of the monthly stock reports (relais admins enter them; the national team reads
who reported) and of the network's stock."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from relais_platform.api import api_access
from relais_platform.stock.blueprints import distributions_blp as blp
from relais_platform.stock.distributions.api import ADMIN, NATIONAL, STAFF
from relais_platform.stock.reports import services as reports
from relais_platform.stock.reports.schemas import (
    NetworkStockSchema,
    ReportInSchema,
    ReportOutSchema,
    StatusArgs,
    StatusOutSchema,
)
from relais_platform.tabular.http import exportable


@blp.route("/stock-reports/<period>")
class StockReportByPeriod(MethodView):
    @api_access(*STAFF)
    @blp.response(200, ReportOutSchema)
    def get(self, period: str) -> dict[str, Any]:
        """Le rapport envoyé pour ce mois (AAAA-MM), ou le brouillon pré-rempli depuis le registre."""
        return reports.draft_or_report(period)


@blp.route("/stock-reports")
class StockReports(MethodView):
    @api_access(*ADMIN)
    @blp.arguments(ReportInSchema)
    @blp.response(201, ReportOutSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Envoyer le rapport d'un mois terminé (un seul par mois : 409 ensuite)."""
        report = reports.submit(data["period"], data["lines"])
        return reports.draft_or_report(reports.format_period(report.period))


@blp.route("/stock-reports/status")
class StockReportStatus(MethodView):
    @api_access(*NATIONAL)
    @blp.arguments(StatusArgs, location="query")
    @blp.response(200, StatusOutSchema)
    @exportable(StatusOutSchema, "rapports-de-stock", explode="relais")
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Équipe nationale : qui a envoyé son rapport du mois, qui est en retard."""
        period = reports.parse_period(args["period"], ended=False)
        rows = reports.reporting_status(period)
        return {
            "period": reports.format_period(period), "due_on": reports.due_on(period),
            "reported": sum(1 for row in rows if row.submitted_at is not None),
            "late": sum(1 for row in rows if row.submitted_at is None and row.late),
            "relais": [{"relais_id": row.relais_id, "name": row.name, "city": row.city,
                        "reported": row.submitted_at is not None, "submitted_at": row.submitted_at,
                        "late": row.late} for row in rows],
        }


@blp.route("/network-stock")
class NetworkStock(MethodView):
    @api_access(*NATIONAL)
    @blp.response(200, NetworkStockSchema(many=True))
    @exportable(NetworkStockSchema, "stock-des-relais")
    def get(self):
        """Équipe nationale : stock présent dans les relais, par produit (agrégé)."""
        return reports.network_stock()
