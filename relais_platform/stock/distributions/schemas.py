"""Request and response schemas of the distributions API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from relais_platform.api import PaginationArgs
from relais_platform.stock.distributions.models import Programme, WarrantyOutcome
from relais_platform.stock.distributions.receipts import LANGUAGES

REASON_FIELD = fields.String(validate=validate.Length(max=2000), allow_none=True, load_default=None)
_reason = REASON_FIELD


class DistributionInSchema(Schema):
    beneficiary_id = fields.Integer(strict=True, allow_none=True, load_default=None)
    sku = fields.String(required=True, validate=validate.Length(min=1, max=40))
    quantity = fields.Integer(strict=True, load_default=1)
    serial = fields.String(validate=validate.Length(max=32), allow_none=True, load_default=None)
    price_cents = fields.Integer(strict=True, required=True)
    programme = fields.String(validate=validate.OneOf([p.value for p in Programme]),
                              load_default=Programme.STANDARD.value)
    # Defaults to today; never in the future.
    date = fields.Date(load_default=None)


class DistributionOutSchema(Schema):
    id = fields.Integer()
    date = fields.Date(attribute="distributed_on")
    sku = fields.String(attribute="product.sku")
    product_name = fields.String(attribute="product.name")
    quantity = fields.Integer()
    serial = fields.Function(lambda d: d.unit.serial if d.unit else None, allow_none=True)
    price_cents = fields.Integer()
    programme = fields.String()
    # An id, never a name: the name is read through the audited registry.
    beneficiary_id = fields.Integer(allow_none=True)
    warranty_ends_on = fields.Date(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    warranty_returned_at = fields.DateTime(allow_none=True)
    warranty_outcome = fields.String(allow_none=True)
    replaces_id = fields.Integer(allow_none=True, metadata={
        "description": "Échange sous garantie : la distribution dont l'appareil défaillant a été remplacé"})
    created_at = fields.DateTime()


class DistributionListArgs(PaginationArgs):
    sku = fields.String(validate=validate.Length(max=40))
    programme = fields.String(validate=validate.OneOf([p.value for p in Programme]))
    beneficiary_id = fields.Integer()
    date_from = fields.Date()
    date_to = fields.Date()
    cancelled = fields.Boolean()


class CancelSchema(Schema):
    reason = _reason


class WarrantyReturnSchema(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf([o.value for o in WarrantyOutcome]))
    note = _reason


class WarrantyExchangeSchema(Schema):
    replacement_serial = fields.String(required=True, validate=validate.Length(min=1, max=32),
                                       metadata={"description": "Unité du même produit, en stock au relais"})
    outcome = fields.String(required=True, validate=validate.OneOf([o.value for o in WarrantyOutcome]),
                            metadata={"description": "État de l'appareil repris"})


class ReceiptArgs(Schema):
    lang = fields.String(load_default="fr", validate=validate.OneOf(LANGUAGES))
