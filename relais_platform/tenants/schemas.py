"""Marshmallow schemas of the relais API, and OpenAPI pieces shared by the API blueprints.

Schemas check shapes (types, enums, formats); the services keep the business rules (SIRET
key and uniqueness, French postcodes, lifecycle moves) and report them on the same fields.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from relais_platform.api import PaginationArgs
from relais_platform.tenants.models import Dimension, RelaisKind, RelaisStatus

# The headers set by `relais_platform.api.pagination_headers` on every list.
PAGINATION_HEADERS = {
    "X-Pagination": {
        "description": 'JSON: {"total", "page", "per_page", "last_page"}',
        "schema": {"type": "string"},
    },
    "X-Total-Count": {"description": "Nombre total d'éléments", "schema": {"type": "integer"}},
}


def error_responses(blp: Blueprint, *codes: int) -> Any:
    """Document error responses of an operation (all in the JSON error format)."""

    def decorator(func: Any) -> Any:
        for code in codes:
            func = blp.alt_response(code, response=HTTPStatus(code).name)(func)
        return func

    return decorator


def _text(max_length: int, **kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=max_length), **kwargs)


class RelaisRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class RelaisSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.Enum(RelaisKind, by_value=True)
    siret = fields.String()
    address = fields.String(allow_none=True)
    postcode = fields.String()
    city = fields.String()
    departement = fields.String()
    region = fields.String()
    # Stored as plain strings (a PostgreSQL array); OneOf documents the values.
    dimensions = fields.List(fields.String(validate=validate.OneOf([d.value for d in Dimension])))
    status = fields.Enum(RelaisStatus, by_value=True)
    contact_name = fields.String(allow_none=True)
    contact_email = fields.String(allow_none=True)
    contact_phone = fields.String(allow_none=True)
    coach_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    status_changed_at = fields.DateTime()
    terms_accepted_at = fields.DateTime(allow_none=True)


def _siret(**kwargs: Any) -> fields.String:
    return fields.String(
        validate=validate.Regexp(
            r"^\d{14}$", error=_l("Le SIRET doit comporter 14 chiffres avec une clé de contrôle valide.")
        ),
        metadata={"description": "14 chiffres avec une clé de Luhn valide ; unique dans le réseau"},
        **kwargs,
    )


def _postcode(**kwargs: Any) -> fields.String:
    return fields.String(
        validate=validate.Regexp(r"^\d{5}$", error=_l("Code postal français invalide.")),
        metadata={"description": "Code postal français"},
        **kwargs,
    )


def _dimensions(**kwargs: Any) -> fields.List:
    return fields.List(
        fields.Enum(Dimension, by_value=True),
        validate=validate.Length(min=1, error=_l("Choisissez au moins une dimension.")),
        **kwargs,
    )


class RelaisProfileSchema(Schema):
    """Profile fields as sent by clients (all optional: the PATCH form)."""

    name = _text(200)
    kind = fields.Enum(RelaisKind, by_value=True)
    siret = _siret()
    address = fields.String(allow_none=True, validate=validate.Length(max=300))
    postcode = _postcode()
    city = _text(120)
    dimensions = _dimensions()
    contact_name = fields.String(allow_none=True, validate=validate.Length(max=200))
    contact_email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    contact_phone = fields.String(allow_none=True, validate=validate.Length(max=30))


class RelaisCreateSchema(RelaisProfileSchema):
    name = _text(200, required=True)
    kind = fields.Enum(RelaisKind, by_value=True, required=True)
    siret = _siret(required=True)
    postcode = _postcode(required=True)
    city = _text(120, required=True)
    dimensions = _dimensions(required=True)


class RelaisUpdateSchema(RelaisProfileSchema):
    status = fields.Enum(
        RelaisStatus,
        by_value=True,
        metadata={"description": "National uniquement ; transitions : applied → active | rejected, "
                                 "active → suspended | closed, suspended → active | closed"},
    )


class RelaisQueryArgs(PaginationArgs):
    status = fields.Enum(RelaisStatus, by_value=True)
    kind = fields.Enum(RelaisKind, by_value=True)
    departement = fields.String(validate=validate.Regexp(r"^(\d{2,3}|2[AB])$"),
                                metadata={"description": "Code du département (33, 2A, 974…)"})
    q = fields.String(validate=validate.Length(max=100),
                      metadata={"description": "Recherche dans le nom, la ville ou le SIRET"})
