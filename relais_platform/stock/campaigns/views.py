"""Pages of emergency campaigns: the national team's list, creation and split; the relais'
needs; the home-page notice of the campaigns open to a relais."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from relais_platform.accounts.auth import roles_required
from relais_platform.accounts.models import Role
from relais_platform.domain import DomainError, NotFound
from relais_platform.extensions import db
from relais_platform.stock.blueprints import stock_bp as bp
from relais_platform.stock.campaigns import services as campaigns
from relais_platform.stock.pages import (
    PAGE_SIZE,
    Page,
    discard_refused,
    error_messages,
    form_int,
    page_number,
)
from relais_platform.stock.scope import local_today, open_national_scope
from relais_platform.stock.warehouse.views import _product_choices
from relais_platform.tenants.models import Relais

READERS = (Role.NATIONAL, Role.RELAIS_ADMIN, Role.RELAIS_WORKER)


def campaign_notices() -> list[tuple[str, str]]:
    """The campaigns a relais may declare needs to, for its home page."""
    if current_user.role != Role.RELAIS_ADMIN:
        return []
    relais = db.session.get(Relais, current_user.relais_id)
    return [(_("Campagne d'urgence « %(name)s » : déclarez vos besoins avant le %(day)s.", name=c.name,
               day=c.closes_on.strftime("%d/%m/%Y")), url_for("stock.campaign_detail", campaign_id=c.id))
            for c in (campaigns.open_for_relais(relais) if relais else [])]


@bp.app_context_processor
def _home_notices() -> dict[str, Any]:
    return {"campaign_notices": campaign_notices}


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        return None


def _list_page(messages: list[str] | None = None, values: dict[str, str] | None = None,
               code: int = 200) -> Page:
    if current_user.role == Role.NATIONAL:
        open_national_scope(_("campagnes d'urgence"))
        page = page_number()
        rows, total = campaigns.query(page, PAGE_SIZE)
    else:
        relais = db.session.get(Relais, current_user.relais_id)
        rows, total, page = (campaigns.open_for_relais(relais) if relais else []), 0, 1
    return render_template("stock/campaigns.html", campaigns=rows, page=page,
                           pages=max(1, -(-total // PAGE_SIZE)), messages=messages or [],
                           values=values or {}, skus=_product_choices() if current_user.role == Role.NATIONAL
                           else [], title=_("Campagnes d'urgence")), code


@bp.get("/campaigns")
@roles_required(*READERS)
def campaign_list() -> Page:
    return _list_page()


@bp.post("/campaigns")
@roles_required(Role.NATIONAL)
def campaign_create() -> Page:
    form = request.form
    products = [{"sku": sku, "quantity": form_int(form.get(f"quantity-{index}"))}
                for index, sku in enumerate(form.getlist("sku")) if sku]
    opens_on, closes_on = _date(form.get("opens_on")), _date(form.get("closes_on"))
    if opens_on is None or closes_on is None:
        return _list_page([_("Indiquez les dates d'ouverture et de clôture.")], form.to_dict(), 422)
    eligible = {"kinds": [k for k in form.getlist("kinds") if k],
                "departements": [d.strip() for d in (form.get("departements") or "").split(",") if d.strip()]}
    try:
        campaign = campaigns.create(form.get("name"), products, opens_on, closes_on, eligible,
                                    free=bool(form.get("free")))
    except DomainError as exc:
        discard_refused()
        return _list_page(error_messages(exc), form.to_dict(), exc.status)
    flash(_("Campagne « %(name)s » créée.", name=campaign.name), "success")
    return redirect(url_for("stock.campaign_detail", campaign_id=campaign.id))


def _detail_page(campaign_id: int, messages: list[str] | None = None, code: int = 200) -> Page:
    national = current_user.role == Role.NATIONAL
    if national:
        open_national_scope(_("consultation d'une campagne"))
        campaign, need = campaigns.get(campaign_id), None
    else:
        campaign = campaigns.get(campaign_id)
        relais = db.session.get(Relais, current_user.relais_id)
        if relais is None or not campaigns.is_eligible(campaign, relais):
            raise NotFound(_("Campagne introuvable."))
        need = campaigns.need_of(campaign, relais.id)
    proposal = None
    if national and campaign.status.value == "open" and local_today() > campaign.closes_on:
        proposal = campaigns.proposal(campaign_id)
    declared = {line.product.sku: line.quantity for line in need.lines} if need else {}
    return render_template("stock/campaign.html", campaign=campaign, need=need, proposal=proposal,
                           declared=declared,
                           messages=messages or [], national=national,
                           title=_("Campagne « %(name)s »", name=campaign.name)), code


@bp.get("/campaigns/<int:campaign_id>")
@roles_required(*READERS)
def campaign_detail(campaign_id: int) -> Page:
    return _detail_page(campaign_id)


@bp.post("/campaigns/<int:campaign_id>/needs")
@roles_required(Role.RELAIS_ADMIN)
def campaign_needs(campaign_id: int) -> Page:
    lines = [{"sku": sku, "quantity": form_int(request.form.get(f"need-{sku}")) or 0}
             for sku in request.form.getlist("sku")]
    try:
        campaigns.declare(campaign_id, lines, request.form.get("comment"))
    except DomainError as exc:
        discard_refused()
        if exc.status == 404:
            raise
        return _detail_page(campaign_id, error_messages(exc), exc.status)
    flash(_("Besoins enregistrés."), "success")
    return redirect(url_for("stock.campaign_detail", campaign_id=campaign_id))


@bp.post("/campaigns/<int:campaign_id>/confirm")
@roles_required(Role.NATIONAL)
def campaign_confirm(campaign_id: int) -> Page:
    try:
        created = campaigns.confirm(campaign_id)
    except DomainError as exc:
        discard_refused()
        if exc.status == 404:
            raise
        return _detail_page(campaign_id, error_messages(exc), exc.status)
    flash(_("%(count)d commande(s) créée(s) et allouée(s).", count=len(created)), "success")
    return redirect(url_for("stock.campaign_detail", campaign_id=campaign_id))
