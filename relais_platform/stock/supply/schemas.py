"""Marshmallow schemas of the supply API (suppliers, collections, supplier returns, figures).

Schemas check shapes; `supply.services` keeps the rules (and names the field in a 422)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from relais_platform.api import PaginationArgs
from relais_platform.stock.catalogue.models import Category
from relais_platform.stock.supply.models import Grade, ReturnOutcome, SupplierKind

KINDS = [kind.value for kind in SupplierKind]


class SupplierInSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    siret = fields.String(allow_none=True, validate=validate.Length(max=20))
    contact = fields.String(
        allow_none=True,
        validate=validate.Length(max=1000),
        metadata={"description": "Personne, e-mail ou téléphone à joindre"},
    )


class SupplierSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.Enum(SupplierKind, by_value=True)
    siret = fields.String(allow_none=True)
    contact = fields.String(allow_none=True)
    created_at = fields.DateTime()


class SupplierListArgs(PaginationArgs):
    kind = fields.String(validate=validate.OneOf(KINDS))


class SupplierRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()


class CollectionItemInSchema(Schema):
    category = fields.String(required=True, validate=validate.OneOf([c.value for c in Category]))
    quantity = fields.Integer(strict=True, required=True)


class CollectionInSchema(Schema):
    donor_id = fields.Integer(strict=True, required=True)
    collected_on = fields.Date(required=True)
    items = fields.List(
        fields.Nested(CollectionItemInSchema), required=True, validate=validate.Length(min=1, max=20)
    )
    refurbisher_id = fields.Integer(
        strict=True,
        allow_none=True,
        metadata={"description": "Reconditionneur, si la collecte lui est envoyée dès son enregistrement"},
    )
    note = fields.String(allow_none=True, validate=validate.Length(max=2000))


class CollectionSendSchema(Schema):
    refurbisher_id = fields.Integer(strict=True, required=True)
    sent_on = fields.Date(load_default=None)


class CollectionItemSchema(Schema):
    category = fields.Enum(Category, by_value=True)
    collected = fields.Integer(attribute="quantity")
    refurbished = fields.Integer()
    recycled = fields.Integer()


class CollectionSchema(Schema):
    id = fields.Integer()
    donor = fields.Nested(SupplierRefSchema)
    collected_on = fields.Date()
    refurbisher = fields.Nested(SupplierRefSchema, allow_none=True)
    sent_on = fields.Date(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    note = fields.String(allow_none=True)
    items = fields.List(fields.Nested(CollectionItemSchema))
    created_at = fields.DateTime()


class CollectionListArgs(PaginationArgs):
    donor_id = fields.Integer()
    open = fields.Boolean(metadata={"description": "Collectes non closes seulement"})


class SupplierReturnInSchema(Schema):
    supplier_id = fields.Integer(strict=True, required=True)
    serials = fields.List(
        fields.String(validate=validate.Length(max=10_000)),
        required=True,
        validate=validate.Length(min=1, max=1000),
        metadata={"description": "Unités défectueuses revenues au stock national"},
    )


class ReturnAnswerInSchema(Schema):
    serial = fields.String(required=True, validate=validate.Length(min=1, max=32))
    outcome = fields.String(required=True, validate=validate.OneOf([o.value for o in ReturnOutcome]))
    replacement_serial = fields.String(
        allow_none=True,
        validate=validate.Length(max=32),
        metadata={"description": "replaced : l'unité reçue en échange"},
    )
    grade = fields.String(allow_none=True, validate=validate.OneOf([g.value for g in Grade]))
    wipe_certificate = fields.String(allow_none=True, validate=validate.Length(max=200))
    note = fields.String(allow_none=True, validate=validate.Length(max=2000))


class ReturnAnswersInSchema(Schema):
    answers = fields.List(
        fields.Nested(ReturnAnswerInSchema), required=True, validate=validate.Length(min=1, max=1000)
    )


class SupplierReturnLineSchema(Schema):
    serial = fields.String()
    sku = fields.String()
    outcome = fields.String(allow_none=True)
    answered_at = fields.DateTime(allow_none=True)
    replacement_serial = fields.String(allow_none=True)
    note = fields.String(allow_none=True)


class SupplierReturnSchema(Schema):
    id = fields.Integer()
    supplier = fields.Nested(SupplierRefSchema)
    created_at = fields.DateTime()
    lines = fields.List(fields.Nested(SupplierReturnLineSchema))


class SupplierReceiptsSchema(Schema):
    supplier_id = fields.Integer(allow_none=True)
    name = fields.String(allow_none=True)
    kind = fields.String()
    receipts = fields.Integer()
    units = fields.Integer()
    donated_units = fields.Integer()
    value_cents = fields.Integer()
    donated_value_cents = fields.Integer()


class KindReceiptsSchema(Schema):
    kind = fields.String()
    receipts = fields.Integer()
    units = fields.Integer()
    value_cents = fields.Integer()


class YearGiftsSchema(Schema):
    year = fields.Integer()
    units = fields.Integer()
    value_cents = fields.Integer(metadata={"description": "Valeur en nature déclarée (centimes)"})


class ReuseSchema(Schema):
    key = fields.String()
    label = fields.String()
    collected = fields.Integer()
    refurbished = fields.Integer()
    recycled = fields.Integer()
    pending = fields.Integer()
    reuse_rate = fields.Float(allow_none=True, metadata={"description": "reconditionnés / collectés"})


class WarrantySchema(Schema):
    key = fields.String()
    label = fields.String()
    handed_over = fields.Integer()
    failures = fields.Integer(metadata={"description": "Unités revenues sous garantie"})
    failure_rate = fields.Float(allow_none=True)
    returned_to_supplier = fields.Integer()
    repaired = fields.Integer()
    replaced = fields.Integer()
    scrapped = fields.Integer()


class SupplyFiguresSchema(Schema):
    by_supplier = fields.List(fields.Nested(SupplierReceiptsSchema))
    by_kind = fields.List(fields.Nested(KindReceiptsSchema))
    gifts_by_year = fields.List(fields.Nested(YearGiftsSchema))
    reuse_by_donor = fields.List(fields.Nested(ReuseSchema))
    reuse_by_refurbisher = fields.List(fields.Nested(ReuseSchema))
    reuse_by_year = fields.List(fields.Nested(ReuseSchema))
    warranty_by_product = fields.List(fields.Nested(WarrantySchema))
    warranty_by_refurbisher = fields.List(fields.Nested(WarrantySchema))


class PassportShipmentSchema(Schema):
    order_id = fields.Integer(allow_none=True)
    relais_id = fields.Integer(allow_none=True)
    relais_name = fields.String(allow_none=True)
    shipped_at = fields.DateTime()


class PassportHandoverSchema(Schema):
    date = fields.Date()
    relais_id = fields.Integer(allow_none=True)
    relais_name = fields.String(allow_none=True)
    distribution_id = fields.Integer(metadata={"description": "Relais seulement"})
    beneficiary_name = fields.String(
        allow_none=True,
        metadata={
            "description": "Relais seulement, s'il connaît la personne ; jamais pour l'équipe nationale"
        },
    )


class PassportWarrantySchema(Schema):
    occurred_at = fields.DateTime()
    outcome = fields.String()
    note = fields.String(allow_none=True)
    relais_id = fields.Integer(allow_none=True)


class PassportReceiptSchema(Schema):
    id = fields.Integer(metadata={"description": "National seulement"})
    received_at = fields.DateTime()
    donation = fields.Boolean(metadata={"description": "National seulement"})
    unit_value_cents = fields.Integer(allow_none=True, metadata={"description": "National seulement"})


class PassportCollectionSchema(Schema):
    id = fields.Integer()
    collected_on = fields.Date()
    donor = fields.Nested(SupplierRefSchema, allow_none=True)
    refurbisher = fields.Nested(SupplierRefSchema, allow_none=True)


class PassportReturnSchema(Schema):
    return_id = fields.Integer()
    supplier = fields.Nested(SupplierRefSchema)
    sent_at = fields.DateTime()
    outcome = fields.String(allow_none=True)
    answered_at = fields.DateTime(allow_none=True)
    replacement_serial = fields.String(allow_none=True)
    replaces = fields.Boolean(metadata={"description": "Cette unité est le remplacement envoyé"})


class PassportSchema(Schema):
    supplier = fields.Nested(
        SupplierRefSchema,
        allow_none=True,
        metadata={"description": "Qui a livré l'unité (reconditionneur, opérateur…)"},
    )
    donor = fields.Nested(SupplierRefSchema, allow_none=True)
    grade = fields.String(allow_none=True)
    wipe_certificate = fields.String(allow_none=True)
    collection = fields.Nested(
        PassportCollectionSchema, allow_none=True, metadata={"description": "National seulement"}
    )
    receipt = fields.Nested(PassportReceiptSchema)
    shipments = fields.List(fields.Nested(PassportShipmentSchema))
    handover = fields.Nested(PassportHandoverSchema, allow_none=True)
    warranty_events = fields.List(fields.Nested(PassportWarrantySchema))
    supplier_returns = fields.List(
        fields.Nested(PassportReturnSchema), metadata={"description": "National seulement"}
    )
