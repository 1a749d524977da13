"""Request and response schemas of the monthly stock reports API."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from relais_platform.api import PaginationArgs
from relais_platform.stock.distributions.schemas import REASON_FIELD as _reason
from relais_platform.stock.reports.models import ReportStatus
from relais_platform.stock.warehouse.models import ReasonCode

_CODE: dict[str, Any] = {"by_value": True, "allow_none": True,
         "metadata": {"description": "Motif codé ; le texte du motif devient un commentaire (un texte "
                                     "seul est codé other)"}}


class ReportLineInSchema(Schema):
    sku = fields.String(required=True, validate=validate.Length(min=1, max=40))
    counted_closing = fields.Integer(strict=True, required=True)
    # Total losses of the month (those already recorded included); defaults to them.
    losses = fields.Integer(strict=True, allow_none=True, load_default=None)
    loss_reason = _reason
    # Required when the count differs from the computed closing stock.
    adjustment_reason = _reason
    loss_reason_code = fields.Enum(ReasonCode, **_CODE)
    adjustment_reason_code = fields.Enum(ReasonCode, **_CODE)
    lost_serials = fields.List(
        fields.String(validate=validate.Length(max=40)), validate=validate.Length(max=10_000),
        metadata={"description": "Produits suivis à l'unité : les unités perdues (nouvelles pertes et "
                                 "ajustement négatif)"})


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
    loss_reason_code = fields.Enum(ReasonCode, by_value=True, allow_none=True)
    adjustment_reason_code = fields.Enum(ReasonCode, by_value=True, allow_none=True)
    lost_serials = fields.List(fields.String())


class ReportOutSchema(Schema):
    id = fields.Integer(allow_none=True)
    period = fields.String()
    status = fields.String(metadata={"description": "draft (pré-rempli), submitted (à relire), accepted, "
                                                    "ou returned (renvoyé pour correction : modifiable)"})
    due_on = fields.Date()
    submitted_at = fields.DateTime(allow_none=True)
    reviewed_at = fields.DateTime(allow_none=True)
    review_comment = fields.String(allow_none=True, metadata={"description": "Ce que l'équipe nationale "
                                                                            "demande de corriger"})
    relais_id = fields.Integer(metadata={"description": "Lecture nationale seulement"})
    relais_name = fields.String(metadata={"description": "Lecture nationale seulement"})
    lines = fields.List(fields.Nested(ReportLineOutSchema))


class ReviewInSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["accepted", "returned"]))
    comment = fields.String(allow_none=True, validate=validate.Length(max=2000),
                            metadata={"description": "Obligatoire pour renvoyer le rapport"})


class ReviewOutSchema(Schema):
    relais_id = fields.Integer()
    period = fields.String()
    status = fields.String()
    reviewed_at = fields.DateTime()
    review_comment = fields.String(allow_none=True)


class ReviewQueueSchema(Schema):
    relais_id = fields.Integer()
    name = fields.String()
    period = fields.Method("_period")
    submitted_at = fields.DateTime()
    discrepancy = fields.Integer(metadata={"description": "Pertes déclarées + |ajustements|, en unités"})

    def _period(self, row: Any) -> str:
        return f"{row.period:%Y-%m}"


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


class OwnReportsArgs(PaginationArgs):
    status = fields.String(validate=validate.OneOf([s.value for s in ReportStatus]))


class ReportSummarySchema(Schema):
    """A stored report in its relais' list: the month, its review, its lines' totals."""

    id = fields.Integer()
    period = fields.Method("_period", metadata={"type": "string", "description": "AAAA-MM"})
    status = fields.Enum(ReportStatus, by_value=True, metadata={
        "description": "submitted (à relire), accepted, ou returned (renvoyé pour correction)"})
    submitted_at = fields.DateTime()
    reviewed_at = fields.DateTime(allow_none=True)
    review_comment = fields.String(allow_none=True)
    line_count = fields.Integer(metadata={"description": "Nombre de produits déclarés"})
    losses = fields.Integer(metadata={"description": "Pertes déclarées, en unités"})
    adjustment = fields.Integer(metadata={"description": "Ajustements (somme signée), en unités"})
    discrepancy = fields.Integer(metadata={"description": "Pertes déclarées + |ajustements|, en unités"})

    def _period(self, row: Any) -> str:
        return f"{row.period:%Y-%m}"
