"""Marshmallow schemas of the payments API.

The schema checks shapes; `payments.record_manual_payment` keeps the business rules (amount
within what remains due, reference required) and reports them on the same fields.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields

from relais_platform.stock.models import PaymentMethod, PaymentStatus


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
