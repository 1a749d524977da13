"""REST API of the audit log: a relais admin reads its relais' log, national the network's."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from relais_platform.accounts.models import Role
from relais_platform.api import api_access, paginate, pagination_headers
from relais_platform.audit import services as audit
from relais_platform.audit.labels import action_label, target_label
from relais_platform.audit.models import AuditEntry
from relais_platform.audit.schemas import AuditArgs, AuditEntrySchema, AuditFilterSchema
from relais_platform.tenants.schemas import PAGINATION_HEADERS, error_responses

blp = Blueprint("audit_api", __name__, description="Journal d'audit")


def _payload(entries: list[AuditEntry]) -> list[dict[str, Any]]:
    names = audit.actor_names(entries)
    return [{
        "id": e.id, "occurred_at": e.occurred_at, "actor_id": e.actor_id,
        "actor_name": names.get(e.actor_id or 0), "ip": str(e.ip) if e.ip else None,
        "relais_id": e.relais_id, "action": e.action, "target_type": e.target_type,
        "target_id": e.target_id, "details": e.details, "action_label": action_label(e.action),
        "target_label": target_label(e.target_type) or None,
    } for e in entries]


@blp.route("/audit")
class AuditLog(MethodView):
    @api_access(Role.RELAIS_ADMIN, Role.NATIONAL)
    @blp.arguments(AuditArgs, location="query")
    @blp.response(200, AuditEntrySchema(many=True), headers=PAGINATION_HEADERS)
    @error_responses(blp, 401, 403, 422)
    def get(self, args: dict[str, Any]):
        """Le journal d'audit, le plus récent d'abord.

        Administrateur d'un relais : tout le journal de son relais (consultations, exports,
        modifications et effacements des fiches des personnes, connexions de l'équipe).
        National : les entrées du réseau (relais, rôles, connexions du national et des coachs),
        jamais une entrée qui désigne une personne.
        """
        stmt = audit.log_query(current_user, args["filters"])
        items, total = paginate(stmt, args["page"], args["per_page"])
        return _payload(items), pagination_headers(total, args["page"], args["per_page"])


@blp.route("/audit/export")
class AuditExport(MethodView):
    @api_access(Role.RELAIS_ADMIN, Role.NATIONAL)
    @blp.arguments(AuditFilterSchema, location="query")
    @blp.response(200, content_type="text/csv")
    @error_responses(blp, 401, 403, 422)
    def get(self, args: dict[str, Any]) -> Response:
        """Le journal filtré en CSV (séparateur `;`, formules neutralisées)."""
        return Response(audit.log_csv(current_user, args["filters"]), mimetype="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="journal-audit.csv"',
                                 "Cache-Control": "no-store"})
