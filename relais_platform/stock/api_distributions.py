"""REST API of distributions (relais staff) and monthly stock reports (relais admins enter
them; the national team reads who reported and the network's stock, aggregates only).

Distributions are personal data: national and coach users get 403 on those routes, and
another relais' distribution does not exist (404). Routes only translate HTTP to service
calls; the request commits.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from relais_platform.accounts.models import Role
from relais_platform.api import api_access, paginate, pagination_headers
from relais_platform.stock import distributions, receipts_pdf, reports
from relais_platform.stock.models import Distribution, Programme
from relais_platform.stock.schemas_distributions import (
    CancelSchema,
    DistributionInSchema,
    DistributionListArgs,
    DistributionOutSchema,
    NetworkStockSchema,
    ReceiptArgs,
    ReportInSchema,
    ReportOutSchema,
    StatusArgs,
    StatusOutSchema,
    WarrantyReturnSchema,
)

blp = Blueprint("distributions_api", __name__, description="Distributions et rapports de stock mensuels")

STAFF = (Role.RELAIS_ADMIN, Role.RELAIS_WORKER)
ADMIN = (Role.RELAIS_ADMIN,)
NATIONAL = (Role.NATIONAL,)
PAGINATION_HEADERS = {
    "X-Pagination": {"description": 'JSON: {"total", "page", "per_page", "last_page"}',
                     "schema": {"type": "string"}},
    "X-Total-Count": {"description": "Nombre total d'éléments", "schema": {"type": "integer"}},
}


@blp.route("/distributions")
class Distributions(MethodView):
    @api_access(*STAFF)
    @blp.arguments(DistributionListArgs, location="query")
    @blp.response(200, DistributionOutSchema(many=True), headers=PAGINATION_HEADERS)
    def get(self, args: dict[str, Any]):
        """Les distributions du relais, les plus récentes d'abord (filtres : sku, programme,
        beneficiary_id, date_from, date_to, cancelled)."""
        stmt = distributions.query(
            sku=args.get("sku"), programme=Programme(args["programme"]) if args.get("programme") else None,
            beneficiary_id=args.get("beneficiary_id"), date_from=args.get("date_from"),
            date_to=args.get("date_to"), cancelled=args.get("cancelled"))
        items, total = paginate(stmt, args["page"], args["per_page"])
        return items, pagination_headers(total, args["page"], args["per_page"])

    @api_access(*STAFF)
    @blp.arguments(DistributionInSchema)
    @blp.response(201, DistributionOutSchema)
    def post(self, data: dict[str, Any]) -> Distribution:
        """Enregistrer une remise : le stock du relais diminue dans la même transaction."""
        return distributions.record(data)


@blp.route("/distributions/<int:distribution_id>")
class DistributionItem(MethodView):
    @api_access(*STAFF)
    @blp.response(200, DistributionOutSchema)
    def get(self, distribution_id: int) -> Distribution:
        """Une distribution du relais."""
        return distributions.get(distribution_id)


@blp.route("/distributions/<int:distribution_id>/cancel")
class DistributionCancel(MethodView):
    @api_access(*STAFF)
    @blp.arguments(CancelSchema)
    @blp.response(200, DistributionOutSchema)
    def post(self, data: dict[str, Any], distribution_id: int) -> Distribution:
        """Annuler (avec une raison) : les articles reviennent dans le stock du relais."""
        return distributions.cancel(distribution_id, data["reason"])


@blp.route("/distributions/<int:distribution_id>/warranty-return")
class DistributionWarrantyReturn(MethodView):
    @api_access(*STAFF)
    @blp.arguments(WarrantyReturnSchema)
    @blp.response(200, DistributionOutSchema)
    def post(self, data: dict[str, Any], distribution_id: int) -> Distribution:
        """Retour d'un appareil sous garantie : unité `returned` ou `defective`, avec une note."""
        return distributions.warranty_return(distribution_id, data["outcome"], data["note"])


@blp.route("/distributions/<int:distribution_id>/receipt")
class DistributionReceipt(MethodView):
    @api_access(*STAFF)
    @blp.arguments(ReceiptArgs, location="query")
    @blp.response(200, content_type="application/pdf")
    def get(self, args: dict[str, Any], distribution_id: int) -> Response:
        """Le reçu imprimable (PDF) dans la langue choisie : fr, en, ar, uk, fa (dari)."""
        distribution = distributions.get(distribution_id)
        receipt = receipts_pdf.build(distribution, current_user.relais, args["lang"])
        return Response(receipts_pdf.render_pdf(receipt), mimetype="application/pdf", headers={
            "Content-Disposition": f'inline; filename="{receipts_pdf.filename(distribution, args["lang"])}"'})


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
    def get(self):
        """Équipe nationale : stock présent dans les relais, par produit (agrégé)."""
        return reports.network_stock()
