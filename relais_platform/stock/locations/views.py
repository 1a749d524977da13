"""Pages of national locations and transfers, and of stock counts (national and relais)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from relais_platform.accounts.auth import roles_required
from relais_platform.accounts.forms import add_errors
from relais_platform.accounts.models import Role
from relais_platform.domain import DomainError, ValidationFailed
from relais_platform.stock.blueprints import stock_bp as bp
from relais_platform.stock.fields import optional_int
from relais_platform.stock.locations import stocktakes, transfers
from relais_platform.stock.locations.forms import (
    LocationForm,
    StocktakeStartForm,
    TransferForm,
)
from relais_platform.stock.locations.models import TransferStatus
from relais_platform.stock.pages import (
    NATIONAL,
    PAGE_SIZE,
    Page,
    discard_refused,
    error_messages,
    form_int,
    is_national,
    page_number,
)
from relais_platform.stock.scope import open_national_scope
from relais_platform.stock.warehouse import locations
from relais_platform.stock.warehouse.forms import REASON_LABELS
from relais_platform.stock.warehouse.models import ReasonCode
from relais_platform.stock.warehouse.views import _product_choices


@bp.app_template_filter("reason_label")
def _reason_label(code: Any) -> str:
    return str(REASON_LABELS.get(code, code))


def _locations_page(location_form: LocationForm | None = None, transfer_form: TransferForm | None = None,
                    code: int = 200) -> tuple[str, int]:
    open_national_scope(_("emplacements et transferts"))
    places = locations.all_locations()
    location_form = location_form or LocationForm(prefix="location", formdata=None)
    transfer_form = transfer_form or TransferForm(prefix="transfer", formdata=None)
    choices = [(str(place.id), place.name) for place in places if place.active]
    transfer_form.from_location_id.choices = transfer_form.to_location_id.choices = choices
    transfer_form.sku.choices = [("", _("Choisissez un produit")), *_product_choices()]
    page = page_number()
    rows, total = transfers.query(page, PAGE_SIZE)
    in_transit, _count = transfers.query(1, 200, status=TransferStatus.SHIPPED)
    return render_template(
        "stock/locations.html", places=places, transfers=rows, in_transit=in_transit, page=page,
        pages=max(1, -(-total // PAGE_SIZE)), location_form=location_form, transfer_form=transfer_form,
        title=_("Emplacements et transferts"),
    ), code


@bp.get("/locations")
@roles_required(*NATIONAL)
def locations_page() -> Page:
    return _locations_page()


@bp.post("/locations")
@roles_required(*NATIONAL)
def location_create() -> Page:
    form = LocationForm(prefix="location")
    open_national_scope(_("création d'un emplacement de stock"))
    try:
        place = locations.create(form.name.data, is_default=bool(form.is_default.data))
    except ValidationFailed as exc:
        discard_refused()
        add_errors(form, exc.errors, exc.message)
        return _locations_page(location_form=form, code=422)
    flash(_("Emplacement « %(name)s » créé.", name=place.name), "success")
    return redirect(url_for("stock.locations_page"))


@bp.get("/locations/<int:location_id>")
@roles_required(*NATIONAL)
def location_detail(location_id: int) -> Page:
    open_national_scope(_("stock d'un emplacement"))
    place = locations.find(location_id)
    page = page_number()
    movements, total = locations.movements_at(location_id, page, PAGE_SIZE)
    return render_template("stock/location.html", place=place, levels=locations.stock_at(location_id),
                           movements=movements, page=page, pages=max(1, -(-total // PAGE_SIZE)),
                           title=place.name)


@bp.post("/transfers")
@roles_required(*NATIONAL)
def transfer_ship() -> Page:
    form = TransferForm(prefix="transfer")
    try:
        transfer = transfers.ship(*form.service_args())
    except ValidationFailed as exc:
        discard_refused()
        errors = dict(exc.errors)
        if form.sku.data in errors:
            errors["serials"] = errors.pop(form.sku.data)
        add_errors(form, errors, exc.message)
        return _locations_page(transfer_form=form, code=422)
    except DomainError as exc:
        discard_refused()
        form.form_errors.extend(error_messages(exc))
        return _locations_page(transfer_form=form, code=exc.status)
    flash(_("Transfert n° %(id)d expédié : en transit jusqu'à sa réception.", id=transfer.id), "success")
    return redirect(url_for("stock.locations_page"))


@bp.post("/transfers/<int:transfer_id>/receipt")
@roles_required(*NATIONAL)
def transfer_receive(transfer_id: int) -> Page:
    try:
        transfers.receive(transfer_id)
    except DomainError as exc:
        discard_refused()
        if exc.status == 404:
            raise
        for message in error_messages(exc):
            flash(message, "error")
        return redirect(url_for("stock.locations_page"))
    flash(_("Transfert n° %(id)d reçu.", id=transfer_id), "success")
    return redirect(url_for("stock.locations_page"))


# --- stock counts ------------------------------------------------------------------------

COUNTING = (Role.NATIONAL, Role.RELAIS_ADMIN)


def _stocktakes_page(form: StocktakeStartForm | None = None, messages: list[str] | None = None,
                     code: int = 200) -> tuple[str, int]:
    form = form or StocktakeStartForm(formdata=None)
    if is_national():
        open_national_scope(_("inventaires physiques"))
        form.location_id.choices = [(str(place.id), place.name) for place in locations.all_locations()
                                    if place.active]
    page = page_number()
    rows, total = stocktakes.query(page, PAGE_SIZE)
    return render_template("stock/stocktakes.html", stocktakes=rows, form=form, messages=messages or [],
                           page=page, pages=max(1, -(-total // PAGE_SIZE)),
                           title=_("Inventaires physiques")), code


@bp.get("/stocktakes")
@roles_required(*COUNTING)
def stocktakes_page() -> Page:
    return _stocktakes_page()


@bp.post("/stocktakes")
@roles_required(*COUNTING)
def stocktake_start() -> Page:
    form = StocktakeStartForm()
    try:
        stocktake = stocktakes.start(optional_int(form.location_id.data) if is_national() else None)
    except ValidationFailed as exc:
        discard_refused()
        add_errors(form, exc.errors, exc.message)
        return _stocktakes_page(form=form, code=422)
    except DomainError as exc:
        discard_refused()
        return _stocktakes_page(form=form, messages=error_messages(exc), code=exc.status)
    flash(_("Inventaire n° %(id)d ouvert : imprimez la feuille de comptage.", id=stocktake.id), "success")
    return redirect(url_for("stock.stocktake_detail", stocktake_id=stocktake.id))


def _stocktake_page(stocktake_id: int, *, errors: dict[str, list[str]] | None = None,
                    posted: dict[str, str] | None = None, code: int = 200) -> tuple[str, int]:
    stocktake = stocktakes.get(stocktake_id)
    errors = errors or {}
    skus = {line.product.sku for line in stocktake.lines}
    # Messages about a line show beside it; the others on top.
    messages = [message for key, found in errors.items() if key not in skus for message in found]
    return render_template("stock/stocktake.html", stocktake=stocktake, errors=errors, messages=messages,
                           posted=posted or {}, reasons=REASON_LABELS,
                           skus=_product_choices() if stocktake.status.value == "open" else [],
                           title=_("Inventaire n° %(id)d", id=stocktake.id)), code


@bp.get("/stocktakes/<int:stocktake_id>")
@roles_required(*COUNTING)
def stocktake_detail(stocktake_id: int) -> Page:
    return _stocktake_page(stocktake_id)


def _typed_line(sku: str, counted: str, serials: str, reason: str | None,
                comment: str | None) -> dict[str, Any] | None:
    if not counted.strip() and not serials.strip():
        return None
    line: dict[str, Any] = {"sku": sku, "reason_code": reason or None, "comment": comment}
    if serials.strip():
        line["serials"] = [serials]
    if counted.strip():
        number = form_int(counted)
        line["counted"] = counted if number is None else number
    return line


def _posted_lines(stocktake_id: int) -> list[dict[str, Any]]:
    """The lines typed on the count sheet (untouched ones left out), and a product found off
    the sheet."""
    form = request.form
    typed = [_typed_line(line.product.sku, form.get(f"counted-{line.product.sku}", ""),
                         form.get(f"serials-{line.product.sku}", ""), form.get(f"reason-{line.product.sku}"),
                         form.get(f"comment-{line.product.sku}"))
             for line in stocktakes.get(stocktake_id).lines]
    extra = (form.get("extra-sku") or "").strip().upper()
    if extra:
        typed.append(_typed_line(extra, form.get("extra-counted", ""), form.get("extra-serials", ""),
                                 ReasonCode.FOUND.value, None))
    return [line for line in typed if line is not None]


@bp.post("/stocktakes/<int:stocktake_id>/lines")
@roles_required(*COUNTING)
def stocktake_count(stocktake_id: int) -> Page:
    lines = _posted_lines(stocktake_id)
    try:
        stocktakes.enter(stocktake_id, lines)
    except DomainError as exc:
        discard_refused()
        if exc.status == 404:
            raise
        return _stocktake_page(stocktake_id, errors=exc.errors or {"lines": [exc.message]},
                               posted=dict(request.form), code=exc.status)
    flash(_("Comptage enregistré."), "success")
    return redirect(url_for("stock.stocktake_detail", stocktake_id=stocktake_id))


@bp.post("/stocktakes/<int:stocktake_id>/finalise")
@roles_required(*COUNTING)
def stocktake_finalise(stocktake_id: int) -> Page:
    try:
        stocktakes.finalise(stocktake_id)
    except DomainError as exc:
        discard_refused()
        if exc.status == 404:
            raise
        return _stocktake_page(stocktake_id, errors=exc.errors or {"lines": [exc.message]}, code=exc.status)
    flash(_("Inventaire finalisé : les écarts sont enregistrés au registre."), "success")
    return redirect(url_for("stock.stocktake_detail", stocktake_id=stocktake_id))
