"""REST API of orders and their payments: drafting and submission (relais admins, or the
national team on a relais' behalf), allocation and fair split, shipment and delivery note,
receipt and closing; payments by hand, Stripe Checkout or Stripe invoice.

Relais staff reach only their relais' orders (another relais' order: 404)."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint
from sqlalchemy import select

from relais_platform.accounts.models import Role
from relais_platform.api import api_access, paginate, pagination_headers
from relais_platform.domain import Forbidden, ValidationFailed
from relais_platform.extensions import db
from relais_platform.stock.orders import allocation, delivery_note, payments, picking, shipments, shipping
from relais_platform.stock.orders import services as orders
from relais_platform.stock.orders.models import Order, Payment
from relais_platform.stock.orders.schemas import (
    BatchPickListArgs,
    BatchResultSchema,
    CheckoutSchema,
    ManualPaymentSchema,
    OrderAllocationSchema,
    OrderCancelSchema,
    OrderCreateSchema,
    OrderListArgs,
    OrderOutSchema,
    OrderReceiptSchema,
    OrderShipmentSchema,
    OrderSubmitSchema,
    OrderUpdateSchema,
    PartialShipmentSchema,
    PaymentSchema,
    PickListArgs,
    PickListSchema,
    ProposalConfirmSchema,
    ProposalOutSchema,
    ProposalRequestSchema,
    ShipmentOutSchema,
)
from relais_platform.stock.scope import national_scope
from relais_platform.tabular.http import exportable
from relais_platform.tenants.models import Relais
from relais_platform.tenants.schemas import error_responses

orders_blp = Blueprint("orders_api", __name__, description="Commandes")


NATIONAL = (Role.NATIONAL,)
ORDERING = (Role.NATIONAL, Role.RELAIS_ADMIN)
READERS = (Role.NATIONAL, Role.RELAIS_ADMIN, Role.RELAIS_WORKER)


def order_payload(order: Order, available: dict[int, int], *, detail: bool = False) -> dict[str, Any]:
    serials = orders.shipped_units(order) if detail and order.shipped_at else {}
    payload: dict[str, Any] = {
        "id": order.id,
        "status": order.status.value,
        "status_label": orders.status_label(order.status),
        "relais_id": order.relais_id,
        "relais_name": order.relais.name,
        "placed_by_national": order.placed_by_national,
        "note": order.note,
        "total_cents": order.total_cents,
        "estimated_cents": orders.estimated_cents(order),
        "payment_route": order.payment_route.value if order.payment_route else None,
        "cancel_reason": order.cancel_reason,
        "lines": [
            {
                "sku": line.product.sku,
                "name": line.product.name,
                "requested": line.requested,
                "allocated": line.allocated,
                "shipped": line.shipped,
                "received": line.received,
                "refused": line.refused,
                "unit_price_cents": line.unit_price_cents,
                "unusual_confirmed": line.unusual_confirmed,
                "refusal_reason": line.refusal_reason,
                "available": available.get(line.product_id, 0),
                **({"serials": [u.serial for u in serials.get(line.id, [])]} if serials else {}),
            }
            for line in order.lines
        ],
    }
    for stamp in ("created_at", "submitted_at", "allocated_at", "paid_at", "shipped_at",
                  "received_at", "closed_at", "cancelled_at"):
        payload[stamp] = getattr(order, stamp)
    if detail:
        payload["events"] = [
            {"from_status": e.from_status.value if e.from_status else None, "to_status": e.to_status.value,
             "occurred_at": e.occurred_at, "actor_id": e.actor_id, "note": e.note}
            for e in orders.order_events(order)
        ]
    return payload


def _detail(order: Order) -> dict[str, Any]:
    return order_payload(order, orders.available_by_product(line.product_id for line in order.lines),
                         detail=True)


def _pairs(lines: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(line["sku"], line["quantity"]) for line in lines]


@orders_blp.route("/orders")
class Orders(MethodView):
    @api_access(*READERS)
    @orders_blp.arguments(OrderListArgs, location="query")
    @orders_blp.response(200, OrderOutSchema(many=True))
    @exportable(OrderOutSchema, "commandes", explode="lines")
    def get(self, args: dict[str, Any]):
        """Orders, newest first: every relais' for the national team, its own for a relais."""
        stmt = orders.order_query(status=args.get("status"), relais_id=args.get("relais_id"))
        page = args["page"]
        if "after_id" in args:
            stmt, page = stmt.where(Order.id < args["after_id"]), 1
        items, total = paginate(stmt, page, args["per_page"])
        available = orders.available_by_product(line.product_id for o in items for line in o.lines)
        more = len(items) == args["per_page"] and total > page * args["per_page"]
        cursor = items[-1].id if more else None
        headers = pagination_headers(total, page, args["per_page"], next_after_id=cursor)
        return [order_payload(order, available) for order in items], headers

    @api_access(*ORDERING)
    @orders_blp.arguments(OrderCreateSchema)
    @orders_blp.response(201, OrderOutSchema)
    def post(self, data: dict[str, Any]):
        """Draft an order (national team: for the relais named by `relais_id`)."""
        if current_user.role == Role.NATIONAL:
            relais = db.session.get(Relais, data["relais_id"]) if "relais_id" in data else None
            if relais is None:
                raise ValidationFailed.field("relais_id", _("Indiquez un relais existant."))
            order = orders.create_order(relais, _pairs(data["lines"]), placed_by_national=True,
                                        note=data.get("note"))
        else:
            if data.get("relais_id", current_user.relais_id) != current_user.relais_id:
                # Rather than silently ordering for its own relais instead.
                raise ValidationFailed.field("relais_id", _("Un relais ne commande que pour lui-même."))
            order = orders.create_order(current_user.relais, _pairs(data["lines"]), note=data.get("note"))
        return _detail(order)


