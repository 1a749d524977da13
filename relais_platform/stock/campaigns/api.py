"""REST API of emergency campaigns: the national team sets them up, splits and confirms;
eligible relais declare their needs."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user

from relais_platform.accounts.models import Role
from relais_platform.api import PaginationArgs, api_access, pagination_headers
from relais_platform.domain import NotFound
from relais_platform.extensions import db
from relais_platform.stock.blueprints import stock_blp as blp
from relais_platform.stock.campaigns import services as campaigns
from relais_platform.stock.campaigns.models import Campaign, CampaignNeed
from relais_platform.stock.campaigns.schemas import (
    CampaignInSchema,
    CampaignSchema,
    ConfirmedSchema,
    NeedInSchema,
    NeedSchema,
    ProposedLineSchema,
)
from relais_platform.stock.scope import open_national_scope
from relais_platform.tenants.models import Relais
from relais_platform.tenants.schemas import PAGINATION_HEADERS, error_responses

READERS = (Role.NATIONAL, Role.RELAIS_ADMIN, Role.RELAIS_WORKER)


def _visible(campaign_id: int) -> tuple[Campaign, CampaignNeed | None]:
    """Any campaign for the national team; for a relais, one it is eligible to (else 404)."""
    if current_user.role == Role.NATIONAL:
        open_national_scope("consultation d'une campagne")
        return campaigns.get(campaign_id), None
    campaign = campaigns.get(campaign_id)
    relais = db.session.get(Relais, current_user.relais_id)
    if relais is None or not campaigns.is_eligible(campaign, relais):
        raise NotFound(_("Campagne introuvable."))
    return campaign, campaigns.need_of(campaign, relais.id)


def _payload(campaign: Campaign, need: CampaignNeed | None) -> dict[str, Any]:
    return {**{key: getattr(campaign, key) for key in ("id", "name", "opens_on", "closes_on", "free",
                                                       "eligible", "status", "confirmed_at", "products")},
            "need": need}


@blp.route("/campaigns")
class Campaigns(MethodView):
    @api_access(*READERS)
    @blp.arguments(PaginationArgs, location="query")
    @blp.response(200, CampaignSchema(many=True), headers=PAGINATION_HEADERS)
    @error_responses(blp, 401, 403)
    def get(self, args: dict[str, Any]):
        """Campagnes d'urgence : toutes (national), celles ouvertes à votre relais (relais)."""
        page, per_page = args["page"], args["per_page"]
        if current_user.role == Role.NATIONAL:
            open_national_scope("liste des campagnes d'urgence")
            rows, total = campaigns.query(page, per_page)
            return [_payload(c, None) for c in rows], pagination_headers(total, page, per_page)
        relais = db.session.get(Relais, current_user.relais_id)
        rows = campaigns.open_for_relais(relais) if relais else []
        shown = rows[(page - 1) * per_page: page * per_page]
        return ([_payload(c, campaigns.need_of(c, relais.id)) for c in shown] if relais else [],
                pagination_headers(len(rows), page, per_page))

    @api_access(Role.NATIONAL)
    @blp.arguments(CampaignInSchema)
    @blp.response(201, CampaignSchema)
    @error_responses(blp, 401, 403)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Créer une campagne d'urgence : produits et quantités, dates, relais éligibles (national)."""
        campaign = campaigns.create(data["name"], data["products"], data["opens_on"], data["closes_on"],
                                    data["eligible"], free=data["free"])
        return _payload(campaign, None)


@blp.route("/campaigns/<int:campaign_id>")
class CampaignById(MethodView):
    @api_access(*READERS)
    @blp.response(200, CampaignSchema)
    @error_responses(blp, 401, 403, 404)
    def get(self, campaign_id: int) -> dict[str, Any]:
        """Une campagne (et, pour un relais éligible, les besoins qu'il a déclarés)."""
        return _payload(*_visible(campaign_id))


@blp.route("/campaigns/<int:campaign_id>/needs", methods=["POST"])
@api_access(Role.RELAIS_ADMIN)
@blp.arguments(NeedInSchema)
@blp.response(200, NeedSchema)
@error_responses(blp, 401, 403, 404, 409)
def declare_needs(data: dict[str, Any], campaign_id: int) -> CampaignNeed:
    """Déclarer (ou corriger) les besoins du relais, jusqu'à la date de clôture."""
    _visible(campaign_id)
    return campaigns.declare(campaign_id, data["lines"], data.get("comment"))


@blp.route("/campaigns/<int:campaign_id>/proposal", methods=["GET"])
@api_access(Role.NATIONAL)
@blp.response(200, ProposedLineSchema(many=True))
@error_responses(blp, 401, 403, 404, 409)
def campaign_proposal(campaign_id: int) -> list[Any]:
    """Après la clôture : répartition équitable proposée des quantités entre les besoins."""
    return campaigns.proposal(campaign_id)


@blp.route("/campaigns/<int:campaign_id>/confirm", methods=["POST"])
@api_access(Role.NATIONAL)
@blp.response(200, ConfirmedSchema)
@error_responses(blp, 401, 403, 404, 409)
def confirm_campaign(campaign_id: int) -> dict[str, Any]:
    """Confirmer la répartition : une commande par relais, soumise et allouée (gratuite si la
    campagne l'est), prête à l'expédition."""
    return {"order_ids": campaigns.confirm(campaign_id)}
