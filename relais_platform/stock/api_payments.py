"""REST API: payments of an order (list, by hand, Stripe Checkout, Stripe invoice).

Relais staff reach only their relais' orders (another relais' order: 404, looked up before
the action's role is checked, so that a 403 never confirms it exists); national routes open
the audited network scope first.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint

from relais_platform.accounts.models import Role
from relais_platform.api import api_access
from relais_platform.domain import Forbidden
from relais_platform.stock import orders, payments
from relais_platform.stock.models import Order, Payment
from relais_platform.stock.schemas_payments import CheckoutSchema, ManualPaymentSchema, PaymentSchema
from relais_platform.tenants.schemas import error_responses

blp = Blueprint("payments_api", __name__, description="Paiements")


READERS = (Role.NATIONAL, Role.RELAIS_ADMIN, Role.RELAIS_WORKER)


def _order(order_id: int, *roles: Role, lock: bool = False) -> Order:
    """The order as the caller may see it (404 otherwise), then the action's roles (403)."""
    if current_user.role == Role.NATIONAL:
        orders.national_scope(_("paiements d'une commande"))
    order = orders.get_order(order_id, lock=lock)
    if roles and current_user.role not in roles:
        raise Forbidden(_("Votre rôle ne permet pas cette action."))
    return order


@blp.route("/orders/<int:order_id>/payments")
class OrderPayments(MethodView):
    @api_access(*READERS)
    @blp.response(200, PaymentSchema(many=True))
    @error_responses(blp, 401, 403, 404)
    def get(self, order_id: int) -> list[Payment]:
        """Paiements d'une commande (national, et le relais de la commande)."""
        return payments.order_payments(_order(order_id))


@blp.route("/orders/<int:order_id>/payments/manual")
class ManualPayment(MethodView):
    @api_access(*READERS)
    @blp.arguments(ManualPaymentSchema)
    @blp.response(201, PaymentSchema)
    @error_responses(blp, 401, 403, 404, 409, 422)
    def post(self, data: dict[str, Any], order_id: int) -> Payment:
        """Enregistrer un paiement reçu hors Stripe (national) ; la commande passe à « payée »
        quand les paiements couvrent son montant."""
        order = _order(order_id, Role.NATIONAL, lock=True)
        return payments.record_manual_payment(order, data["amount_cents"], data["reference"],
                                              actor=current_user)


@blp.route("/orders/<int:order_id>/checkout")
class Checkout(MethodView):
    @api_access(*READERS)
    @blp.response(200, CheckoutSchema)
    @error_responses(blp, 401, 403, 404, 409)
    def post(self, order_id: int) -> dict[str, str]:
        """Payer en ligne (carte ou prélèvement SEPA) : l'adresse de la page de paiement Stripe.

        409 quand Stripe n'est pas configuré : l'équipe nationale enregistre alors le paiement."""
        return {"url": payments.start_checkout(_order(order_id, Role.RELAIS_ADMIN, lock=True))}


@blp.route("/orders/<int:order_id>/invoice")
class Invoice(MethodView):
    @api_access(*READERS)
    @blp.response(200, PaymentSchema)
    @error_responses(blp, 401, 403, 404, 409)
    def post(self, order_id: int) -> Payment:
        """Émettre la facture Stripe d'un organisme public, ou la renvoyer (national)."""
        return payments.send_invoice(_order(order_id, Role.NATIONAL, lock=True))
