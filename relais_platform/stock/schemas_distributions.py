"""Request and response schemas of the distributions and stock-reports API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from relais_platform.api import PaginationArgs
from relais_platform.stock.models import Programme, WarrantyOutcome
from relais_platform.stock.receipts_pdf import LANGUAGES

_reason = fields.String(validate=validate.Length(max=2000), allow_none=True, load_default=None)


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


class ReceiptArgs(Schema):
    lang = fields.String(load_default="fr", validate=validate.OneOf(LANGUAGES))


class ReportLineInSchema(Schema):
    sku = fields.String(required=True, validate=validate.Length(min=1, max=40))
    counted_closing = fields.Integer(strict=True, required=True)
    # Total losses of the month (those already recorded included); defaults to them.
    losses = fields.Integer(strict=True, allow_none=True, load_default=None)
    loss_reason = _reason
    # Required when the count differs from the computed closing stock.
    adjustment_reason = _reason


class ReportInSchema(Schema):
    period = fields.String(required=True, validate=validate.Regexp(r"^\d{4}-\d{2}$"))
    lines = fields.List(fields.Nested(ReportLineInSchema), required=True)


class ReportLineOutSchema(Schema):
    sku = fields.String()
    name = fields.String()
    opening = fields.Integer()
    received = fields.Integer()
    distributed = fields.Integer()
    losses = fields.Integer()
    loss_reason = fields.String(allow_none=True)
    other = fields.Integer(metadata={"description": "Retours au stock national et ajustements antérieurs"})
    expected_closing = fields.Integer()
    counted_closing = fields.Integer(allow_none=True)
    adjustment = fields.Integer()
    adjustment_reason = fields.String(allow_none=True)


class ReportOutSchema(Schema):
    id = fields.Integer(allow_none=True)
    period = fields.String()
    status = fields.String(metadata={"description": "draft (pré-rempli) ou submitted"})
    due_on = fields.Date()
    submitted_at = fields.DateTime(allow_none=True)
    lines = fields.List(fields.Nested(ReportLineOutSchema))


class StatusArgs(Schema):
    period = fields.String(required=True, validate=validate.Regexp(r"^\d{4}-\d{2}$"))


class ReportingStatusSchema(Schema):
    relais_id = fields.Integer()
    name = fields.String()
    city = fields.String()
    reported = fields.Boolean()
    submitted_at = fields.DateTime(allow_none=True)
    late = fields.Boolean()


class StatusOutSchema(Schema):
    period = fields.String()
    due_on = fields.Date()
    reported = fields.Integer()
    late = fields.Integer()
    relais = fields.List(fields.Nested(ReportingStatusSchema))


class NetworkStockSchema(Schema):
    sku = fields.String()
    name = fields.String()
    on_hand = fields.Integer()
    relais_holding = fields.Integer()
