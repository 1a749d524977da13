"""Request and response schemas of the monthly stock reports API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from relais_platform.stock.distributions.schemas import REASON_FIELD as _reason


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
