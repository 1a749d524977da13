"""Pages of the national stock (receipts, adjustments), the relais' inventory and the unit lookup."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from marshmallow import ValidationError
from sqlalchemy import select

from relais_platform.accounts.auth import roles_required
from relais_platform.accounts.forms import add_errors
from relais_platform.bounds import INT32_MAX
from relais_platform.domain import DomainError, NotFound, ValidationFailed
from relais_platform.extensions import db
from relais_platform.stock.blueprints import stock_bp as bp
from relais_platform.stock.catalogue import services as catalogue
from relais_platform.stock.catalogue.models import Product
from relais_platform.stock.pages import (
    NATIONAL,
    PAGE_SIZE,
    READERS,
    RELAIS_STAFF,
    UNITS_PAGE_SIZE,
    Page,
    actor_names,
    discard_refused,
    error_messages,
    is_national,
    page_number,
)
from relais_platform.stock.scope import open_national_scope
from relais_platform.stock.supply import origins
from relais_platform.stock.warehouse import inventory, locations, national
from relais_platform.stock.warehouse.forms import (
    MOVEMENT_KIND_LABELS,
    REASON_LABELS,
    UNIT_STATUS_LABELS,
    AdjustmentForm,
    ReceiptForm,
    UnitLookupForm,
)
from relais_platform.stock.warehouse.schemas import MovementFilterSchema

# The national ledger's filters, as the page's form and the API name them.
MOVEMENT_FILTERS = ("sku", "kind", "from", "to")


@bp.app_template_filter("unit_status_label")
def _unit_status_label(status: Any) -> str:
    return str(UNIT_STATUS_LABELS.get(status, status))


@bp.get("/inventory")
@roles_required(*RELAIS_STAFF)
def inventory_page() -> Page:
    relais_id = current_user.relais_id
    sku = (request.args.get("sku") or "").strip() or None
    page = page_number()
    units, total = inventory.units(relais_id, page, UNITS_PAGE_SIZE, sku=sku)
    return render_template(
        "stock/inventory.html",
        items=inventory.items(relais_id),
        units=units,
        units_total=total,
        page=page,
        pages=max(1, -(-total // UNITS_PAGE_SIZE)),
        sku=sku,
        title=_("Inventaire du relais"),
    )


def _product_choices() -> list[tuple[str, str]]:
    rows = db.session.execute(select(Product.sku, Product.name, Product.serialized).order_by(Product.sku))
    return [(sku, f"{sku} — {name}" + (_(" (suivi à l'unité)") if serialized else ""))
            for sku, name, serialized in rows]


def _stock_page(
    receipt_form: ReceiptForm | None = None,
    adjustment_form: AdjustmentForm | None = None,
    code: int = 200,
) -> tuple[str, int]:
    open_national_scope(_("vue du stock national"))
    page = page_number()
    rows, total = national.stock_overview(page, PAGE_SIZE)
    choices = _product_choices()
    receipt_form = receipt_form or ReceiptForm(prefix="receipt", formdata=None)
    adjustment_form = adjustment_form or AdjustmentForm(prefix="adjust", formdata=None)
    receipt_form.sku.choices = adjustment_form.sku.choices = [("", _("Choisissez un produit")), *choices]
    receipt_form.supplier_id.choices = [("", _("Fournisseur habituel du produit")),
                                        *origins.supplier_choices()]
    receipt_form.collection_id.choices = [("", _("Aucune")), *origins.collection_choices()]
    receipt_form.location_id.choices = [(str(loc.id), loc.name) for loc in locations.all_locations()]
    return render_template(
        "stock/national_stock.html",
        rows=rows,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        total=total,
        receipt_form=receipt_form,
        adjustment_form=adjustment_form,
        title=_("Stock national"),
    ), code


@bp.get("/national")
@roles_required(*NATIONAL)
def national_stock() -> Page:
    return _stock_page()


@bp.get("/national/movements")
@roles_required(*NATIONAL)
def national_movements() -> Page:
    """The national ledger, filtered like its API route (whose downloads the page links)."""
    typed = {key: request.args[key].strip() for key in MOVEMENT_FILTERS
             if (request.args.get(key) or "").strip()}
    if any(key in request.args and key not in typed for key in MOVEMENT_FILTERS):
        # The form's empty fields: dropped from the address (and from the download links).
        args: dict[str, Any] = {**typed, **({"page": request.args["page"]} if "page" in request.args else {})}
        return redirect(url_for("stock.national_movements", **args))
    open_national_scope(_("registre du stock national"))
    errors: dict[str, list[str]] = {}
    rows: list[national.NationalMovement] = []
    total, page = 0, min(page_number(), INT32_MAX)
    try:
        filters = MovementFilterSchema().load(typed)["filters"]
        rows, total = national.movements(filters, page, PAGE_SIZE)
    except ValidationError as exc:
        errors = {key: list(value) for key, value in exc.normalized_messages().items()}
    except ValidationFailed as exc:
        errors = exc.errors
    return render_template(
        "stock/national_movements.html",
        rows=rows, total=total, page=page, pages=max(1, -(-total // PAGE_SIZE)), typed=typed,
        errors=errors, products=_product_choices(), kinds=MOVEMENT_KIND_LABELS, reasons=REASON_LABELS,
        actors=actor_names(row.actor_id for row in rows),
        title=_("Mouvements du stock national"),
    ), 422 if errors else 200


@bp.post("/national/receipts")
@roles_required(*NATIONAL)
def national_receipt() -> Page:
    form = ReceiptForm(prefix="receipt")
    open_national_scope(_("réception au stock national"))
    try:
        product = catalogue.product_by_sku(form.sku.data)
        received = national.receive(product, **form.service_kwargs())
    except ValidationFailed as exc:
        discard_refused()
        errors = dict(exc.errors)
        if "serial_range" in errors:
            # A message about the last ICCID (it starts with that ICCID) goes on its own field.
            last = (form.range_last.data or "").strip()
            messages = errors.pop("serial_range")
            on_last = [m for m in messages if last and m.startswith(f"{last}:")]
            on_first = [m for m in messages if m not in on_last]
            errors.update({k: v for k, v in (("range_first", on_first), ("range_last", on_last)) if v})
        add_errors(form, errors, exc.message)
        return _stock_page(receipt_form=form, code=422)
    flash(ngettext("%(num)d unité de %(sku)s reçue au stock national.",
                   "%(num)d unités de %(sku)s reçues au stock national.", received, sku=product.sku),
          "success")
    return redirect(url_for("stock.national_stock"))


@bp.post("/national/adjustments")
@roles_required(*NATIONAL)
def national_adjustment() -> Page:
    form = AdjustmentForm(prefix="adjust")
    open_national_scope(_("ajustement du stock national"))
    try:
        product = catalogue.product_by_sku(form.sku.data)
        delta = national.adjust(product, **form.service_kwargs())
    except ValidationFailed as exc:
        discard_refused()
        add_errors(form, exc.errors, exc.message)
        return _stock_page(adjustment_form=form, code=422)
    except DomainError as exc:
        discard_refused()
        form.form_errors.extend(error_messages(exc))
        return _stock_page(adjustment_form=form, code=exc.status)
    flash(_("Stock de %(sku)s corrigé de %(delta)+d.", sku=product.sku, delta=delta), "success")
    return redirect(url_for("stock.national_stock"))


@bp.get("/units")
@roles_required(*READERS)
def unit_lookup() -> Page:
    form = UnitLookupForm(formdata=request.args)
    unit = history = None
    messages: list[str] = []
    code = 200
    serial = (form.serial.data or "").strip()
    if serial:
        if is_national():
            open_national_scope(_("consultation d'une unité suivie"))
        try:
            unit = national.find_unit(serial, form.sku.data, relais_id=current_user.relais_id)
        except NotFound as exc:
            messages, code = [exc.message], 404
        except ValidationFailed as exc:
            add_errors(form, exc.errors, exc.message)
            code = 422
        else:
            history = national.unit_history(unit)
    return render_template("stock/unit.html", form=form, unit=unit, history=history or [],
                           actors=actor_names(event.actor_id for event in history or []),
                           messages=messages, title=_("Rechercher une unité")), code
