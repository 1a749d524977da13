"""Marshmallow schemas of the catalogue API.

Schemas check shapes; `catalogue.services` keeps the business rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from relais_platform.api import PaginationArgs
from relais_platform.stock.catalogue.models import Category, SerialKind
from relais_platform.tenants.models import Dimension

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
    usual_supplier_id = fields.Integer(allow_none=True, metadata={
        "description": "Fournisseur habituel, enregistré quand une réception n'en nomme pas"})


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
    usual_supplier_id = fields.Integer(strict=True, allow_none=True, metadata={
        "description": "Fournisseur habituel (national) : l'opérateur des cartes SIM et recharges"})


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
