"""REST API for authentication (Bearer tokens), the signed-in user and a relais' team."""

from __future__ import annotations

from typing import Any

from flask import current_app, g
from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint, abort
from sqlalchemy import select

from relais_platform.accounts import services as accounts
from relais_platform.accounts.models import Role, User
from relais_platform.accounts.schemas import (
    MeSchema,
    NetworkSecuritySchema,
    TeamSecuritySchema,
    TokenRequestSchema,
    TokenSchema,
    UserCreateSchema,
    UserSchema,
    UserUpdateSchema,
)
from relais_platform.api import PaginationArgs, api_access, paginate, pagination_headers
from relais_platform.domain import AuthenticationFailed
from relais_platform.extensions import limiter
from relais_platform.tabular.http import exportable
from relais_platform.tenants.models import Relais
from relais_platform.tenants.schemas import PAGINATION_HEADERS, error_responses
from relais_platform.tenants.services import get_visible_relais

blp = Blueprint("auth", __name__, description="Authentification et utilisateurs")


def _token_rate_limit() -> str:
    # Per client IP, on top of the per-account lockout enforced by `accounts.authenticate`.
    return current_app.config.get("API_TOKEN_RATE_LIMIT", "20 per minute")


@blp.route("/auth/tokens")
class Tokens(MethodView):
    @limiter.limit(_token_rate_limit)
    @blp.doc(security=[])
    @blp.arguments(TokenRequestSchema)
    @blp.response(201, TokenSchema)
    @error_responses(blp, 401, 429)
    def post(self, data: dict[str, Any]) -> accounts.IssuedToken:
        """Obtenir un jeton d'accès.

        `totp` est exigé quand le compte a la double authentification (toujours pour national
        et coach). Après 5 échecs en 15 minutes pour un compte, ou trop de requêtes depuis une
        même adresse IP : 429.
        """
        user = accounts.authenticate(data["email"], data["password"], data["totp"])
        if accounts.needs_two_factor_enrolment(user):
            # The enrolment (QR code, confirmation) happens in the web interface only.
            raise AuthenticationFailed(_(
                "La double authentification est obligatoire pour votre rôle : "
                "activez-la en vous connectant à l'interface web avant d'utiliser l'API."
            ))
        return accounts.issue_api_token(user)


@blp.route("/auth/tokens/current")
class CurrentToken(MethodView):
    @api_access()
    @blp.response(204)
    @blp.alt_response(400, response="BAD_REQUEST",
                      description="Requête authentifiée par la session du navigateur, sans jeton")
    @error_responses(blp, 401)
    def delete(self) -> None:
        """Révoquer le jeton utilisé par cette requête."""
        token = g.get("api_token")
        if token is None:
            abort(400, message=_(
                "Cette requête n'utilise pas de jeton : déconnectez-vous depuis l'interface web."
            ))
        accounts.revoke_api_token(token)


@blp.route("/me")
class Me(MethodView):
    @api_access()
    @blp.response(200, MeSchema)
    @error_responses(blp, 401)
    def get(self) -> User:
        """L'utilisateur connecté."""
        return current_user._get_current_object()


def _team_relais(relais_id: int) -> Relais:
    """The relais whose team the caller manages; 404 outside their reach, 403 for other roles."""
    relais = get_visible_relais(current_user, relais_id)
    if not accounts.can_manage_team(current_user, relais.id):
        abort(403, message=_("Seuls le national et l'administrateur du relais gèrent son équipe."))
    return relais


@blp.route("/relais/<int:relais_id>/users")
class Team(MethodView):
    @api_access()
    @blp.arguments(PaginationArgs, location="query")
    @blp.response(200, UserSchema(many=True), headers=PAGINATION_HEADERS)
    @error_responses(blp, 401, 403, 404)
    @exportable(UserSchema, "utilisateurs")
    def get(self, args: dict[str, Any], relais_id: int):
        """L'équipe d'un relais (national, ou administrateur du relais)."""
        relais = _team_relais(relais_id)
        stmt = (
            select(User)
            .where(User.relais_id == relais.id)
            .order_by(User.active.desc(), User.name, User.id)
        )
        items, total = paginate(stmt, args["page"], args["per_page"])
        return items, pagination_headers(total, args["page"], args["per_page"])

    @api_access()
    @blp.arguments(UserCreateSchema)
    @blp.response(201, UserSchema)
    @error_responses(blp, 400, 401, 403, 404)
    def post(self, data: dict[str, Any], relais_id: int) -> User:
        """Inviter un membre : un e-mail avec un lien valable 7 jours lui est envoyé."""
        relais = _team_relais(relais_id)
        return accounts.invite_user(
            email=data["email"], name=data["name"], role=data["role"], relais=relais,
            invited_by=current_user._get_current_object(),
        )


@blp.route("/relais/<int:relais_id>/users/<int:user_id>")
class TeamMember(MethodView):
    @api_access()
    @blp.response(200, UserSchema)
    @error_responses(blp, 401, 403, 404)
    def get(self, relais_id: int, user_id: int) -> User:
        """Un membre de l'équipe."""
        return accounts.get_team_member(_team_relais(relais_id).id, user_id)

    @api_access()
    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserSchema)
    @error_responses(blp, 400, 401, 403, 404)
    def patch(self, data: dict[str, Any], relais_id: int, user_id: int) -> User:
        """Désactiver, réactiver un membre ou changer son rôle."""
        user = accounts.get_team_member(_team_relais(relais_id).id, user_id)
        actor = current_user._get_current_object()
        if "active" in data:
            accounts.set_active(actor, user, data["active"])
        if "role" in data:
            accounts.change_role(actor, user, data["role"])
        return user


@blp.route("/relais/<int:relais_id>/security")
class TeamSecurity(MethodView):
    @api_access()
    @blp.response(200, TeamSecuritySchema)
    @error_responses(blp, 401, 403, 404)
    def get(self, relais_id: int) -> Relais:
        """La politique de sécurité de l'équipe d'un relais (national, ou son administrateur)."""
        return _team_relais(relais_id)

    @api_access()
    @blp.arguments(TeamSecuritySchema)
    @blp.response(200, TeamSecuritySchema)
    @error_responses(blp, 401, 403, 404, 422)
    def patch(self, data: dict[str, Any], relais_id: int) -> Relais:
        """Exiger (ou non) la double authentification de toute l'équipe."""
        relais = _team_relais(relais_id)
        accounts.require_team_two_factor(current_user._get_current_object(), relais,
                                         data["require_two_factor"])
        return relais


@blp.route("/network/security")
class NetworkSecurity(MethodView):
    @api_access(Role.NATIONAL)
    @blp.response(200, NetworkSecuritySchema)
    @error_responses(blp, 401, 403)
    def get(self):
        """La politique de sécurité du réseau (national)."""
        return accounts.network_policy()

    @api_access(Role.NATIONAL)
    @blp.arguments(NetworkSecuritySchema)
    @blp.response(200, NetworkSecuritySchema)
    @error_responses(blp, 401, 403, 422)
    def patch(self, data: dict[str, Any]):
        """Exiger (ou non) la double authentification de tous les comptes qui accèdent à des
        données personnelles."""
        accounts.require_network_two_factor(current_user._get_current_object(),
                                            data["staff_two_factor_required"])
        return accounts.network_policy()
