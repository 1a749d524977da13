"""Request and response schemas of the distributions API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from relais_platform.api import PaginationArgs
from relais_platform.bounds import INT64_MAX, years
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
    date = fields.Date(load_default=None, validate=years())


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
    beneficiary_id = fields.Integer(validate=validate.Range(max=INT64_MAX))
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


class HandoverReceiptArgs(Schema):
    lang = fields.String(validate=validate.OneOf(LANGUAGES))


class HandoverLineInSchema(Schema):
    sku = fields.String(required=True, validate=validate.Length(min=1, max=40))
    quantity = fields.Integer(strict=True, load_default=1)
    serial = fields.String(validate=validate.Length(max=32), allow_none=True, load_default=None)
    price_cents = fields.Integer(strict=True, required=True)


class HandoverInSchema(Schema):
    beneficiary_id = fields.Integer(strict=True, required=True)
    # Defaults to today; never in the future. The programme applies to every line.
    date = fields.Date(load_default=None)
    programme = fields.String(validate=validate.OneOf([p.value for p in Programme]),
                              load_default=Programme.STANDARD.value)
    lines = fields.List(fields.Nested(HandoverLineInSchema), required=True,
                        validate=validate.Length(min=1, max=50))


class HandoverLineOutSchema(Schema):
    distribution_id = fields.Integer(attribute="id")
    sku = fields.String(attribute="product.sku")
    quantity = fields.Integer()
    serial = fields.Function(lambda d: d.unit.serial if d.unit else None, allow_none=True)
    price_cents = fields.Integer()
    warranty_ends_on = fields.Date(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)


class HandoverOutSchema(Schema):
    id = fields.Integer()
    beneficiary_id = fields.Integer()
    date = fields.Date(attribute="handed_on")
    total_cents = fields.Integer()
    lines = fields.List(fields.Nested(HandoverLineOutSchema))


class RechargesDueArgs(Schema):
    within_days = fields.Integer(load_default=7, validate=validate.Range(min=0, max=90))


class RechargeDueSchema(Schema):
    beneficiary_id = fields.Integer(attribute="beneficiary.id")
    first_name = fields.String(attribute="beneficiary.first_name")
    last_name = fields.String(attribute="beneficiary.last_name")
    phone = fields.String(attribute="beneficiary.phone", allow_none=True)
    no_phone = fields.Boolean(attribute="beneficiary.no_phone")
    language = fields.Function(lambda d: d.beneficiary.language.value if d.beneficiary.language else None,
                               allow_none=True)
    sku = fields.String()
    product_name = fields.String()
    recharged_on = fields.Date()
    runs_out_on = fields.Date()
