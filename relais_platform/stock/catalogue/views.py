"""Catalogue pages (national team): list, add, edit, withdraw a product."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from relais_platform.accounts.auth import roles_required
from relais_platform.accounts.forms import add_errors
from relais_platform.domain import ValidationFailed
from relais_platform.extensions import db
from relais_platform.stock.blueprints import stock_bp as bp
from relais_platform.stock.catalogue import services as catalogue
from relais_platform.stock.catalogue.forms import CATEGORY_LABELS, ProductForm
from relais_platform.stock.pages import NATIONAL, Page, discard_refused, error_messages, page_number
from relais_platform.stock.supply import origins


@bp.app_template_filter("category_label")
def _category_label(category: Any) -> str:
    return str(CATEGORY_LABELS.get(category, category))


def _with_suppliers(form: ProductForm) -> ProductForm:
    form.usual_supplier_id.choices = [("", _("Aucun")), *origins.supplier_choices()]
    return form


@bp.get("/catalogue")
@roles_required(*NATIONAL)
def catalogue_list() -> Page:
    page = db.paginate(catalogue.products_query(), page=page_number(), per_page=50, max_per_page=50,
                       error_out=False)
    return render_template("stock/catalogue.html", page=page, title=_("Catalogue"))


@bp.route("/catalogue/new", methods=["GET", "POST"])
@roles_required(*NATIONAL)
def product_new() -> Page:
    form = _with_suppliers(ProductForm())
    code = 200
    if form.is_submitted():
        code = 422
        if form.validate():
            try:
                product = catalogue.create_product(form.service_data(with_active=False))
            except ValidationFailed as exc:
                discard_refused()
                add_errors(form, exc.errors, exc.message)
            else:
                flash(_("Produit %(sku)s ajouté au catalogue.", sku=product.sku), "success")
                return redirect(url_for("stock.catalogue_list"))
    return render_template("stock/product_form.html", form=form, product=None,
                           title=_("Ajouter un produit")), code


@bp.route("/catalogue/<int:product_id>/edit", methods=["GET", "POST"])
@roles_required(*NATIONAL)
def product_edit(product_id: int) -> Page:
    product = catalogue.get_product(product_id)
    form = _with_suppliers(ProductForm(obj=product))
    code = 200
    if form.is_submitted():
        code = 422
        if form.validate():
            try:
                catalogue.update_product(product, form.service_data())
            except ValidationFailed as exc:
                discard_refused()
                product = catalogue.get_product(product_id)
                add_errors(form, exc.errors, exc.message)
            else:
                flash(_("Produit %(sku)s enregistré.", sku=product.sku), "success")
                return redirect(url_for("stock.catalogue_list"))
    return render_template("stock/product_form.html", form=form, product=product,
                           title=_("Modifier %(sku)s", sku=product.sku)), code


@bp.post("/catalogue/<int:product_id>/active")
@roles_required(*NATIONAL)
def product_set_active(product_id: int) -> Page:
    product = catalogue.get_product(product_id)
    try:
        if request.form.get("active") == "1":
            catalogue.update_product(product, {"active": True})
        else:
            catalogue.deactivate_product(product)
    except ValidationFailed as exc:
        discard_refused()
        for message in error_messages(exc):
            flash(message, "error")
        return redirect(url_for("stock.catalogue_list"))
    if product.active:
        flash(_("%(sku)s est de nouveau proposé à la commande.", sku=product.sku), "success")
    else:
        flash(_("%(sku)s n'est plus proposé à la commande.", sku=product.sku), "success")
    return redirect(url_for("stock.catalogue_list"))
