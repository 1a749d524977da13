"""Web pages of supply (national team: suppliers, collections, supplier returns, the figures'
CSV export) and the device passport (national team and relais staff)."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from relais_platform.accounts.auth import roles_required
from relais_platform.accounts.forms import ActionForm, add_errors
from relais_platform.api import paginate
from relais_platform.domain import DomainError, ValidationFailed
from relais_platform.stock.catalogue.forms import CATEGORY_LABELS
from relais_platform.stock.fields import optional_int
from relais_platform.stock.pages import (
    NATIONAL,
    READERS,
    Page,
    discard_refused,
    error_messages,
    is_national,
    page_number,
)
from relais_platform.stock.scope import open_national_scope
from relais_platform.stock.supply import figures as supply_figures
from relais_platform.stock.supply import passport as unit_passport
from relais_platform.stock.supply import services as supply
from relais_platform.stock.supply import slip
from relais_platform.stock.supply.forms import (
    DEVICE_ORDER,
    GRADE_CHOICES,
    KIND_LABELS,
    OUTCOME_LABELS,
    CollectionForm,
    ReturnForm,
    SendForm,
    SupplierForm,
    supplier_choices,
)
from relais_platform.stock.supply.models import DONOR_KINDS, REFURBISHING_KINDS
from relais_platform.stock.warehouse import national

bp = Blueprint("supply", __name__, url_prefix="/stock/supply", template_folder="templates")
PAGE_SIZE = 25


@bp.app_template_filter("supplier_kind_label")
def _kind_label(kind: object) -> str:
    return str(KIND_LABELS.get(kind, kind))  # type: ignore[call-overload]


def _pages(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


# --- suppliers ------------------------------------------------------------------------


@bp.route("/suppliers", methods=["GET", "POST"])
@roles_required(*NATIONAL)
def suppliers() -> Page:
    form = SupplierForm()
    code = 200
    if request.method == "POST":
        try:
            supplier = supply.create_supplier(form.service_data())
        except ValidationFailed as exc:
            discard_refused()
            add_errors(form, exc.errors, exc.message)
            code = 422
        else:
            flash(_("Fournisseur « %(name)s » ajouté.", name=supplier.name), "success")
            return redirect(url_for("supply.suppliers"))
    page = page_number()
    items, total = paginate(supply.suppliers_query(), page, PAGE_SIZE)
    return render_template(
        "supply/suppliers.html",
        form=form,
        items=items,
        page=page,
        pages=_pages(total),
        title=_("Fournisseurs"),
    ), code


# --- collections ----------------------------------------------------------------------


def _collection_form(form: CollectionForm) -> CollectionForm:
    form.donor_id.choices = supplier_choices(supply.all_suppliers(DONOR_KINDS), _("Choisissez un donateur"))
    form.refurbisher_id.choices = supplier_choices(supply.all_suppliers(REFURBISHING_KINDS), _("Pas encore"))
    return form


@bp.route("/collections", methods=["GET", "POST"])
@roles_required(*NATIONAL)
def collections() -> Page:
    form = _collection_form(CollectionForm())
    quantities = {c.value: request.form.get(f"qty_{c.value}", "") for c in DEVICE_ORDER}
    code = 200
    if request.method == "POST":
        try:
            collection = supply.create_collection(form.service_data(quantities))
        except ValidationFailed as exc:
            discard_refused()
            _collection_form(form)
            add_errors(form, exc.errors, exc.message)
            code = 422
        else:
            flash(_("Collecte n° %(id)d enregistrée.", id=collection.id), "success")
            return redirect(url_for("supply.collection_detail", collection_id=collection.id))
    page = page_number()
    items, total = paginate(supply.collections_query(), page, PAGE_SIZE)
    return render_template(
        "supply/collections.html",
        form=form,
        items=items,
        page=page,
        pages=_pages(total),
        quantities=quantities,
        categories=[(c, CATEGORY_LABELS[c]) for c in DEVICE_ORDER],
        title=_("Collectes"),
    ), code


def _collection_page(
    collection_id: int, send_form: SendForm | None = None, messages: list[str] | None = None, code: int = 200
) -> Page:
    collection = supply.get_collection(collection_id)
    send_form = send_form or SendForm(formdata=None)
    send_form.refurbisher_id.choices = supplier_choices(
        supply.all_suppliers(REFURBISHING_KINDS), _("Choisissez un reconditionneur")
    )
    return render_template(
        "supply/collection.html",
        c=collection,
        send_form=send_form,
        close_form=ActionForm(),
        messages=messages or [],
        title=_("Collecte n° %(id)d", id=collection.id),
    ), code


@bp.get("/collections/<int:collection_id>")
@roles_required(*NATIONAL)
def collection_detail(collection_id: int) -> Page:
    return _collection_page(collection_id)


@bp.post("/collections/<int:collection_id>/send")
@roles_required(*NATIONAL)
def collection_send(collection_id: int) -> Page:
    form = SendForm()
    try:
        supply.send_collection(collection_id, optional_int(form.refurbisher_id.data), form.sent_on.data)
    except DomainError as exc:
        if exc.status == 404:
            raise
        discard_refused()
        return _collection_page(collection_id, form, error_messages(exc), exc.status)
    flash(_("Collecte envoyée au reconditionneur."), "success")
    return redirect(url_for("supply.collection_detail", collection_id=collection_id))


@bp.post("/collections/<int:collection_id>/close")
@roles_required(*NATIONAL)
def collection_close(collection_id: int) -> Page:
    try:
        supply.close_collection(collection_id)
    except DomainError as exc:
        if exc.status == 404:
            raise
        discard_refused()
        return _collection_page(collection_id, messages=error_messages(exc), code=exc.status)
    flash(_("Collecte close : le reste est compté recyclé."), "success")
    return redirect(url_for("supply.collection_detail", collection_id=collection_id))


# --- supplier returns -----------------------------------------------------------------


@bp.route("/returns", methods=["GET", "POST"])
@roles_required(*NATIONAL)
def returns() -> Page:
    form = ReturnForm()
    form.supplier_id.choices = supplier_choices(
        supply.all_suppliers(REFURBISHING_KINDS), _("Choisissez un reconditionneur")
    )
    code = 200
    if request.method == "POST":
        try:
            batch = supply.create_return(optional_int(form.supplier_id.data), [form.serials.data or ""])
        except ValidationFailed as exc:
            discard_refused()
            add_errors(form, exc.errors, exc.message)
            code = 422
        else:
            flash(_("Retour fournisseur n° %(id)d créé : imprimez le bon de retour.", id=batch.id), "success")
            return redirect(url_for("supply.return_detail", return_id=batch.id))
    page = page_number()
    items, total = paginate(supply.returns_query(), page, PAGE_SIZE)
    return render_template(
        "supply/returns.html",
        form=form,
        items=items,
        page=page,
        pages=_pages(total),
        title=_("Retours fournisseur"),
    ), code


def _return_page(return_id: int, messages: list[str] | None = None, code: int = 200) -> Page:
    batch = supply.get_return(return_id)
    return render_template(
        "supply/return.html",
        batch=batch,
        units=supply.return_units(batch),
        outcomes=OUTCOME_LABELS,
        grades=GRADE_CHOICES,
        form=ActionForm(),
        values=request.form if request.method == "POST" else {},
        messages=messages or [],
        title=_("Retour fournisseur n° %(id)d", id=batch.id),
    ), code


@bp.get("/returns/<int:return_id>")
@roles_required(*NATIONAL)
def return_detail(return_id: int) -> Page:
    return _return_page(return_id)


@bp.post("/returns/<int:return_id>/answers")
@roles_required(*NATIONAL)
def return_answers(return_id: int) -> Page:
    answers = []
    for serial in request.form.getlist("serial"):
        outcome = request.form.get(f"outcome-{serial}", "")
        if outcome:
            answers.append(
                {
                    key: request.form.get(f"{key}-{serial}") or None
                    for key in ("replacement_serial", "grade", "wipe_certificate", "note")
                }
                | {"serial": serial, "outcome": outcome}
            )
    try:
        supply.answer_return(return_id, answers)
    except DomainError as exc:
        if exc.status == 404:
            raise
        discard_refused()
        return _return_page(return_id, error_messages(exc), exc.status)
    flash(_("Réponse du fournisseur enregistrée."), "success")
    return redirect(url_for("supply.return_detail", return_id=return_id))


@bp.get("/returns/<int:return_id>/slip.pdf")
@roles_required(*NATIONAL)
def return_slip(return_id: int) -> Response:
    batch = supply.get_return(return_id)
    return Response(
        slip.render_pdf(batch),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{slip.filename(batch)}"'},
    )


# --- figures export -------------------------------------------------------------------


def _csv_cell(value: object) -> object:
    # A spreadsheet would run a cell starting with one of these as a formula.
    text = "" if value is None else value
    return f"'{text}" if isinstance(text, str) and text[:1] in ("=", "+", "-", "@") else text


@bp.get("/figures.csv")
@roles_required(*NATIONAL)
def figures_csv() -> Response:
    data = supply_figures.figures()
    rows: list[list[object]] = [
        [
            _("section"),
            _("clé"),
            _("libellé"),
            _("type"),
            _("unités"),
            _("dont dons"),
            _("valeur (centimes)"),
            _("collectés"),
            _("reconditionnés"),
            _("recyclés"),
            _("taux de réemploi"),
            _("remis"),
            _("pannes sous garantie"),
            _("taux de panne"),
        ]
    ]
    blank = [""] * 7
    rows += [
        [
            "receipts_by_supplier",
            s.supplier_id,
            s.name,
            s.kind,
            s.units,
            s.donated_units,
            s.value_cents,
            *blank,
        ]
        for s in data.by_supplier
    ]
    rows += [
        ["receipts_by_kind", k.kind, "", k.kind, k.units, "", k.value_cents, *blank] for k in data.by_kind
    ]
    rows += [
        ["gifts_by_year", g.year, "", "", g.units, g.units, g.value_cents, *blank] for g in data.gifts_by_year
    ]
    for section, reuse in (
        ("reuse_by_donor", data.reuse_by_donor),
        ("reuse_by_refurbisher", data.reuse_by_refurbisher),
        ("reuse_by_year", data.reuse_by_year),
    ):
        rows += [
            [
                section,
                r.key,
                r.label,
                "",
                "",
                "",
                "",
                r.collected,
                r.refurbished,
                r.recycled,
                r.reuse_rate,
                "",
                "",
                "",
            ]
            for r in reuse
        ]
    for section, warranty in (
        ("warranty_by_product", data.warranty_by_product),
        ("warranty_by_refurbisher", data.warranty_by_refurbisher),
    ):
        rows += [
            [section, w.key, w.label, *[""] * 8, w.handed_over, w.failures, w.failure_rate] for w in warranty
        ]
    out = io.StringIO()
    out.write("\ufeff")
    csv.writer(out, delimiter=";").writerows([[_csv_cell(cell) for cell in row] for row in rows])
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="approvisionnement.csv"'},
    )


# --- device passport ------------------------------------------------------------------


@bp.get("/units/<string:serial>")
@roles_required(*READERS)
def unit_passport_page(serial: str) -> Page:
    sku = request.args.get("sku") or None
    if is_national():
        open_national_scope(_("consultation d'une unité suivie"))
    unit = national.find_unit(serial, sku, relais_id=current_user.relais_id)
    history = national.unit_history(unit)
    return render_template(
        "supply/passport.html",
        unit=unit,
        history=history,
        p=unit_passport.build(unit, history, national=is_national()),
        outcomes=OUTCOME_LABELS,
        title=_("Passeport de l'appareil %(serial)s", serial=unit.serial),
    )
