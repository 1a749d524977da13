"""Marshmallow schemas of the catalogue, national stock, inventory and unit API.

Schemas check shapes; `catalogue` and `national` keep the business rules and report them
on the same fields.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from relais_platform.api import PaginationArgs
from relais_platform.stock.models import Category, SerialKind, UnitStatus
from relais_platform.tenants.models import Dimension

# A pasted list is as long as the largest range a receipt accepts.
MAX_SERIALS = 100_000
_PRICE = validate.Range(min=0, max=1_000_000, error=_l("Montant en centimes, positif ou nul."))


class ProductSchema(Schema):
    id = fields.Integer()
    sku = fields.String()
    name = fields.String()
    category = fields.Enum(Category, by_value=True)
    dimension = fields.Enum(Dimension, by_value=True)
    serialized = fields.Boolean()
    serial_kind = fields.Enum(SerialKind, by_value=True, allow_none=True)
    unit_price_cents = fields.Integer(metadata={"description": "Prix payé par le relais (centimes)"})
    max_resale_price_cents = fields.Integer(
        metadata={"description": "Prix maximal de revente au bénéficiaire (centimes ; 0 : gratuit)"})
    validity_days = fields.Integer(allow_none=True)
    data_gb = fields.Float(allow_none=True)
    warranty_months = fields.Integer(allow_none=True)
    description = fields.String(allow_none=True)
    active = fields.Boolean()


class ProductWriteSchema(Schema):
    """Fields as sent by clients (all optional: the PATCH form)."""

    sku = fields.String(validate=validate.Length(min=2, max=40),
                        metadata={"description": "Référence unique (mise en majuscules)"})
    name = fields.String(validate=validate.Length(min=1, max=200))
    category = fields.Enum(Category, by_value=True)
    dimension = fields.Enum(Dimension, by_value=True,
                            metadata={"description": "connexion ou equipement"})
    serialized = fields.Boolean(metadata={"description": "Suivi à l'unité (numéro par unité)"})
    serial_kind = fields.Enum(SerialKind, by_value=True, allow_none=True,
                              metadata={"description": "Obligatoire si serialized, sinon absent"})
    unit_price_cents = fields.Integer(strict=True, validate=_PRICE)
    max_resale_price_cents = fields.Integer(strict=True, validate=_PRICE)
    validity_days = fields.Integer(strict=True, allow_none=True,
                                   metadata={"description": "Recharges (obligatoire), SIM et kits"})
    data_gb = fields.Decimal(allow_none=True, places=2,
                             metadata={"description": "Volume de données en Go (recharges, SIM, kits)"})
    warranty_months = fields.Integer(strict=True, allow_none=True,
                                     metadata={"description": "Appareils ; 24 par défaut"})
    description = fields.String(allow_none=True, validate=validate.Length(max=5000))
    active = fields.Boolean()


class ProductCreateSchema(ProductWriteSchema):
    sku = fields.String(required=True, validate=validate.Length(min=2, max=40))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    category = fields.Enum(Category, by_value=True, required=True)
    dimension = fields.Enum(Dimension, by_value=True, required=True)
    serialized = fields.Boolean(load_default=False)
    unit_price_cents = fields.Integer(strict=True, required=True, validate=_PRICE)
    max_resale_price_cents = fields.Integer(strict=True, required=True, validate=_PRICE)


class ProductQueryArgs(PaginationArgs):
    active = fields.Boolean()
    category = fields.Enum(Category, by_value=True)
    dimension = fields.Enum(Dimension, by_value=True)


class SerialRangeSchema(Schema):
    first = fields.String(required=True, validate=validate.Length(min=1, max=40))
    last = fields.String(required=True, validate=validate.Length(min=1, max=40))


class ReceiptSchema(Schema):
    """Exactly one of quantity (non-serialized), serials or serial_range (serialized)."""

    sku = fields.String(required=True, validate=validate.Length(min=1, max=40))
    quantity = fields.Integer(strict=True)
    serials = fields.List(
        fields.String(validate=validate.Length(max=100_000)),
        validate=validate.Length(max=MAX_SERIALS),
        metadata={"description": "Numéros saisis, collés ou scannés ; un élément peut en contenir "
                                 "plusieurs séparés par retours à la ligne, virgules ou espaces"},
    )
    serial_range = fields.Nested(SerialRangeSchema,
                                 metadata={"description": "Premier et dernier ICCID, inclus"})
    reason = fields.String(allow_none=True, validate=validate.Length(max=500))


class ReceiptResultSchema(Schema):
    received = fields.Integer()


class StockRowSchema(Schema):
    product_id = fields.Integer()
    sku = fields.String()
    name = fields.String()
    serialized = fields.Boolean()
    active = fields.Boolean()
    on_hand = fields.Integer()
    reserved = fields.Integer()
    available = fields.Integer(metadata={"description": "on_hand - reserved"})


class StockQueryArgs(PaginationArgs):
    active = fields.Boolean()


class AdjustmentSchema(Schema):
    """Non-serialized: a signed quantity. Serialized: the serials written off."""

    sku = fields.String(required=True, validate=validate.Length(min=1, max=40))
    quantity = fields.Integer(strict=True, metadata={"description": "Signée : négative pour une sortie"})
    serials = fields.List(fields.String(validate=validate.Length(max=100_000)),
                          validate=validate.Length(max=MAX_SERIALS))
    status = fields.Enum(UnitStatus, by_value=True, load_default=UnitStatus.LOST,
                         metadata={"description": "Unités sorties : lost (défaut) ou defective"})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class ReturnSchema(Schema):
    sku = fields.String(required=True, validate=validate.Length(min=1, max=40))
    serials = fields.List(fields.String(validate=validate.Length(max=100_000)), required=True,
                          validate=validate.Length(min=1, max=MAX_SERIALS))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))
    defective = fields.Boolean(load_default=False,
                               metadata={"description": "Défectueuses : suivies mais non remises en stock"})


class ReturnResultSchema(Schema):
    returned = fields.Integer()


class InventoryUnitSchema(Schema):
    serial = fields.String()
    status = fields.Enum(UnitStatus, by_value=True)
    received_at = fields.DateTime()
    warranty_ends_on = fields.Date(allow_none=True)


class HeldUnitSchema(InventoryUnitSchema):
    sku = fields.String()


class InventoryItemSchema(Schema):
    """One product the relais holds or held (the list is bounded by the catalogue)."""

    product_id = fields.Integer()
    sku = fields.String()
    name = fields.String()
    serialized = fields.Boolean()
    on_hand = fields.Integer()
    units = fields.List(fields.Nested(InventoryUnitSchema),
                        metadata={"description": "Unités suivies présentes au relais (statut at_relais)"})


class InventoryQueryArgs(PaginationArgs):
    sku = fields.String(validate=validate.Length(max=40),
                        metadata={"description": "Unités (et mouvements) de ce produit seulement"})


class MovementSchema(Schema):
    occurred_at = fields.DateTime()
    sku = fields.String()
    kind = fields.String()
    quantity_delta = fields.Integer()
    order_id = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)


class UnitEventSchema(Schema):
    occurred_at = fields.DateTime()
    from_status = fields.Enum(UnitStatus, by_value=True, allow_none=True)
    to_status = fields.Enum(UnitStatus, by_value=True)
    relais_id = fields.Integer(allow_none=True)
    order_id = fields.Integer(allow_none=True)
    note = fields.String(allow_none=True)


class UnitSchema(Schema):
    id = fields.Integer()
    sku = fields.String()
    product_name = fields.String()
    serial = fields.String()
    status = fields.Enum(UnitStatus, by_value=True)
    relais_id = fields.Integer(allow_none=True, metadata={"description": "Relais qui la détient"})
    received_at = fields.DateTime()
    warranty_ends_on = fields.Date(allow_none=True)
    history = fields.List(fields.Nested(UnitEventSchema),
                          metadata={"description": "Changements de statut, du plus ancien au plus récent"})


class UnitQueryArgs(Schema):
    sku = fields.String(validate=validate.Length(max=40),
                        metadata={"description": "Obligatoire si plusieurs produits portent ce numéro"})