def _visible(order_id: int, *roles: Role) -> Order:
    """The order as the caller may see it (404 otherwise), then the action's roles (403)."""
    orders.reader_scope(_("consultation d'une commande"))
    order = orders.get_order(order_id)
    if roles and current_user.role not in roles:
        raise Forbidden(_("Votre rôle ne permet pas cette action."))
    return order


@orders_blp.route("/orders/<int:order_id>")
class OrderById(MethodView):
    @api_access(*READERS)
    @orders_blp.response(200, OrderOutSchema)
    def get(self, order_id: int):
        """An order with its lines (national available stock beside each) and its history."""
        return _detail(_visible(order_id))

    @api_access(*READERS)
    @orders_blp.arguments(OrderUpdateSchema)
    @orders_blp.response(200, OrderOutSchema)
    def patch(self, data: dict[str, Any], order_id: int):
        """Replace the lines of a draft."""
        return _detail(orders.update_draft(_visible(order_id, *ORDERING), _pairs(data["lines"])))


@orders_blp.route("/orders/<int:order_id>/submit", methods=["POST"])
@api_access(*READERS)
@orders_blp.arguments(OrderSubmitSchema)
@orders_blp.response(200, OrderOutSchema)
def submit_order(data: dict[str, Any], order_id: int):
    """Submit a draft; unusual quantities (≥ 5× the relais' median) need `confirm_unusual`."""
    return _detail(orders.submit(_visible(order_id, *ORDERING), confirm_unusual=data["confirm_unusual"]))


@orders_blp.route("/orders/<int:order_id>/cancel", methods=["POST"])
@api_access(*READERS)
@orders_blp.arguments(OrderCancelSchema)
@orders_blp.response(200, OrderOutSchema)
def cancel_order(data: dict[str, Any], order_id: int):
    return _detail(orders.cancel(_visible(order_id, *ORDERING), data["reason"]))


@orders_blp.route("/orders/<int:order_id>/allocation", methods=["POST"])
@api_access(*READERS)
@orders_blp.arguments(OrderAllocationSchema)
@orders_blp.response(200, OrderOutSchema)
def allocate_order(data: dict[str, Any], order_id: int):
    """Allocate line by line (national team); more than available → 409 naming the product."""
    quantities: dict[str, int] = {}
    for line in data["lines"]:
        sku = line["sku"].strip().upper()
        if sku in quantities:
            raise ValidationFailed.field(sku, _("Le produit %(sku)s apparaît plusieurs fois.", sku=sku))
        quantities[sku] = line["quantity"]
    return _detail(allocation.allocate(_visible(order_id, *NATIONAL), quantities))


@orders_blp.route("/allocation-proposals", methods=["POST"])
@api_access(*NATIONAL)
@orders_blp.arguments(ProposalRequestSchema)
@orders_blp.response(200, ProposalOutSchema)
def propose(data: dict[str, Any]):
    """A fair split of a scarce product across every open order, with its explanation."""
    return allocation.propose(data["sku"])


