"""Web pages of distributions and their receipts: thin views over `distributions.services`
and `distributions.receipts`, mirroring the REST API."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from relais_platform.accounts.auth import roles_required
from relais_platform.accounts.models import Role
from relais_platform.api import paginate
from relais_platform.beneficiaries import registry, search
from relais_platform.domain import DomainError
from relais_platform.extensions import db
from relais_platform.stock.blueprints import distributions_bp as bp
from relais_platform.stock.distributions import handovers, recharges
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


Page = BaseResponse | tuple[str, int] | str


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
    spares = (distributions.units_at_relais(distribution.relais_id, distribution.product)
              if distribution.unit_id and distribution.warranty_ends_on else [])
    return render_template("distributions/detail.html", d=distribution, programmes=PROGRAMME_LABELS,
                           spares=spares, exchange=distributions.exchange_of(distribution),
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


@bp.post("/<int:distribution_id>/warranty-exchange")
@roles_required(*STAFF)
def warranty_exchange(distribution_id: int) -> Page:
    try:
        exchange = distributions.warranty_exchange(distribution_id, request.form.get("replacement_serial"),
                                                   request.form.get("outcome", ""))
    except DomainError as exc:
        if exc.status == 404:
            raise
        db.session.rollback()
        return _detail_page(distribution_id, error_messages(exc), exc.status)
    flash(_("Échange enregistré : la personne repart avec l'appareil %(serial)s.",
            serial=exchange.unit.serial if exchange.unit else ""), "success")
    return redirect(url_for("distributions.detail", distribution_id=distribution_id))


def _receipt(distribution_id: int) -> receipts_pdf.Receipt:
    distribution = distributions.get(distribution_id)
    lang = request.args.get("lang", "fr")
    return receipts_pdf.build(distribution, current_user.relais,
                              lang if lang in receipts_pdf.LANGUAGES else "fr",
                              distributions.exchange_of(distribution))


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


# --- hand-overs: several lines to one person, from their page -------------------------------


def _handover_lines(form: Mapping[str, str], held: list[Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """The lines typed on the hand-over page, and for each the sku of the row it came from.

    One row per product held: a quantity, or the serials scanned or typed (one per line, each
    a line of the hand-over), and the unit price (pre-filled with the cap)."""
    lines: list[dict[str, Any]] = []
    rows: list[str] = []
    for product, _on_hand in held:
        price = _cents(form.get(f"price-{product.sku}"))
        if product.serialized:
            for serial in (form.get(f"serials-{product.sku}") or "").split():
                lines.append({"sku": product.sku, "serial": serial, "price_cents": price})
                rows.append(product.sku)
        elif (typed := (form.get(f"qty-{product.sku}") or "").strip()) not in ("", "0"):
            # Unreadable text goes through as is: the service names the line's quantity.
            quantity = form_int(typed)
            lines.append({"sku": product.sku, "quantity": typed if quantity is None else quantity,
                          "price_cents": price})
            rows.append(product.sku)
    return lines, rows


def _row_errors(exc: DomainError, rows: list[str]) -> dict[str, list[str]]:
    """The services name lines (`lines.2.serial`); the page shows them at the product's row."""
    found: dict[str, list[str]] = {}
    for key, messages in exc.errors.items():
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "lines" and parts[1].isdigit() and int(parts[1]) < len(rows):
            found.setdefault(rows[int(parts[1])], []).extend(messages)
    return found


def _handover_page(beneficiary_id: int, values: Mapping[str, str], messages: list[str] | None = None,
                   row_errors: dict[str, list[str]] | None = None, status: int = 200) -> Page:
    person = registry.view(beneficiary_id)  # the page shows the name: a view, audited
    return render_template(
        "distributions/handover_form.html", person=person, held=distributions.on_hand_products(
            current_user.relais_id), values=values, messages=messages or [], row_errors=row_errors or {},
        programmes=PROGRAMME_LABELS, today=local_today(),
        title=_("Remise à %(name)s", name=f"{person.first_name} {person.last_name}")), status


@bp.route("/remises/nouvelle/<int:beneficiary_id>", methods=["GET", "POST"])
@roles_required(*STAFF)
def new_handover(beneficiary_id: int) -> Page:
    if request.method == "GET":
        return _handover_page(beneficiary_id, {})
    form = request.form.to_dict()
    lines, rows = _handover_lines(form, distributions.on_hand_products(current_user.relais_id))
    try:
        handover = handovers.record({"beneficiary_id": beneficiary_id, "lines": lines,
                                     "date": _date(form.get("date")),
                                     "programme": form.get("programme") or None})
    except DomainError as exc:
        if exc.status == 404:
            raise
        db.session.rollback()
        row_errors = _row_errors(exc, rows)
        general = [m for key, ms in exc.errors.items() if not key.startswith("lines.") for m in ms
                   if key not in ("code", "connection_until")]
        return _handover_page(beneficiary_id, form, general or [exc.message], row_errors, exc.status)
    flash(ngettext("Remise enregistrée : %(num)d article.", "Remise enregistrée : %(num)d articles.",
                   len(handover.lines)), "success")
    return redirect(url_for("beneficiaries.detail", beneficiary_id=beneficiary_id, _anchor="received-title"))


def _handover_receipt(handover_id: int) -> receipts_pdf.HandoverReceipt:
    handover = handovers.get(handover_id)
    lang = request.args.get("lang") or receipts_pdf.person_language(handovers.language_of(handover))
    return receipts_pdf.build_handover(handover, current_user.relais,
                                       lang if lang in receipts_pdf.LANGUAGES else "fr")


@bp.get("/remises/<int:handover_id>/recu")
@roles_required(*STAFF)
def handover_receipt(handover_id: int) -> str:
    return receipts_pdf.render_handover_html(_handover_receipt(handover_id), web=True)


@bp.get("/remises/<int:handover_id>/recu.pdf")
@roles_required(*STAFF)
def handover_receipt_pdf(handover_id: int) -> Response:
    built = _handover_receipt(handover_id)
    return Response(receipts_pdf.render_handover_pdf(built), mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="recu-remise-{built.handover.id}-{built.lang}.pdf"'})


@bp.get("/recharges-a-echeance")
@roles_required(*STAFF)
def recharges_due() -> Page:
    within = request.args.get("within_days", 7, type=int)
    within = 7 if within is None or not 0 <= within <= recharges.MAX_WITHIN_DAYS else within
    return render_template("distributions/recharges_due.html", rows=recharges.due(within), within=within,
                           title=_("Recharges arrivant à échéance"))


@bp.app_template_filter("programme_label")
def _programme_label(programme: Programme | str) -> str:
    return str(PROGRAMME_LABELS.get(Programme(programme), programme))
