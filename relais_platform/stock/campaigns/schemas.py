"""Marshmallow schemas of the emergency campaigns API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class CampaignProductInSchema(Schema):
    sku = fields.String(required=True, validate=validate.Length(min=1, max=40))
    quantity = fields.Integer(required=True, strict=True)


class EligibleSchema(Schema):
    kinds = fields.List(fields.String(validate=validate.Length(max=40)), validate=validate.Length(max=50))
    departements = fields.List(fields.String(validate=validate.Length(min=2, max=3)),
                               validate=validate.Length(max=120))
    relais_ids = fields.List(fields.Integer(strict=True), validate=validate.Length(max=5000))


class CampaignInSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    products = fields.List(fields.Nested(CampaignProductInSchema), required=True,
                           validate=validate.Length(min=1, max=100))
    opens_on = fields.Date(required=True)
    closes_on = fields.Date(required=True)
    eligible = fields.Nested(EligibleSchema, load_default=dict,
                             metadata={"description": "Critères cumulés ; aucun : tous les relais actifs"})
    free = fields.Boolean(load_default=True, metadata={"description": "Commandes gratuites (défaut)"})


class CampaignProductSchema(Schema):
    sku = fields.String(attribute="product.sku")
    name = fields.String(attribute="product.name")
    quantity = fields.Integer()


class NeedLineSchema(Schema):
    sku = fields.String(required=True, validate=validate.Length(min=1, max=40))
    quantity = fields.Integer(required=True, strict=True)


class NeedInSchema(Schema):
    lines = fields.List(fields.Nested(NeedLineSchema), required=True, validate=validate.Length(max=100))
    comment = fields.String(allow_none=True, validate=validate.Length(max=2000))


class NeedOutLineSchema(Schema):
    sku = fields.String(attribute="product.sku")
    quantity = fields.Integer()


class NeedSchema(Schema):
    id = fields.Integer()
    campaign_id = fields.Integer()
    comment = fields.String(allow_none=True)
    updated_at = fields.DateTime()
    order_id = fields.Integer(allow_none=True)
    lines = fields.List(fields.Nested(NeedOutLineSchema))


class CampaignSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    opens_on = fields.Date()
    closes_on = fields.Date()
    free = fields.Boolean()
    eligible = fields.Dict()
    status = fields.String(attribute="status.value")
    confirmed_at = fields.DateTime(allow_none=True)
    products = fields.List(fields.Nested(CampaignProductSchema))
    need = fields.Nested(NeedSchema, allow_none=True,
                         metadata={"description": "Les besoins déclarés par votre relais (relais seulement)"})


class ProposedLineSchema(Schema):
    relais_id = fields.Integer()
    relais_name = fields.String()
    sku = fields.String()
    needed = fields.Integer()
    proposed = fields.Integer()


class ConfirmedSchema(Schema):
    order_ids = fields.List(fields.Integer())
