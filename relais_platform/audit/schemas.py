"""Marshmallow schemas of the audit log API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from relais_platform.api import DayRangeFilterArgs, PaginationArgs
from relais_platform.audit.services import AuditFilters

_ID = validate.Range(min=1, max=2**63 - 1)


class AuditFilterSchema(DayRangeFilterArgs):
    filters_class = AuditFilters

    beneficiary_id = fields.Integer(validate=_ID,
                                    metadata={"description": "Entrées sur cette personne"})
    user_id = fields.Integer(validate=_ID, metadata={"description": "Entrées de cet utilisateur"})
    action = fields.String(validate=validate.Length(min=1, max=64))


class AuditArgs(PaginationArgs, AuditFilterSchema):
    pass


class AuditEntrySchema(Schema):
    id = fields.Integer()
    occurred_at = fields.DateTime()
    actor_id = fields.Integer(allow_none=True)
    actor_name = fields.String(allow_none=True)
    ip = fields.String(allow_none=True)
    relais_id = fields.Integer(allow_none=True)
    action = fields.String()
    target_type = fields.String(allow_none=True)
    target_id = fields.Integer(allow_none=True)
    details = fields.Dict()
    action_label = fields.String(metadata={
        "description": "L'action en mots, dans la langue du lecteur (sans libellé : le code)"})
    target_label = fields.String(allow_none=True, metadata={
        "description": "Le type d'objet en mots, dans la langue du lecteur (sans libellé : le code)"})
