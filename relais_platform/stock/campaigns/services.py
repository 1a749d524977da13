"""Emergency campaigns (e.g. « 20 000 kits d'urgence numérique » for refugee families).

The national team sets stock aside for an operation and says which relais may take part
(kinds, départements, named relais: every criterion given must hold). Between the opening
and closing dates, each eligible relais declares its needs (editable until the closing
date). Once closed, the national team gets a fair split of the campaign's quantities across
the needs — the orders' fair-split rule (`orders.allocation.fair_split`) — and confirms it:
one order per relais is created, submitted and allocated at once (free of charge when the
campaign says so), ready to ship.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from relais_platform.domain import Conflict, Forbidden, NotFound, ValidationFailed
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.stock.campaigns.models import (
    Campaign,
    CampaignNeed,
    CampaignNeedLine,
    CampaignProduct,
    CampaignStatus,
)
from relais_platform.stock.catalogue.models import Product
from relais_platform.stock.orders import allocation
from relais_platform.stock.orders import services as orders
from relais_platform.stock.scope import bound_relais_id, local_today, national_scope
from relais_platform.tenants.models import Relais, RelaisKind, RelaisStatus

MAX_NAME = 200
MAX_QUANTITY = 1_000_000
MAX_COMMENT = 2000


def departement(postcode: str) -> str:
    """The département of a French postcode (97x/98x overseas, 20 for Corsica)."""
    return postcode[:3] if postcode.startswith(("97", "98")) else postcode[:2]


def is_eligible(campaign: Campaign, relais: Relais) -> bool:
    rules = campaign.eligible or {}
    return (relais.status == RelaisStatus.ACTIVE
            and (not rules.get("kinds") or relais.kind.value in rules["kinds"])
            and (not rules.get("departements") or departement(relais.postcode) in rules["departements"])
            and (not rules.get("relais_ids") or relais.id in rules["relais_ids"]))


# --- the national team -------------------------------------------------------------------


def create(name: Any, products: Iterable[Mapping[str, Any]], opens_on: date, closes_on: date,
           eligible: Mapping[str, Any] | None, *, free: bool = True) -> Campaign:
    national_scope(_("création d'une campagne d'urgence"))
    errors: dict[str, list[str]] = {}
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > MAX_NAME:
        errors["name"] = [_("Indiquez un nom (%(max)d caractères au plus).", max=MAX_NAME)]
    if opens_on > closes_on:
        errors["closes_on"] = [_("La clôture doit suivre l'ouverture.")]
    specs = [(str(spec.get("sku") or "").strip().upper(), spec.get("quantity")) for spec in products]
    skus = [sku for sku, _quantity in specs]
    found = {p.sku: p for p in db.session.scalars(select(Product).where(Product.sku.in_(skus)))}
    lines: list[CampaignProduct] = []
    for sku, quantity in specs:
        if sku not in found:
            errors.setdefault("products", []).append(_("Référence inconnue : %(sku)s.", sku=sku))
        elif any(line.product_id == found[sku].id for line in lines):
            errors.setdefault("products", []).append(_("%(sku)s apparaît deux fois.", sku=sku))
        elif isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 < quantity <= MAX_QUANTITY:
            errors.setdefault("products", []).append(_("%(sku)s : quantité entre 1 et %(max)d attendue.",
                                                       sku=sku, max=MAX_QUANTITY))
        else:
            lines.append(CampaignProduct(product_id=found[sku].id, quantity=quantity))
    if not specs:
        errors["products"] = [_("Indiquez au moins un produit.")]
    rules = dict(eligible or {})
    kinds = {kind.value for kind in RelaisKind}
    if bad := [kind for kind in rules.get("kinds") or [] if kind not in kinds]:
        errors["eligible"] = [_("Types de relais inconnus : %(kinds)s.", kinds=", ".join(map(str, bad)))]
    if errors:
        raise ValidationFailed(errors)
    campaign = Campaign(name=name, opens_on=opens_on, closes_on=closes_on, free=free, products=lines,
                        eligible={key: list(value) for key, value in rules.items() if value},
                        status=CampaignStatus.OPEN)
    db.session.add(campaign)
    db.session.flush()
    return campaign


def get(campaign_id: int) -> Campaign:
    campaign = db.session.scalar(select(Campaign).where(Campaign.id == campaign_id)
                                 .options(selectinload(Campaign.products)))
    if campaign is None:
        raise NotFound(_("Campagne introuvable."))
    return campaign


def query(page: int, per_page: int) -> tuple[list[Campaign], int]:
    stmt = select(Campaign)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.scalars(stmt.options(selectinload(Campaign.products))
                              .order_by(Campaign.closes_on.desc(), Campaign.id.desc())
                              .limit(per_page).offset((page - 1) * per_page))
    return list(rows), total


@dataclass(frozen=True)
class ProposedLine:
    relais_id: int
    relais_name: str
    sku: str
    needed: int
    proposed: int


def _needs(campaign: Campaign) -> list[CampaignNeed]:
    return list(db.session.scalars(
        select(CampaignNeed).where(CampaignNeed.campaign_id == campaign.id)
        .options(selectinload(CampaignNeed.lines)).order_by(CampaignNeed.updated_at, CampaignNeed.id)))


def proposal(campaign_id: int) -> list[ProposedLine]:
    """After closing: each product's quantity (within the national stock available) split
    fairly across the declared needs."""
    national_scope(_("proposition de répartition d'une campagne"))
    campaign = get(campaign_id)
    if local_today() <= campaign.closes_on:
        raise Conflict(_("La campagne « %(name)s » est ouverte jusqu'au %(day)s : la répartition vient "
                         "après.", name=campaign.name, day=campaign.closes_on.strftime("%d/%m/%Y")))
    needs = _needs(campaign)
    names = dict(db.session.execute(select(Relais.id, Relais.name).where(
        Relais.id.in_([need.relais_id for need in needs]))).tuples().all())
    available = orders.available_by_product(item.product_id for item in campaign.products)
    proposed: list[ProposedLine] = []
    for item in campaign.products:
        # A need stands for an order in the fair-split rule (one per relais).
        claims = [allocation.Claim(order_id=need.id, relais_id=need.relais_id,
                                   relais_name=names[need.relais_id], created_at=need.updated_at,
                                   requested=line.quantity)
                  for need in needs for line in need.lines if line.product_id == item.product_id]
        if not claims:
            continue
        capacity = min(item.quantity, max(0, available.get(item.product_id, 0)))
        shares, _weights, _level = allocation.fair_split(
            capacity, claims, allocation.distributions(item.product, [c.relais_id for c in claims]))
        proposed.extend(ProposedLine(c.relais_id, c.relais_name, item.product.sku, c.requested,
                                     shares[c.order_id]) for c in claims)
    return sorted(proposed, key=lambda line: (line.relais_name, line.relais_id, line.sku))


def confirm(campaign_id: int) -> list[int]:
    """Create, submit and allocate one order per relais with the proposed quantities;
    returns the orders' ids."""
    split = proposal(campaign_id)
    campaign = get(campaign_id)
    if campaign.status != CampaignStatus.OPEN:
        raise Conflict(_("La répartition de la campagne « %(name)s » est déjà confirmée.",
                         name=campaign.name))
    needs = {need.relais_id: need for need in _needs(campaign)}
    by_relais: dict[int, list[ProposedLine]] = {}
    for line in split:
        if line.proposed:
            by_relais.setdefault(line.relais_id, []).append(line)
    created = []
    note = _("Campagne d'urgence « %(name)s »", name=campaign.name)
    relais = {r.id: r for r in db.session.scalars(select(Relais).where(Relais.id.in_(list(by_relais))))}
    for relais_id, lines in sorted(by_relais.items()):
        order = orders.create_order(relais[relais_id], [(line.sku, line.proposed) for line in lines],
                                    placed_by_national=True, note=note)
        orders.submit(order, confirm_unusual=True)
        if campaign.free:
            for order_line in order.lines:
                order_line.unit_price_cents = 0
        allocation.allocate(order, {line.sku: line.proposed for line in lines})
        needs[relais_id].order_id = order.id
        created.append(order.id)
    campaign.status, campaign.confirmed_at = CampaignStatus.CONFIRMED, utcnow()
    return created


