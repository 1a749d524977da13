"""Schemas of the funders and agreements API."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import RAISE, Schema, fields, validate

from relais_platform.reporting.activity.schemas import ActivityReportSchema
from relais_platform.reporting.funders.models import FunderKind

KINDS = [k.value for k in FunderKind]


class FunderInputSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(required=True, validate=validate.OneOf(KINDS, error=_l("Valeur non prévue.")),
                         metadata={"description": "public, company, foundation ou other"})


class FunderSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.Enum(FunderKind, by_value=True)
    created_at = fields.DateTime()


class ConventionInputSchema(Schema):
    class Meta:
        unknown = RAISE

    funder_id = fields.Integer(required=True, strict=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    relais_ids = fields.List(fields.Integer(strict=True), validate=validate.Length(max=5000),
                             metadata={"description": "Relais couverts (ou bien departements ; ni l'un ni "
                                                      "l'autre : tout le réseau)"})
    departements = fields.List(fields.String(validate=validate.Length(max=3)),
                               validate=validate.Length(max=110))
    targets = fields.Dict(keys=fields.String(validate=validate.Length(max=40)), values=fields.Raw(),
                          load_default=dict,
                          metadata={"description": "beneficiaries, new_beneficiaries, accompaniment_hours, "
                                                   "parcours_completed, events, relais_active, "
                                                   "professionals_trained ou une référence (sku) → objectif"})


class ConventionSchema(Schema):
    id = fields.Integer()
    funder_id = fields.Integer()
    funder = fields.String()
    name = fields.String()
    starts_on = fields.Date()
    ends_on = fields.Date()
    relais_ids = fields.List(fields.Integer(), allow_none=True)
    departements = fields.List(fields.String(), allow_none=True)
    targets = fields.Dict(keys=fields.String(), values=fields.Integer())


class TargetRowSchema(Schema):
    indicator = fields.String()
    target = fields.Integer()
    actual = fields.Raw(metadata={"description": 'Nombre, ou "<5" / "s" hors de la vue du relais'})
    ratio = fields.Float(allow_none=True, metadata={"description": "actual / target ; null si protégé"})


class EarmarkFiguresSchema(Schema):
    received = fields.Integer()
    allocated = fields.Integer()
    handed_out = fields.Raw()


class ConventionReportSchema(Schema):
    convention = fields.Nested(ConventionSchema)
    targets = fields.List(fields.Nested(TargetRowSchema))
    earmarked = fields.Dict(keys=fields.String(), values=fields.Nested(EarmarkFiguresSchema),
                            metadata={"description": "Stock fléché par référence : reçu, alloué, remis"})
    activity = fields.Nested(ActivityReportSchema)


class ExportFormatArgs(Schema):
    format = fields.String(required=True, metadata={"description": "pdf ou xlsx"})
