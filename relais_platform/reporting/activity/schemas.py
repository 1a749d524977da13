"""Schemas of the activity report API. Figures are numbers, or "<5" / "s" where small
numbers are protected (outside a relais' own view, see docs/privacy.md)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

PROTECTED = 'Nombre, ou "<5" (de 1 à 4) ou "s" (secret complémentaire) hors de la vue du relais.'


class ActivityArgs(Schema):
    # Dates are checked by the service (422 naming "from" or "to").
    from_ = fields.String(data_key="from", required=True, metadata={"description": "AAAA-MM-JJ"})
    to = fields.String(required=True, metadata={"description": "AAAA-MM-JJ, inclus"})
    relais_id = fields.Integer(validate=validate.Range(min=1))
    departement = fields.String(validate=validate.Length(max=3))
    region = fields.String(validate=validate.Length(max=60))
    convention_id = fields.Integer(validate=validate.Range(min=1))


class ActivityExportArgs(ActivityArgs):
    format = fields.String(required=True, metadata={"description": "pdf, xlsx ou csv"})


class PeriodSchema(Schema):
    from_ = fields.String(data_key="from", attribute="from")
    to = fields.String()


class TotalsSchema(Schema):
    beneficiaries = fields.Raw(metadata={"description": PROTECTED})
    new_beneficiaries = fields.Raw(metadata={"description": PROTECTED})
    accompaniment_hours = fields.Float()
    sessions = fields.Integer()
    parcours_completed = fields.Raw(metadata={"description": PROTECTED})
    events = fields.Integer()
    governance = fields.Integer()
    relais_active = fields.Integer()
    professionals_trained = fields.Raw(metadata={"description": PROTECTED})
    distributions = fields.Dict(keys=fields.String(), values=fields.Raw(),
                                metadata={"description": "Quantités par référence (sku). " + PROTECTED})


class ActivityReportSchema(Schema):
    period = fields.Nested(PeriodSchema)
    scope = fields.Dict(metadata={"description": "kind, label, exact (chiffres exacts : vue du relais), "
                                                 "filtres"})
    totals = fields.Nested(TotalsSchema)
    previous = fields.Nested(TotalsSchema, metadata={"description": (
        "Période précédente de même durée (en mois entiers si la période est en mois entiers, "
        "en jours sinon)")})
    breakdowns = fields.Dict(
        keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.Raw()),
        metadata={"description": "situation, age_band, housing, banked, nationality, language, "
                                 "referrer_kind, session_kind, theme, programme, departement → "
                                 "{valeur: effectif}. "
                                 + PROTECTED})