# --- the relais ----------------------------------------------------------------------------


def open_for_relais(relais: Relais) -> list[Campaign]:
    """Campaigns open today to which this relais may declare needs."""
    today = local_today()
    campaigns = db.session.scalars(
        select(Campaign).where(Campaign.status == CampaignStatus.OPEN, Campaign.opens_on <= today,
                               Campaign.closes_on >= today)
        .options(selectinload(Campaign.products)).order_by(Campaign.closes_on, Campaign.id))
    return [campaign for campaign in campaigns if is_eligible(campaign, relais)]


def need_of(campaign: Campaign, relais_id: int) -> CampaignNeed | None:
    return db.session.scalar(select(CampaignNeed).where(CampaignNeed.campaign_id == campaign.id,
                                                        CampaignNeed.relais_id == relais_id)
                             .options(selectinload(CampaignNeed.lines)))


def declare(campaign_id: int, lines: Iterable[Mapping[str, Any]], comment: Any) -> CampaignNeed:
    """The relais admin declares (or corrects) the relais' needs, until the closing date."""
    relais_id = bound_relais_id()
    campaign = get(campaign_id)
    relais = db.session.get(Relais, relais_id)
    if relais is None or not is_eligible(campaign, relais):
        raise Forbidden(_("Votre relais ne fait pas partie de cette campagne."))
    today = local_today()
    if campaign.status != CampaignStatus.OPEN or not campaign.opens_on <= today <= campaign.closes_on:
        raise Conflict(_("La campagne « %(name)s » n'accepte pas de besoins en ce moment (du %(start)s au "
                         "%(end)s).", name=campaign.name, start=campaign.opens_on.strftime("%d/%m/%Y"),
                         end=campaign.closes_on.strftime("%d/%m/%Y")))
    offered = {item.product.sku: item for item in campaign.products}
    errors: dict[str, list[str]] = {}
    wanted: dict[int, int] = {}
    for spec in lines:
        sku, quantity = str(spec.get("sku") or "").strip().upper(), spec.get("quantity")
        if sku not in offered:
            errors[sku or "sku"] = [_("%(sku)s ne fait pas partie de la campagne.", sku=sku)]
        elif isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 <= quantity <= MAX_QUANTITY:
            errors[sku] = [_("%(sku)s : quantité entre 0 et %(max)d attendue.", sku=sku, max=MAX_QUANTITY)]
        elif offered[sku].product_id in wanted:
            errors[sku] = [_("%(sku)s apparaît deux fois.", sku=sku)]
        else:
            wanted[offered[sku].product_id] = quantity
    if errors:
        raise ValidationFailed(errors)
    need = need_of(campaign, relais_id) or CampaignNeed(relais_id=relais_id, campaign_id=campaign.id)
    for line in list(need.lines):
        need.lines.remove(line)
    db.session.add(need)
    db.session.flush()
    need.lines = [CampaignNeedLine(relais_id=relais_id, product_id=pid, quantity=qty)
                  for pid, qty in sorted(wanted.items()) if qty]
    text = comment.strip() if isinstance(comment, str) else ""
    need.comment = text[:MAX_COMMENT] or None
    need.updated_at = utcnow()
    db.session.flush()
    return need
