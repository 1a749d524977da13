"""Request and response schemas of the orders and payments API."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate
from webargs.fields import DelimitedList

from relais_platform.api import PaginationArgs
from relais_platform.bounds import INT64_MAX
from relais_platform.stock.orders.models import (
    OrderStatus,
    PaymentMethod,
    PaymentRoute,
    PaymentStatus,
)

_sku = fields.String(required=True, validate=validate.Length(min=1, max=40))


class OrderLineInSchema(Schema):
    sku = _sku
    quantity = fields.Integer(required=True, strict=True)


class OrderCreateSchema(Schema):
    lines = fields.List(fields.Nested(OrderLineInSchema), required=True)
    # National team only: the relais the order is entered for.
    relais_id = fields.Integer(strict=True)
    note = fields.String(validate=validate.Length(max=2000), allow_none=True)


class OrderUpdateSchema(Schema):
    lines = fields.List(fields.Nested(OrderLineInSchema), required=True)


class OrderSubmitSchema(Schema):
    confirm_unusual = fields.Boolean(load_default=False)


class OrderCancelSchema(Schema):
    reason = fields.String(validate=validate.Length(max=2000), allow_none=True, load_default=None)


class OrderAllocationLineSchema(Schema):
    sku = _sku
    quantity = fields.Integer(required=True, strict=True)


class OrderAllocationSchema(Schema):
    lines = fields.List(fields.Nested(OrderAllocationLineSchema), required=True)


class ProposalRequestSchema(Schema):
    sku = _sku


class BatchAllocationSchema(Schema):
    order_id = fields.Integer(required=True, strict=True)
    quantity = fields.Integer(required=True, strict=True)


class ProposalConfirmSchema(Schema):
    sku = _sku
    allocations = fields.List(fields.Nested(BatchAllocationSchema), required=True)


class OrderShipmentLineSchema(Schema):
    sku = _sku
    quantity = fields.Integer(strict=True)
    serials = fields.List(fields.String(validate=validate.Length(max=2000)))


class OrderShipmentSchema(Schema):
    lines = fields.List(fields.Nested(OrderShipmentLineSchema), load_default=list)


class OrderReceiptLineSchema(Schema):
    sku = _sku
    received = fields.Integer(required=True, strict=True)
    refused = fields.Integer(strict=True, load_default=0)
    refusal_reason = fields.String(validate=validate.Length(max=2000), allow_none=True)
    serials = fields.List(fields.String(validate=validate.Length(max=2000)))


class OrderReceiptSchema(Schema):
    lines = fields.List(fields.Nested(OrderReceiptLineSchema), required=True)


class OrderListArgs(PaginationArgs):
    status = fields.String(validate=validate.OneOf([s.value for s in OrderStatus]))
    relais_id = fields.Integer(validate=validate.Range(max=INT64_MAX))
    # Keyset pagination: the orders older than this one (the `next_after_id` of the previous
    # page), read through the primary key instead of skipping rows as `page` does.
    after_id = fields.Integer(validate=validate.Range(min=1, max=INT64_MAX))


class OrderLineOutSchema(Schema):
    sku = fields.String()
    name = fields.String()
    requested = fields.Integer()
    allocated = fields.Integer()
    shipped = fields.Integer()
    received = fields.Integer()
    refused = fields.Integer()
    unit_price_cents = fields.Integer(allow_none=True)
    unusual_confirmed = fields.Boolean()
    refusal_reason = fields.String(allow_none=True)
    # National available stock, shown beside each line while ordering and allocating.
    available = fields.Integer()
    serials = fields.List(fields.String())


class OrderEventOutSchema(Schema):
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    occurred_at = fields.DateTime()
    actor_id = fields.Integer(allow_none=True)
    note = fields.String(allow_none=True)


class OrderOutSchema(Schema):
    id = fields.Integer()
    status = fields.String(validate=validate.OneOf([s.value for s in OrderStatus]))
    status_label = fields.String()
    relais_id = fields.Integer()
    relais_name = fields.String()
    placed_by_national = fields.Boolean()
    note = fields.String(allow_none=True)
    total_cents = fields.Integer()
    estimated_cents = fields.Integer()
    payment_route = fields.String(allow_none=True,
                                  validate=validate.OneOf([r.value for r in PaymentRoute]))
    created_at = fields.DateTime()
    submitted_at = fields.DateTime(allow_none=True)
    allocated_at = fields.DateTime(allow_none=True)
    paid_at = fields.DateTime(allow_none=True)
    shipped_at = fields.DateTime(allow_none=True)
    received_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    lines = fields.List(fields.Nested(OrderLineOutSchema))
    events = fields.List(fields.Nested(OrderEventOutSchema))


class ProposalLineOutSchema(Schema):
    order_id = fields.Integer()
    relais_id = fields.Integer()
    relais_name = fields.String()
    requested = fields.Integer()
    proposed = fields.Integer()
    weight = fields.Integer()
    distributed_90d = fields.Integer()


class ProposalOutSchema(Schema):
    sku = fields.String()
    name = fields.String()
    available = fields.Integer()
    demand = fields.Integer()
    rule = fields.String()
    proposals = fields.List(fields.Nested(ProposalLineOutSchema))


class BatchResultLineSchema(Schema):
    order_id = fields.Integer()
    quantity = fields.Integer()
    status = fields.String()


class BatchResultSchema(Schema):
    sku = fields.String()
    allocated = fields.Integer()
    orders = fields.List(fields.Nested(BatchResultLineSchema))


class PaymentSchema(Schema):
    id = fields.Integer()
    order_id = fields.Integer()
    method = fields.Enum(PaymentMethod, by_value=True)
    status = fields.Enum(PaymentStatus, by_value=True)
    amount_cents = fields.Integer()
    currency = fields.String()
    reference = fields.String(allow_none=True)
    stripe_object_id = fields.String(allow_none=True,
                                     metadata={"description": "Checkout Session ou facture Stripe"})
    checkout_url = fields.String(allow_none=True)
    recorded_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    paid_at = fields.DateTime(allow_none=True)


class ManualPaymentSchema(Schema):
    amount_cents = fields.Integer(
        required=True, strict=True,
        error_messages={"required": _l("Indiquez le montant en centimes."),
                        "invalid": _l("Le montant doit être un nombre entier de centimes.")},
        metadata={"description": "Montant reçu, en centimes (≤ reste à payer)"},
    )
    reference = fields.String(
        required=True,
        error_messages={"required": _l("Indiquez la référence du paiement (virement, chèque, mandat…).")},
        metadata={"description": "Référence du virement, du chèque ou du mandat administratif"},
    )


class CheckoutSchema(Schema):
    url = fields.String(metadata={"description": "Page de paiement Stripe (carte ou prélèvement SEPA)"})


class PartialShipmentSchema(Schema):
    location_id = fields.Integer(required=True, strict=True)
    carrier = fields.String(allow_none=True, validate=validate.Length(max=100))
    tracking_number = fields.String(allow_none=True, validate=validate.Length(max=100))
    lines = fields.List(fields.Nested(OrderShipmentLineSchema), required=True,
                        validate=validate.Length(min=1, max=500))


class ShipmentLineOutSchema(Schema):
    sku = fields.String(attribute="order_line.product.sku")
    name = fields.String(attribute="order_line.product.name")
    quantity = fields.Integer()
    received = fields.Integer()
    refused = fields.Integer()
    serials = fields.List(fields.String())


class ShipmentOutSchema(Schema):
    id = fields.Integer()
    order_id = fields.Integer()
    location_id = fields.Integer()
    carrier = fields.String(allow_none=True)
    tracking_number = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "shipped ou received"})
    shipped_at = fields.DateTime()
    received_at = fields.DateTime(allow_none=True)
    lines = fields.List(fields.Nested(ShipmentLineOutSchema))


class PickListArgs(Schema):
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "pdf"]))


class BatchPickListArgs(PickListArgs):
    order_ids = DelimitedList(fields.Integer(), required=True,
                                     validate=validate.Length(min=1, max=100),
                                     metadata={"description": "Commandes allouées, séparées par des "
                                                              "virgules"})


class PickLineSchema(Schema):
    sku = fields.String()
    name = fields.String()
    quantity = fields.Integer(metadata={"description": "Reste à expédier"})
    location_id = fields.Integer(allow_none=True)
    location = fields.String(allow_none=True)
    available_here = fields.Integer()
    serials = fields.List(fields.String(), metadata={"description": "Numéros suggérés (les plus anciens)"})
    other_locations = fields.List(fields.Dict())


class PickListSchema(Schema):
    order_id = fields.Integer()
    relais = fields.String()
    status = fields.String()
    lines = fields.List(fields.Nested(PickLineSchema))
