"""Schemas of the beneficiary and accompaniment API.

Input schemas refuse any field not listed (marshmallow's RAISE): nothing outside the
minimum DOMAIN.md allows can reach the registry (no NIR, health, nationality detail...).
The services keep the rules (birth year range, phone or "no phone", consent).
"""

from __future__ import annotations

import enum
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import RAISE, Schema, fields, validate

from relais_platform.api import PaginationArgs
from relais_platform.beneficiaries.models import (
    REFERRER_KINDS,
    Banked,
    Housing,
    Language,
    Level,
    Nationality,
    Need,
    SessionKind,
    Situation,
)
from relais_platform.bounds import years

PAGINATION_HEADERS = {
    "X-Pagination": {"description": 'JSON: {"total", "page", "per_page", "last_page"}',
                     "schema": {"type": "string"}},
    "X-Total-Count": {"description": "Nombre total d'éléments", "schema": {"type": "integer"}},
}


def _choice(enum_cls: type[enum.Enum], **kwargs: Any) -> fields.String:
    return fields.String(
        validate=validate.OneOf([m.value for m in enum_cls], error=_l("Valeur non prévue.")),
        **kwargs,
    )


def _boolean(**kwargs) -> fields.Boolean:
    """JSON true or false only (not "yes", 1 or "on")."""
    return fields.Boolean(truthy={True}, falsy={False}, **kwargs)


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class BeneficiaryInputSchema(StrictSchema):
    first_name = fields.String(validate=validate.Length(min=1, max=100))
    last_name = fields.String(validate=validate.Length(min=1, max=100))
    # A year, never a date: strict refuses "1990-05-04" as well as "1990".
    birth_year = fields.Integer(strict=True, allow_none=True)
    phone = fields.String(allow_none=True, validate=validate.Length(max=30))
    no_phone = _boolean()
    language = _choice(Language, allow_none=True)
    situation = _choice(Situation, allow_none=True)
    housing = _choice(Housing, allow_none=True)
    banked = _choice(Banked, allow_none=True)
    nationality = _choice(Nationality, allow_none=True)
    referrer = fields.String(allow_none=True, validate=validate.Length(max=200))
    referrer_id = fields.Integer(strict=True, allow_none=True,
                                 metadata={"description": "Une structure orienteuse du relais (/referrers)."})
    note = fields.String(allow_none=True, validate=validate.Length(max=2000),
                         metadata={"description": "Factuelle uniquement, visible du seul relais."})


class BeneficiaryCreateSchema(BeneficiaryInputSchema):
    first_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    last_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    consent = _boolean(required=True, metadata={"description": "Doit valoir true."})


class BeneficiarySchema(Schema):
    id = fields.Integer()
    first_name = fields.String()
    last_name = fields.String()
    birth_year = fields.Integer(allow_none=True)
    phone = fields.String(allow_none=True)
    no_phone = fields.Boolean()
    language = fields.Enum(Language, by_value=True, allow_none=True)
    situation = fields.Enum(Situation, by_value=True, allow_none=True)
    housing = fields.Enum(Housing, by_value=True, allow_none=True)
    banked = fields.Enum(Banked, by_value=True, allow_none=True)
    nationality = fields.Enum(Nationality, by_value=True, allow_none=True)
    referrer = fields.String(allow_none=True)
    referrer_id = fields.Integer(allow_none=True)
    note = fields.String(allow_none=True)
    connection_until = fields.Date(allow_none=True, metadata={
        "description": "Dernier jour de la période de connexion solidaire (null avant le premier "
                       "produit de connexion)."})
    consent = fields.Constant(True)
    consent_at = fields.DateTime()
    last_seen_at = fields.DateTime()
    created_at = fields.DateTime()


class BeneficiaryCreatedSchema(BeneficiarySchema):
    possible_duplicates = fields.List(fields.Integer())


class SearchArgs(PaginationArgs):
    q = fields.String(validate=validate.Length(max=200))


