"""REST API for relais: the list each role may see, creation, profile and status changes.

A relais outside the caller's reach (another tenant, outside a coach's portfolio) is
answered 404 before any role check, so that its existence never leaks.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint, abort

from relais_platform.accounts.models import Role
from relais_platform.api import api_access, paginate, pagination_headers
from relais_platform.tabular.http import exportable
from relais_platform.tenants import services as tenants
from relais_platform.tenants.models import Relais
from relais_platform.tenants.schemas import (
    PAGINATION_HEADERS,
    RelaisCreateSchema,
    RelaisQueryArgs,
    RelaisSchema,
    RelaisUpdateSchema,
    error_responses,
)

blp = Blueprint("relais", __name__, description="Relais (structures partenaires)")

# What a relais admin may keep up to date on its own relais.
ADMIN_EDITABLE = frozenset({"address", "contact_name", "contact_email", "contact_phone"})


@blp.route("/relais")
class RelaisCollection(MethodView):
    @api_access()
    @blp.arguments(RelaisQueryArgs, location="query")
    @blp.response(200, RelaisSchema(many=True), headers=PAGINATION_HEADERS)
    @error_responses(blp, 401)
    @exportable(RelaisSchema, "relais")
    def get(self, args: dict[str, Any]):
        """Relais visibles : tous (national), le portefeuille (coach), le sien (relais)."""
        filters = tenants.RelaisFilters(
            status=args.get("status"), kind=args.get("kind"),
            departement=args.get("departement"), q=args.get("q"),
        )
        page, per_page = args["page"], args["per_page"]
        items, total = paginate(tenants.visible_relais_query(current_user, filters), page, per_page)
        return items, pagination_headers(total, page, per_page)

    @api_access(Role.NATIONAL)
    @blp.arguments(RelaisCreateSchema)
    @blp.response(201, RelaisSchema)
    @error_responses(blp, 400, 401, 403)
    def post(self, data: dict[str, Any]) -> Relais:
        """Créer un relais actif (national)."""
        return tenants.create_relais(data)


@blp.route("/relais/<int:relais_id>")
class RelaisItem(MethodView):
    @api_access()
    @blp.response(200, RelaisSchema)
    @error_responses(blp, 401, 404)
    def get(self, relais_id: int) -> Relais:
        """Un relais visible par l'utilisateur."""
        return tenants.get_visible_relais(current_user, relais_id)

    @api_access()
    @blp.arguments(RelaisUpdateSchema)
    @blp.response(200, RelaisSchema)
    @error_responses(blp, 400, 401, 403, 404)
    def patch(self, data: dict[str, Any], relais_id: int) -> Relais:
        """Modifier un relais : tout champ et le statut (national) ; adresse et contact (son admin)."""
        relais = tenants.get_visible_relais(current_user, relais_id)
        if current_user.role == Role.RELAIS_ADMIN:
            refused = sorted(set(data) - ADMIN_EDITABLE)
            if refused:
                message = _("Seul le national peut modifier ce champ.")
                abort(403, message=message, errors={name: [message] for name in refused})
        elif current_user.role != Role.NATIONAL:
            abort(403, message=_("Votre rôle ne permet pas cette action."))
        status = data.pop("status", None)
        tenants.update_relais(relais, data)
        if status is not None:
            tenants.change_status(relais, status)
        return relais
