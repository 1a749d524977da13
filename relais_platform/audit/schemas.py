"""Marshmallow schemas of the audit log API."""

from __future__ import annotations

from datetime import date
from typing import Any

from marshmallow import Schema, fields, post_load, validate

from relais_platform.api import PaginationArgs
from relais_platform.audit.services import AuditFilters

_ID = validate.Range(min=1, max=2**63 - 1)
_DAY = validate.Range(min=date(2000, 1, 1), max=date(2100, 12, 31))


class AuditFilterSchema(Schema):
    beneficiary_id = fields.Integer(validate=_ID,
                                    metadata={"description": "Entrées sur cette personne"})
    user_id = fields.Integer(validate=_ID, metadata={"description": "Entrées de cet utilisateur"})
    action = fields.String(validate=validate.Length(min=1, max=64))
    date_from = fields.Date(data_key="from", validate=_DAY,
                            metadata={"description": "Depuis ce jour (inclus)"})
    date_to = fields.Date(data_key="to", validate=_DAY,
                          metadata={"description": "Jusqu'à ce jour (inclus)"})

    @post_load
    def _filters(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        keys = ("beneficiary_id", "user_id", "action", "date_from", "date_to")
        rest = {key: value for key, value in data.items() if key not in keys}
        return {**rest, "filters": AuditFilters(**{key: data.get(key) for key in keys})}


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