class MergeSchema(StrictSchema):
    keep_id = fields.Integer(required=True, strict=True)
    merge_id = fields.Integer(required=True, strict=True)


class DiagnosticInputSchema(StrictSchema):
    level = _choice(Level, required=True)
    needs = fields.List(_choice(Need), load_default=list)
    assessed_on = fields.Date(validate=years())


class DiagnosticSchema(Schema):
    id = fields.Integer()
    beneficiary_id = fields.Integer()
    level = fields.Enum(Level, by_value=True)
    needs = fields.List(fields.String())
    assessed_on = fields.Date()
    created_at = fields.DateTime()


class ProgressSchema(Schema):
    parcours_id = fields.Integer()
    name = fields.String()
    attended = fields.Integer()
    required = fields.Integer()
    started_on = fields.Date()
    completed_on = fields.Date(allow_none=True)


class AccompanimentInputSchema(StrictSchema):
    kind = _choice(SessionKind, required=True)
    theme = fields.String(allow_none=True, validate=validate.Length(max=32),
                          metadata={"description": "Code d'un thème actif (/themes)."})
    date = fields.Date(required=True, validate=years())
    duration_minutes = fields.Integer(required=True, strict=True,
                                      validate=validate.Range(min=1, max=1440))
    beneficiary_ids = fields.List(fields.Integer(strict=True), load_default=list)
    anonymous_count = fields.Integer(strict=True, load_default=0, validate=validate.Range(min=0))
    parcours_id = fields.Integer(strict=True, allow_none=True)


class AccompanimentSchema(Schema):
    id = fields.Integer()
    kind = fields.Enum(SessionKind, by_value=True)
    theme = fields.String(allow_none=True)
    date = fields.Date(attribute="held_on")
    duration_minutes = fields.Integer()
    anonymous_count = fields.Integer()
    beneficiary_ids = fields.List(fields.Integer())
    participants = fields.Integer()
    parcours_id = fields.Integer(allow_none=True)


class AccompanimentListArgs(PaginationArgs):
    start = fields.Date()
    end = fields.Date()


class HoursArgs(StrictSchema):
    start = fields.Date(required=True)
    end = fields.Date(required=True)


class HoursSchema(Schema):
    start = fields.Date()
    end = fields.Date()
    # Sent as a string since the first release ("11.50"): the document says so.
    hours = fields.Decimal(as_string=True, metadata={"type": "string", "format": "decimal"})


class ParcoursInputSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    kind = _choice(SessionKind, required=True)
    sessions_required = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=100))


class ParcoursSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.Enum(SessionKind, by_value=True)
    sessions_required = fields.Integer()


class AccompanimentPatchSchema(StrictSchema):
    kind = _choice(SessionKind)
    theme = fields.String(allow_none=True, validate=validate.Length(max=32))
    date = fields.Date()
    duration_minutes = fields.Integer(strict=True)
    beneficiary_ids = fields.List(fields.Integer(strict=True))
    anonymous_count = fields.Integer(strict=True)
    parcours_id = fields.Integer(strict=True, allow_none=True)


class ReasonSchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(max=2000))


class DuplicateSchema(StrictSchema):
    date = fields.Date(required=True)


class ConnectionExtensionSchema(StrictSchema):
    months = fields.Integer(required=True, strict=True)
    reason = fields.String(required=True, validate=validate.Length(max=2000))


class ThemeSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    label = fields.String()
    retired = fields.Boolean()


class ThemeInputSchema(StrictSchema):
    code = fields.String(required=True, validate=validate.Length(max=32))
    label = fields.String(required=True, validate=validate.Length(max=120))


class ThemePatchSchema(StrictSchema):
    retired = _boolean(required=True)


class ReferrerSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()


class ReferrerInputSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(max=200))
    kind = fields.String(required=True,
                         validate=validate.OneOf(REFERRER_KINDS, error=_l("Valeur non prévue.")))
