"""REST API of distributions (relais staff)."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_login import current_user

from relais_platform.accounts.models import Role
from relais_platform.api import api_access, paginate, pagination_headers
from relais_platform.stock.blueprints import distributions_blp as blp
from relais_platform.stock.distributions import handovers, recharges
from relais_platform.stock.distributions import receipts as receipts_pdf
from relais_platform.stock.distributions import services as distributions
from relais_platform.stock.distributions.models import Distribution, Handover, Programme
from relais_platform.stock.distributions.schemas import (
    CancelSchema,
    DistributionInSchema,
    DistributionListArgs,
    DistributionOutSchema,
    HandoverInSchema,
    HandoverOutSchema,
    HandoverReceiptArgs,
    ReceiptArgs,
    RechargeDueSchema,
    RechargesDueArgs,
    WarrantyExchangeSchema,
    WarrantyReturnSchema,
)
from relais_platform.tabular.http import exportable

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
    @exportable(DistributionOutSchema, "distributions")
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


@blp.route("/distributions/<int:distribution_id>/warranty-exchange")
class DistributionWarrantyExchange(MethodView):
    @api_access(*STAFF)
    @blp.arguments(WarrantyExchangeSchema)
    @blp.response(201, DistributionOutSchema)
    def post(self, data: dict[str, Any], distribution_id: int) -> Distribution:
        """Échange sous garantie : la personne repart avec une unité du même produit prise dans le
        stock du relais (nouvelle ligne à 0 €, même fin de garantie) ; l'appareil défaillant reste au
        relais (`returned` ou `defective`) jusqu'à son retour au stock national."""
        return distributions.warranty_exchange(distribution_id, data["replacement_serial"], data["outcome"])


@blp.route("/distributions/<int:distribution_id>/receipt")
class DistributionReceipt(MethodView):
    @api_access(*STAFF)
    @blp.arguments(ReceiptArgs, location="query")
    @blp.response(200, content_type="application/pdf")
    def get(self, args: dict[str, Any], distribution_id: int) -> Response:
        """Le reçu imprimable (PDF) dans la langue choisie : fr, en, ar, uk, fa (dari)."""
        distribution = distributions.get(distribution_id)
        receipt = receipts_pdf.build(distribution, current_user.relais, args["lang"],
                                     distributions.exchange_of(distribution))
        return Response(receipts_pdf.render_pdf(receipt), mimetype="application/pdf", headers={
            "Content-Disposition": f'inline; filename="{receipts_pdf.filename(distribution, args["lang"])}"'})


@blp.route("/handovers")
class Handovers(MethodView):
    @api_access(*STAFF)
    @blp.arguments(HandoverInSchema)
    @blp.response(201, HandoverOutSchema)
    def post(self, data: dict[str, Any]) -> Handover:
        """Remettre plusieurs articles à une personne inscrite en une fois : tout ou rien
        (une ligne refusée est nommée, `lines.1.serial`, et rien n'est écrit)."""
        return handovers.record(data)


@blp.route("/handovers/<int:handover_id>")
class HandoverItem(MethodView):
    @api_access(*STAFF)
    @blp.response(200, HandoverOutSchema)
    def get(self, handover_id: int) -> Handover:
        """Une remise du relais, avec ses lignes."""
        return handovers.get(handover_id)


@blp.route("/handovers/<int:handover_id>/receipt")
class HandoverReceipt(MethodView):
    @api_access(*STAFF)
    @blp.arguments(HandoverReceiptArgs, location="query")
    @blp.response(200, content_type="application/pdf")
    def get(self, args: dict[str, Any], handover_id: int) -> Response:
        """Le reçu de la remise (PDF), dans la langue de la personne sauf `lang` choisi."""
        handover = handovers.get(handover_id)
        lang = args.get("lang") or receipts_pdf.person_language(handovers.language_of(handover))
        receipt = receipts_pdf.build_handover(handover, current_user.relais, lang)
        return Response(receipts_pdf.render_handover_pdf(receipt), mimetype="application/pdf", headers={
            "Content-Disposition": f'inline; filename="recu-remise-{handover.id}-{lang}.pdf"'})


@blp.route("/recharges/due")
class RechargesDue(MethodView):
    @api_access(*STAFF)
    @blp.arguments(RechargesDueArgs, location="query")
    @blp.response(200, RechargeDueSchema(many=True))
    def get(self, args: dict[str, Any]):
        """Les personnes dont la dernière recharge expire dans `within_days` jours (téléphone, langue)."""
        return recharges.due(args["within_days"])
