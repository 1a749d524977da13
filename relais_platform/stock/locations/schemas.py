"""Marshmallow schemas of locations, transfers and stocktakes (shapes only; services keep
the rules)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from relais_platform.api import PaginationArgs
from relais_platform.stock.locations.models import StocktakeStatus, TransferStatus
from relais_platform.stock.warehouse.models import ReasonCode

MAX_SERIALS = 100_000
SERIALS = fields.List(fields.String(validate=validate.Length(max=100_000)),
                      validate=validate.Length(max=MAX_SERIALS),
                      metadata={"description": "Numéros saisis, collés ou scannés"})


class LocationSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    is_default = fields.Boolean()
    active = fields.Boolean()
    created_at = fields.DateTime()


class LocationCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    is_default = fields.Boolean(load_default=False,
                                metadata={"description": "Devient l'emplacement par défaut"})


class ProductLevelSchema(Schema):
    product_id = fields.Integer()
    sku = fields.String()
    name = fields.String()
    serialized = fields.Boolean()
    on_hand = fields.Integer()


class LocationMovementSchema(Schema):
    occurred_at = fields.DateTime()
    sku = fields.String()
    kind = fields.String()
    on_hand_delta = fields.Integer()
    order_id = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)
    reason_code = fields.Enum(ReasonCode, by_value=True, allow_none=True)


class TransferLineInSchema(Schema):
    sku = fields.String(required=True, validate=validate.Length(min=1, max=40))
    quantity = fields.Integer(strict=True, metadata={"description": "Produits non suivis, ou nombre "
                                                                    "d'unités prises automatiquement"})
    serials = SERIALS


class TransferCreateSchema(Schema):
    from_location_id = fields.Integer(required=True, strict=True)
    to_location_id = fields.Integer(required=True, strict=True)
    lines = fields.List(fields.Nested(TransferLineInSchema), required=True,
                        validate=validate.Length(min=1, max=500))


class TransferLineSchema(Schema):
    sku = fields.String(attribute="product.sku")
    name = fields.String(attribute="product.name")
    quantity = fields.Integer()
    serials = fields.List(fields.String())


class TransferSchema(Schema):
    id = fields.Integer()
    from_location_id = fields.Integer()
    from_location = fields.String(attribute="from_location.name")
    to_location_id = fields.Integer()
    to_location = fields.String(attribute="to_location.name")
    status = fields.Enum(TransferStatus, by_value=True,
                         metadata={"description": "shipped (en transit) ou received"})
    created_at = fields.DateTime()
    received_at = fields.DateTime(allow_none=True)
    lines = fields.List(fields.Nested(TransferLineSchema))


class TransferQueryArgs(PaginationArgs):
    status = fields.Enum(TransferStatus, by_value=True)


class StocktakeCreateSchema(Schema):
    location_id = fields.Integer(strict=True, metadata={"description": "Emplacement national compté "
                                                                       "(équipe nationale)"})


class StocktakeLineInSchema(Schema):
    sku = fields.String(required=True, validate=validate.Length(min=1, max=40))
    counted = fields.Integer(strict=True, validate=validate.Range(min=0, max=1_000_000),
                             metadata={"description": "Quantité comptée (produits non suivis)"})
    serials = fields.List(fields.String(validate=validate.Length(max=100_000)),
                          validate=validate.Length(max=MAX_SERIALS),
                          metadata={"description": "Numéros scannés (produits suivis à l'unité)"})
    reason_code = fields.Enum(ReasonCode, by_value=True, allow_none=True)
    comment = fields.String(allow_none=True, validate=validate.Length(max=2000))


class StocktakeLinesSchema(Schema):
    lines = fields.List(fields.Nested(StocktakeLineInSchema), required=True,
                        validate=validate.Length(min=1, max=2000))


class StocktakeLineSchema(Schema):
    sku = fields.String(attribute="product.sku")
    name = fields.String(attribute="product.name")
    serialized = fields.Boolean(attribute="product.serialized")
    expected = fields.Integer()
    expected_serials = fields.List(fields.String())
    counted = fields.Integer(allow_none=True)
    counted_serials = fields.List(fields.String(), allow_none=True)
    difference = fields.Integer(allow_none=True)
    reason_code = fields.Enum(ReasonCode, by_value=True, allow_none=True)
    comment = fields.String(allow_none=True)
    outcome = fields.Dict(allow_none=True, metadata={"description": "Unités perdues (lost), "
                                                                   "retrouvées (found), déplacées (moved)"})


class StocktakeSchema(Schema):
    id = fields.Integer()
    location_id = fields.Integer(allow_none=True)
    location = fields.String(attribute="location.name", allow_none=True)
    relais_id = fields.Integer(allow_none=True)
    status = fields.Enum(StocktakeStatus, by_value=True)
    created_at = fields.DateTime()
    finalised_at = fields.DateTime(allow_none=True)
    lines = fields.List(fields.Nested(StocktakeLineSchema))


class StocktakeQueryArgs(PaginationArgs):
    status = fields.Enum(StocktakeStatus, by_value=True)