@orders_blp.route("/allocation-proposals/confirm", methods=["POST"])
@api_access(*NATIONAL)
@orders_blp.arguments(ProposalConfirmSchema)
@orders_blp.response(200, BatchResultSchema)
def confirm_proposal(data: dict[str, Any]):
    """Allocate the (adjusted) split in one transaction."""
    return allocation.confirm_batch(
        data["sku"], [(a["order_id"], a["quantity"]) for a in data["allocations"]]
    )


@orders_blp.route("/orders/<int:order_id>/shipment", methods=["POST"])
@api_access(*READERS)
@orders_blp.arguments(OrderShipmentSchema)
@orders_blp.response(200, OrderOutSchema)
def ship_order(data: dict[str, Any], order_id: int):
    """Ship (national team); serials scanned or pasted per line, or picked automatically."""
    return _detail(shipping.ship(_visible(order_id, *NATIONAL), data["lines"]))


@orders_blp.route("/orders/<int:order_id>/delivery-note", methods=["GET"])
@api_access(*READERS)
@orders_blp.response(200, content_type="application/pdf")
def get_delivery_note(order_id: int):
    order = _visible(order_id)
    return Response(
        delivery_note.render_pdf(order), mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{delivery_note.filename(order)}"'},
    )


@orders_blp.route("/orders/<int:order_id>/shipments")
class OrderShipments(MethodView):
    @api_access(*READERS)
    @orders_blp.response(200, ShipmentOutSchema(many=True))
    @error_responses(orders_blp, 401, 403, 404)
    def get(self, order_id: int) -> list[Any]:
        """Les colis d'une commande, avec transporteur et numéro de suivi."""
        return shipments.shipments_of(_visible(order_id))

    @api_access(*READERS)
    @orders_blp.arguments(PartialShipmentSchema)
    @orders_blp.response(201, ShipmentOutSchema)
    @error_responses(orders_blp, 401, 403, 404, 409)
    def post(self, data: dict[str, Any], order_id: int) -> Any:
        """Expédier un colis depuis un emplacement (national) : tout ou partie de ce qui reste à
        expédier ; le reste demeure alloué. La commande est expédiée quand tout est parti."""
        order = _visible(order_id, *NATIONAL)
        return shipments.ship_part(order, data["location_id"], data["lines"], carrier=data.get("carrier"),
                                   tracking_number=data.get("tracking_number"))


@orders_blp.route("/orders/<int:order_id>/shipments/<int:shipment_id>/receipt", methods=["POST"])
@api_access(*READERS)
@orders_blp.arguments(OrderReceiptSchema)
@orders_blp.response(200, ShipmentOutSchema)
@error_responses(orders_blp, 401, 403, 404, 409)
def receive_shipment(data: dict[str, Any], order_id: int, shipment_id: int) -> Any:
    """Confirmer la réception d'un colis ligne par ligne (relais) ; la commande est reçue quand
    tous ses colis le sont."""
    order = _visible(order_id, *ORDERING)
    return shipments.receive_part(order, shipment_id, data["lines"])


