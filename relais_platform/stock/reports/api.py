"""REST API of the monthly stock reports (relais admins enter them; the national team reads
who reported) and of the network's stock."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from relais_platform.api import PaginationArgs, api_access, pagination_headers
from relais_platform.stock.blueprints import distributions_blp as blp
from relais_platform.stock.distributions.api import ADMIN, NATIONAL, STAFF
from relais_platform.stock.reports import services as reports
from relais_platform.stock.reports.schemas import (
    NetworkStockSchema,
    OwnReportsArgs,
    ReportInSchema,
    ReportOutSchema,
    ReportSummarySchema,
    ReviewInSchema,
    ReviewOutSchema,
    ReviewQueueSchema,
    StatusArgs,
    StatusOutSchema,
)
from relais_platform.tabular.http import exportable
from relais_platform.tenants.schemas import PAGINATION_HEADERS, error_responses


@blp.route("/stock-reports/<period>")
class StockReportByPeriod(MethodView):
    @api_access(*STAFF)
    @blp.response(200, ReportOutSchema)
    def get(self, period: str) -> dict[str, Any]:
        """Le rapport envoyé pour ce mois (AAAA-MM), ou le brouillon pré-rempli depuis le registre."""
        return reports.draft_or_report(period)


@blp.route("/stock-reports")
class StockReports(MethodView):
    @api_access(*STAFF)
    @blp.arguments(OwnReportsArgs, location="query")
    @blp.response(200, ReportSummarySchema(many=True), headers=PAGINATION_HEADERS)
    @error_responses(blp, 401, 403, 422)
    @exportable(ReportSummarySchema, "rapports-de-stock-du-relais")
    def get(self, args: dict[str, Any]):
        """Les rapports mensuels envoyés par son relais, le mois le plus récent d'abord, avec
        leur revue et le total de leurs lignes (équipe du relais)."""
        page, per_page = args["page"], args["per_page"]
        rows, total = reports.own_reports(page, per_page, status=args.get("status"))
        return rows, pagination_headers(total, page, per_page)

    @api_access(*ADMIN)
    @blp.arguments(ReportInSchema)
    @blp.response(201, ReportOutSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Envoyer le rapport d'un mois terminé (un seul par mois : 409 ensuite, sauf s'il a été
        renvoyé pour correction : il est alors remplacé)."""
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


@blp.route("/stock-reports/review")
class StockReportsToReview(MethodView):
    @api_access(*NATIONAL)
    @blp.arguments(PaginationArgs, location="query")
    @blp.response(200, ReviewQueueSchema(many=True), headers=PAGINATION_HEADERS)
    @error_responses(blp, 401, 403)
    def get(self, args: dict[str, Any]):
        """Équipe nationale : rapports envoyés à relire, les plus grands écarts d'abord."""
        page, per_page = args["page"], args["per_page"]
        rows, total = reports.to_review(page, per_page)
        return rows, pagination_headers(total, page, per_page)


@blp.route("/stock-reports/<int:relais_id>/<period>")
class NationalStockReport(MethodView):
    @api_access(*NATIONAL)
    @blp.response(200, ReportOutSchema)
    @error_responses(blp, 401, 403, 404, 422)
    def get(self, relais_id: int, period: str) -> dict[str, Any]:
        """Équipe nationale : le rapport d'un relais (lignes, formule, ajustements et motifs)."""
        return reports.national_report(relais_id, period)


@blp.route("/stock-reports/<int:relais_id>/<period>/review", methods=["POST"])
@api_access(*NATIONAL)
@blp.arguments(ReviewInSchema)
@blp.response(200, ReviewOutSchema)
@error_responses(blp, 401, 403, 404, 409)
def review_report(data: dict[str, Any], relais_id: int, period: str) -> dict[str, Any]:
    """Équipe nationale : accepter le rapport, ou le renvoyer au relais pour correction (avec un
    commentaire) ; le référent est prévenu par e-mail et sur sa page d'accueil."""
    report = reports.review(relais_id, period, data["decision"], data.get("comment"))
    return {"relais_id": report.relais_id, "period": reports.format_period(report.period),
            "status": report.status.value, "reviewed_at": report.reviewed_at,
            "review_comment": report.review_comment}
