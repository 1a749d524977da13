"""Web pages of distributions and their receipts: thin views over `distributions.services`
and `distributions.receipts`, mirroring the REST API."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from relais_platform.accounts.auth import roles_required
from relais_platform.accounts.models import Role
from relais_platform.api import paginate
from relais_platform.beneficiaries import search
from relais_platform.domain import DomainError
from relais_platform.extensions import db
from relais_platform.stock.blueprints import distributions_bp as bp
from relais_platform.stock.distributions import receipts as receipts_pdf
from relais_platform.stock.distributions import services as distributions
from relais_platform.stock.distributions.models import Programme, WarrantyOutcome
from relais_platform.stock.pages import error_messages, form_int
from relais_platform.stock.scope import local_today

STAFF = (Role.RELAIS_ADMIN, Role.RELAIS_WORKER)
NATIONAL = (Role.NATIONAL,)
PAGE_SIZE = 25
SEARCH_SIZE = 10
PROGRAMME_LABELS = {Programme.STANDARD: _l("Standard"), Programme.CONNECT_REFUGEES: _l("Connect Refugees")}
OUTCOME_LABELS = {WarrantyOutcome.RETURNED: _l("Rendu (à vérifier ou à renvoyer)"),
                  WarrantyOutcome.DEFECTIVE: _l("Défectueux")}


Page = Response | tuple[str, int] | str


def _cents(value: str | None) -> int | None:
    """A price typed in euros ("2,50") as cents; None when unreadable (the service says so)."""
    text = (value or "").strip().replace("€", "").replace(" ", "").replace(",", ".")
    try:
        return round(float(text) * 100) if text else None
    except ValueError:
        return None


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@bp.get("/")
@roles_required(*STAFF)
def index() -> Page:
    page = max(1, request.args.get("page", 1, type=int) or 1)
    items, total = paginate(distributions.query(), page, PAGE_SIZE)
    return render_template("distributions/index.html", items=items, total=total, page=page,
                           pages=max(1, -(-total // PAGE_SIZE)), programmes=PROGRAMME_LABELS,
                           title=_("Distributions"))


def _form_page(values: dict[str, Any], messages: list[str] | None = None, status: int = 200) -> Page:
    relais_id = current_user.relais_id
    held = distributions.on_hand_products(relais_id)
    product = next((p for p, _on_hand in held if p.sku == values.get("sku")), None)
    q = (values.get("q") or "").strip()
    people = search.search(q, 1, SEARCH_SIZE)[0] if q else []
    return render_template(
        "distributions/form.html", held=held, product=product, values=values, q=q, people=people,
        serials=distributions.units_at_relais(relais_id, product) if product and product.serialized else [],
        warranty_months=distributions.warranty_months(product) if product else None,
        programmes=PROGRAMME_LABELS, today=local_today(), messages=messages or [],
        title=_("Enregistrer une distribution"),
    ), status


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*STAFF)
def new() -> Page:
    if request.method == "GET":
        return _form_page(request.args.to_dict())
    form = request.form.to_dict()
    data = {
        "sku": form.get("sku"), "serial": form.get("serial") or None,
        "quantity": form_int(form.get("quantity")) if form.get("quantity") else 1,
        "price_cents": _cents(form.get("price")), "programme": form.get("programme") or None,
        "date": _date(form.get("date")), "beneficiary_id": form_int(form.get("beneficiary_id")),
    }
    try:
        distribution = distributions.record(data)
    except DomainError as exc:
        db.session.rollback()
        return _form_page(form, error_messages(exc), exc.status)
    flash(_("Distribution n° %(id)d enregistrée.", id=distribution.id), "success")
    return redirect(url_for("distributions.detail", distribution_id=distribution.id))


def _detail_page(distribution_id: int, messages: list[str] | None = None, status: int = 200) -> Page:
    distribution = distributions.get(distribution_id)
    return render_template("distributions/detail.html", d=distribution, programmes=PROGRAMME_LABELS,
                           outcomes=OUTCOME_LABELS, receipt_languages=receipts_pdf.LANGUAGE_NAMES,
                           lang_tags=receipts_pdf.LANG_TAGS,
                           messages=messages or [],
                           title=_("Distribution n° %(id)d", id=distribution.id)), status


@bp.get("/<int:distribution_id>")
@roles_required(*STAFF)
def detail(distribution_id: int) -> Page:
    return _detail_page(distribution_id)


@bp.post("/<int:distribution_id>/cancel")
@roles_required(*STAFF)
def cancel(distribution_id: int) -> Page:
    try:
        distributions.cancel(distribution_id, request.form.get("reason"))
    except DomainError as exc:
        if exc.status == 404:
            raise
        db.session.rollback()
        return _detail_page(distribution_id, error_messages(exc), exc.status)
    flash(_("Distribution n° %(id)d annulée : les articles sont revenus en stock.", id=distribution_id),
          "success")
    return redirect(url_for("distributions.detail", distribution_id=distribution_id))


@bp.post("/<int:distribution_id>/warranty-return")
@roles_required(*STAFF)
def warranty_return(distribution_id: int) -> Page:
    try:
        distributions.warranty_return(distribution_id, request.form.get("outcome", ""),
                                      request.form.get("note"))
    except DomainError as exc:
        if exc.status == 404:
            raise
        db.session.rollback()
        return _detail_page(distribution_id, error_messages(exc), exc.status)
    flash(_("Retour sous garantie enregistré."), "success")
    return redirect(url_for("distributions.detail", distribution_id=distribution_id))


def _receipt(distribution_id: int) -> receipts_pdf.Receipt:
    distribution = distributions.get(distribution_id)
    lang = request.args.get("lang", "fr")
    return receipts_pdf.build(distribution, current_user.relais,
                              lang if lang in receipts_pdf.LANGUAGES else "fr")


@bp.get("/<int:distribution_id>/receipt")
@roles_required(*STAFF)
def receipt(distribution_id: int) -> str:
    return receipts_pdf.render_html(_receipt(distribution_id), web=True)


@bp.get("/<int:distribution_id>/receipt.pdf")
@roles_required(*STAFF)
def receipt_pdf(distribution_id: int) -> Response:
    built = _receipt(distribution_id)
    return Response(receipts_pdf.render_pdf(built), mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{receipts_pdf.filename(built.distribution, built.lang)}"'})


@bp.app_template_filter("programme_label")
def _programme_label(programme: Programme | str) -> str:
    return str(PROGRAMME_LABELS.get(Programme(programme), programme))