def _pick_list_response(entries: list[dict[str, Any]], fmt: str, name: str) -> Any:
    if fmt == "pdf":
        return Response(picking.render_pdf(entries), mimetype="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{name}.pdf"'})
    return entries


@orders_blp.route("/orders/<int:order_id>/pick-list", methods=["GET"])
@api_access(*READERS)
@orders_blp.arguments(PickListArgs, location="query")
@orders_blp.response(200, PickListSchema)
@error_responses(orders_blp, 401, 403, 404)
def get_pick_list(args: dict[str, Any], order_id: int) -> Any:
    """Liste de préparation (national) : quoi prendre à quel emplacement, avec des numéros
    suggérés ; `format=pdf` pour l'imprimer."""
    order = _visible(order_id, *NATIONAL)
    national_scope(_("liste de préparation"))
    entries = picking.pick_list([order])
    if args["format"] == "pdf":
        return _pick_list_response(entries, "pdf", f"preparation-{order.id}")
    return entries[0]


@orders_blp.route("/pick-lists", methods=["GET"])
@api_access(*NATIONAL)
@orders_blp.arguments(BatchPickListArgs, location="query")
@orders_blp.response(200, PickListSchema(many=True))
@error_responses(orders_blp, 401, 403)
def get_batch_pick_list(args: dict[str, Any]) -> Any:
    """Liste de préparation groupée de plusieurs commandes allouées (national)."""
    national_scope(_("liste de préparation groupée"))
    found = {order.id: order for order in db.session.scalars(
        select(Order).where(Order.id.in_(args["order_ids"])))}
    missing = [oid for oid in args["order_ids"] if oid not in found]
    if missing:
        raise ValidationFailed.field("order_ids", _("Commandes introuvables : %(ids)s.",
                                                    ids=", ".join(map(str, missing))))
    entries = picking.pick_list([found[oid] for oid in dict.fromkeys(args["order_ids"])])
    return _pick_list_response(entries, args["format"], "preparation")


@orders_blp.route("/orders/<int:order_id>/receipt", methods=["POST"])
@api_access(*READERS)
@orders_blp.arguments(OrderReceiptSchema)
@orders_blp.response(200, OrderOutSchema)
def receive_order(data: dict[str, Any], order_id: int):
    """Confirm receipt line by line (relais admin): received + refused = shipped, reasons, serials."""
    return _detail(shipping.receive(_visible(order_id, Role.RELAIS_ADMIN), data["lines"]))


@orders_blp.route("/orders/<int:order_id>/close", methods=["POST"])
@api_access(*READERS)
@orders_blp.response(200, OrderOutSchema)
def close_order(order_id: int):
    """Close a received order; refused goods go back to the national stock (national team)."""
    return _detail(shipping.close(_visible(order_id, *NATIONAL)))


payments_blp = Blueprint("payments_api", __name__, description="Paiements")


READERS = (Role.NATIONAL, Role.RELAIS_ADMIN, Role.RELAIS_WORKER)


def _order(order_id: int, *roles: Role, lock: bool = False) -> Order:
    """The order as the caller may see it (404 otherwise), then the action's roles (403)."""
    if current_user.role == Role.NATIONAL:
        national_scope(_("paiements d'une commande"))
    order = orders.get_order(order_id, lock=lock)
    if roles and current_user.role not in roles:
        raise Forbidden(_("Votre rôle ne permet pas cette action."))
    return order


@payments_blp.route("/orders/<int:order_id>/payments")
class OrderPayments(MethodView):
    @api_access(*READERS)
    @payments_blp.response(200, PaymentSchema(many=True))
    @error_responses(payments_blp, 401, 403, 404)
    def get(self, order_id: int) -> list[Payment]:
        """Paiements d'une commande (national, et le relais de la commande)."""
        return payments.order_payments(_order(order_id))


@payments_blp.route("/orders/<int:order_id>/payments/manual")
class ManualPayment(MethodView):
    @api_access(*READERS)
    @payments_blp.arguments(ManualPaymentSchema)
    @payments_blp.response(201, PaymentSchema)
    @error_responses(payments_blp, 401, 403, 404, 409, 422)
    def post(self, data: dict[str, Any], order_id: int) -> Payment:
        """Enregistrer un paiement reçu hors Stripe (national) ; la commande passe à « payée »
        quand les paiements couvrent son montant."""
        order = _order(order_id, Role.NATIONAL, lock=True)
        return payments.record_manual_payment(order, data["amount_cents"], data["reference"],
                                              actor=current_user)


@payments_blp.route("/orders/<int:order_id>/checkout")
class Checkout(MethodView):
    @api_access(*READERS)
    @payments_blp.response(200, CheckoutSchema)
    @error_responses(payments_blp, 401, 403, 404, 409)
    def post(self, order_id: int) -> dict[str, str]:
        """Payer en ligne (carte ou prélèvement SEPA) : l'adresse de la page de paiement Stripe.

        409 quand Stripe n'est pas configuré : l'équipe nationale enregistre alors le paiement."""
        return {"url": payments.start_checkout(_order(order_id, Role.RELAIS_ADMIN, lock=True))}


@payments_blp.route("/orders/<int:order_id>/invoice")
class Invoice(MethodView):
    @api_access(*READERS)
    @payments_blp.response(200, PaymentSchema)
    @error_responses(payments_blp, 401, 403, 404, 409)
    def post(self, order_id: int) -> Payment:
        """Émettre la facture Stripe d'un organisme public, ou la renvoyer (national)."""
        return payments.send_invoice(_order(order_id, Role.NATIONAL, lock=True))
