"""Schemas of the reporting API: events and governance, the annual bilan, its exports."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import RAISE, Schema, fields, validate

from relais_platform.api import PaginationArgs
from relais_platform.bounds import INT64_MAX, years
from relais_platform.reporting.models import EventKind

PAGINATION_HEADERS = {
    "X-Pagination": {"description": 'JSON: {"total", "page", "per_page", "last_page"}',
                     "schema": {"type": "string"}},
    "X-Total-Count": {"description": "Nombre total d'éléments", "schema": {"type": "integer"}},
}
KINDS = [k.value for k in EventKind]


class EventInputSchema(Schema):
    class Meta:
        unknown = RAISE

    kind = fields.String(validate=validate.OneOf(KINDS, error=_l("Valeur non prévue.")))
    title = fields.String(validate=validate.Length(min=1, max=200))
    date = fields.Date(validate=years())
    participants = fields.Integer(strict=True, allow_none=True,
                                  validate=validate.Range(min=0, max=100_000))
    body = fields.String(allow_none=True, validate=validate.Length(max=200),
                         metadata={"description": "Instance ou groupe de travail (gouvernance)."})


class EventCreateSchema(EventInputSchema):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS, error=_l("Valeur non prévue.")))
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    date = fields.Date(required=True, validate=years())


class EventSchema(Schema):
    id = fields.Integer()
    kind = fields.Enum(EventKind, by_value=True)
    title = fields.String()
    date = fields.Date(attribute="held_on")
    participants = fields.Integer(allow_none=True)
    body = fields.String(allow_none=True)
    created_at = fields.DateTime()


class EventListArgs(PaginationArgs):
    kind = fields.String(validate=validate.OneOf(KINDS, error=_l("Valeur non prévue.")))
    year = fields.Integer(validate=validate.Range(min=2000, max=2100))


class AnnualArgs(Schema):
    # Checked by the service (422 with a message naming the allowed range).
    year = fields.String(required=True)
    relais_id = fields.Integer(validate=validate.Range(min=1, max=INT64_MAX))
    departement = fields.String(validate=validate.Length(max=3))
    region = fields.String(validate=validate.Length(max=60))


class ExportArgs(AnnualArgs):
    format = fields.String(required=True)


class YearFiguresSchema(Schema):
    year = fields.Integer()
    beneficiaries = fields.Integer()
    beneficiaries_named = fields.Integer()
    beneficiaries_anonymous = fields.Integer()
    new_beneficiaries = fields.Integer()
    parcours_completed = fields.Integer()
    accompaniment_hours = fields.Float()
    accompaniment_sessions = fields.Integer()
    events = fields.Integer()
    event_participants = fields.Integer()
    governance_participations = fields.Integer()
    distributions = fields.Dict(keys=fields.String(), values=fields.Integer(),
                                metadata={"description": "Quantités distribuées par référence (sku)."})
    distributions_by_category = fields.Dict(keys=fields.String(), values=fields.Integer(),
                                            metadata={"description": "sims, recharges, devices, kits, other"})
    connect_refugees = fields.Dict(keys=fields.String(), values=fields.Integer(),
                                   metadata={"description": "kits distribués, quantités du programme"})
    professionals_trained = fields.Integer()
    relais_active = fields.Integer()
    referrers = fields.Integer(metadata={"description": "Structures ayant orienté une nouvelle personne."})
    new_beneficiaries_by_referrer_kind = fields.Dict(
        keys=fields.String(), values=fields.Integer(),
        metadata={"description": "Nouvelles personnes par type de structure orienteuse "
                                 "(none : non renseignée)."})


class AnnualBilanSchema(YearFiguresSchema):
    scope = fields.String(metadata={"description": "relais, portfolio, departement, region ou network"})
    scope_label = fields.String()
    filters = fields.Dict()
    previous_year = fields.Nested(YearFiguresSchema)


class ExportStatusSchema(Schema):
    id = fields.Integer()
    status = fields.String(metadata={"description": "queued, running, finished ou failed"})
    progress = fields.Integer(metadata={"description": "0 à 100"})
    year = fields.Integer()
    format = fields.String()
    filters = fields.Dict()
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    error = fields.String(allow_none=True)
    download_url = fields.String(allow_none=True)
