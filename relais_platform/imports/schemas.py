"""Schemas of the imports API."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from relais_platform.api import PaginationArgs
from relais_platform.imports.models import ImportKind, ImportStatus

KINDS = [k.value for k in ImportKind]
STATUSES = [s.value for s in ImportStatus]

UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["kind", "file"],
                "properties": {
                    "kind": {"type": "string", "enum": KINDS},
                    "file": {"type": "string", "format": "binary",
                             "description": "CSV (UTF-8, ; ou ,) ou XLSX, en-tête du modèle."},
                },
            }
        }
    },
}


class ProblemSchema(Schema):
    row = fields.Integer(allow_none=True,
                         metadata={"description": "Ligne du tableur (l'en-tête est la ligne 1)."})
    column = fields.String(allow_none=True)
    message = fields.String()


class ImportSchema(Schema):
    id = fields.Integer()
    kind = fields.Enum(ImportKind, by_value=True)
    status = fields.Enum(ImportStatus, by_value=True, metadata={
        "description": "checking, checked, invalid, applying, applied, failed, ou expired (pas appliqué "
                       "dans les IMPORT_RETENTION_DAYS jours : fichier supprimé, à envoyer de nouveau)"})
    filename = fields.String()
    rows = fields.Integer()
    valid_rows = fields.Integer()
    errors = fields.List(fields.Nested(ProblemSchema))
    error_count = fields.Integer()
    warnings = fields.List(fields.Nested(ProblemSchema),
                           metadata={"description": "Lignes ignorées (personnes déjà enregistrées)."})
    created = fields.Integer()
    updated = fields.Integer()
    skipped = fields.Integer()
    progress = fields.Method("get_progress", metadata={"type": "integer"})
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)

    def get_progress(self, run: Any) -> int:
        from relais_platform.imports.services import progress_of

        return progress_of(run)


class ImportSummarySchema(ImportSchema):
    """An import in a list: its report's counts, not its lists of problems."""

    class Meta:
        exclude = ("errors", "warnings")


class ImportListArgs(PaginationArgs):
    kind = fields.String(validate=validate.OneOf(KINDS))
    status = fields.String(validate=validate.OneOf(STATUSES))
