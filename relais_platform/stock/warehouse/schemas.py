"""Marshmallow schemas of the national stock, inventory and unit API.

Schemas check shapes; `warehouse.national` and `warehouse.inventory` keep the rules."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from relais_platform.api import DayRangeFilterArgs, PaginationArgs
from relais_platform.bounds import INT64_MAX
from relais_platform.stock.supply.schemas import PassportSchema
from relais_platform.stock.warehouse.models import MovementKind, ReasonCode, UnitStatus
from relais_platform.stock.warehouse.national import MovementFilters

LOCATION_ID: dict[str, Any] = {
    "metadata": {"description": "Emplacement du stock national (défaut : l'emplacement par défaut)"}}

MAX_SERIALS = 100_000


class SerialRangeSchema(Schema):
    first = fields.String(required=True, validate=validate.Length(min=1, max=40))
    last = fields.String(required=True, validate=validate.Length(min=1, max=40))


class ReceiptUnitSchema(Schema):
    serial = fields.String(required=True, validate=validate.Length(min=1, max=32))
    grade = fields.String(allow_none=True, validate=validate.OneOf(["A", "B", "C"]))
    wipe_certificate = fields.String(allow_none=True, validate=validate.Length(max=200))


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
    convention_id = fields.Integer(strict=True, validate=validate.Range(min=1), metadata={
        "description": "Convention à laquelle ces unités sont fléchées (relais de son périmètre seulement)"})
    # Origin (see docs/stock.md, "Supply"): required for refurbished devices.
    supplier_id = fields.Integer(strict=True, allow_none=True, metadata={
        "description": "Fournisseur ; obligatoire pour les appareils reconditionnés, sinon le fournisseur "
                       "habituel du produit"})
    donation = fields.Boolean(load_default=False, metadata={"description": "Don (true) ou achat"})
    unit_value_cents = fields.Integer(strict=True, allow_none=True, metadata={
        "description": "Valeur unitaire, en nature (don) ou d'achat, en centimes"})
    collection_id = fields.Integer(strict=True, allow_none=True, metadata={
        "description": "Collecte dont ces appareils reconditionnés sont issus"})
    grade = fields.String(allow_none=True, validate=validate.OneOf(["A", "B", "C"]),
                          metadata={"description": "Grade de toute la réception (appareils)"})
    wipe_certificate = fields.String(allow_none=True, validate=validate.Length(max=200), metadata={
        "description": "Référence du certificat d'effacement des données (appareils)"})
    units = fields.List(fields.Nested(ReceiptUnitSchema), validate=validate.Length(max=MAX_SERIALS),
                        metadata={"description": "Grade et certificat par unité ; sans `serials`, "
                                                 "les numéros reçus sont ceux-ci"})
    location_id = fields.Integer(strict=True, allow_none=True, **LOCATION_ID)


class ReceiptResultSchema(Schema):
    received = fields.Integer()


class LocationLevelSchema(Schema):
    location_id = fields.Integer()
    name = fields.String()
    on_hand = fields.Integer()


class StockRowSchema(Schema):
    product_id = fields.Integer()
    sku = fields.String()
    name = fields.String()
    serialized = fields.Boolean()
    active = fields.Boolean()
    on_hand = fields.Integer()
    reserved = fields.Integer()
    available = fields.Integer(metadata={"description": "on_hand - reserved"})
    locations = fields.List(fields.Nested(LocationLevelSchema),
                            metadata={"description": "En stock par emplacement (hors transit)"})
    in_transit = fields.Integer(metadata={"description": "En transit entre deux emplacements "
                                                         "(compté dans on_hand)"})


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
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500),
                           metadata={"description": "Commentaire libre accompagnant le motif codé"})
    reason_code = fields.Enum(ReasonCode, by_value=True, allow_none=True,
                              metadata={"description": "Motif codé (défaut : other)"})
    location_id = fields.Integer(strict=True, allow_none=True, **LOCATION_ID)


class ReturnSchema(Schema):
    sku = fields.String(required=True, validate=validate.Length(min=1, max=40))
    serials = fields.List(fields.String(validate=validate.Length(max=100_000)), required=True,
                          validate=validate.Length(min=1, max=MAX_SERIALS))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))
    defective = fields.Boolean(load_default=False,
                               metadata={"description": "Défectueuses : suivies mais non remises en stock"})
    location_id = fields.Integer(strict=True, allow_none=True, **LOCATION_ID)


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
    passport = fields.Nested(PassportSchema, metadata={
        "description": "Passeport de l'appareil : donateur et collecte, fournisseur, grade, certificat "
                       "d'effacement, réception, expéditions, remise (date et relais ; la personne pour "
                       "son relais seulement), événements de garantie, retours fournisseur (national)"})


class UnitQueryArgs(Schema):
    sku = fields.String(validate=validate.Length(max=40),
                        metadata={"description": "Obligatoire si plusieurs produits portent ce numéro"})




class MovementFilterSchema(DayRangeFilterArgs):
    """Filters of the national ledger (the web page loads the same)."""

    filters_class = MovementFilters

    product_id = fields.Integer(validate=validate.Range(min=1, max=INT64_MAX))
    sku = fields.String(validate=validate.Length(min=1, max=40))
    kind = fields.String(validate=validate.OneOf([k.value for k in MovementKind]))


class NationalMovementArgs(PaginationArgs, MovementFilterSchema):
    pass


class NationalMovementSchema(Schema):
    id = fields.Integer()
    occurred_at = fields.DateTime()
    product_id = fields.Integer()
    sku = fields.String()
    product_name = fields.String()
    kind = fields.Enum(MovementKind, by_value=True)
    on_hand_delta = fields.Integer(metadata={"description": "Variation du stock (en transit compris)"})
    reserved_delta = fields.Integer(metadata={"description": "Variation du réservé"})
    location_id = fields.Integer(allow_none=True)
    location_name = fields.String(allow_none=True)
    order_id = fields.Integer(allow_none=True)
    relais_id = fields.Integer(allow_none=True, metadata={"description": "Relais destinataire ou d'origine"})
    relais_name = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    reason_code = fields.Enum(ReasonCode, by_value=True, allow_none=True)
    actor_id = fields.Integer(allow_none=True)
