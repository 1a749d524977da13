"""Catalogue rules: what Emmaüs Connect sells to the relais, and at what cap they resell it."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, column, exists, select, table
from sqlalchemy.exc import IntegrityError

from relais_platform.audit import services as audit
from relais_platform.domain import NotFound, ValidationFailed
from relais_platform.extensions import db
from relais_platform.stock.catalogue.models import DEVICE_CATEGORIES, Category, Product, SerialKind
from relais_platform.stock.scope import open_national_scope
from relais_platform.stock.supply.models import Supplier
from relais_platform.tenants.models import Dimension

FIELDS = (
    "sku", "name", "category", "dimension", "serialized", "serial_kind", "unit_price_cents",
    "max_resale_price_cents", "validity_days", "data_gb", "warranty_months", "description",
    "active", "usual_supplier_id",
)
REQUIRED = ("sku", "name", "category", "dimension", "unit_price_cents", "max_resale_price_cents")
# Products a relais orders for a dimension; `accompagnement` has nothing to order.
ORDERABLE_DIMENSIONS = (Dimension.CONNEXION, Dimension.EQUIPEMENT)
# Validity and data allowance describe a connection: recharges, SIMs and kits only.
CONNECTION_CATEGORIES = frozenset({Category.SIM, Category.RECHARGE, Category.KIT})
DEFAULT_WARRANTY_MONTHS = 24  # refurbished devices: legal 2-year warranty
MAX_PRICE_CENTS = 1_000_000
# As the API schema caps it.
MAX_DESCRIPTION = 5_000
_SKU = re.compile(r"[A-Z0-9][A-Z0-9_-]{1,39}")


def _enum(errors: dict[str, list[str]], key: str, value: Any, enum_cls: type) -> Any:
    try:
        return enum_cls(value)
    except ValueError:
        errors.setdefault(key, []).append(_("Valeur inconnue : %(value)s.", value=value))
        return None


def _int(errors: dict[str, list[str]], key: str, value: Any, low: int, high: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        errors.setdefault(key, []).append(
            _("Nombre entier entre %(low)d et %(high)d attendu.", low=low, high=high))
        return None
    return value


def _clean(data: Mapping[str, Any]) -> dict[str, Any]:
    """Check a complete product description; every problem is reported at once."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for key in FIELDS:
        value = data.get(key)
        out[key] = (value.strip() or None) if isinstance(value, str) else value
    for key in REQUIRED:
        if out[key] is None:
            errors.setdefault(key, []).append(_("Ce champ est obligatoire."))
    if out["sku"]:
        out["sku"] = out["sku"].upper()
        if not _SKU.fullmatch(out["sku"]):
            errors.setdefault("sku", []).append(
                _("2 à 40 caractères parmi A-Z, 0-9, tiret et souligné."))
    if out["name"] and len(out["name"]) > 200:
        errors.setdefault("name", []).append(_("200 caractères au plus."))
    if out["description"] and len(out["description"]) > MAX_DESCRIPTION:
        errors.setdefault("description", []).append(
            _("%(max)d caractères au plus.", max=MAX_DESCRIPTION))
    category = out["category"] and _enum(errors, "category", out["category"], Category)
    dimension = out["dimension"] and _enum(errors, "dimension", out["dimension"], Dimension)
    if dimension and dimension not in ORDERABLE_DIMENSIONS:
        errors.setdefault("dimension", []).append(
            _("Seules les dimensions connexion et équipement ont des produits."))
    elif category and dimension:
        expected = (Dimension.EQUIPEMENT if category in DEVICE_CATEGORIES
                    else Dimension.CONNEXION if category in (Category.SIM, Category.RECHARGE)
                    else dimension)
        if dimension != expected:
            errors.setdefault("dimension", []).append(
                _("Un produit de cette catégorie relève de la dimension %(dimension)s.",
                  dimension=expected.value))
    out["category"], out["dimension"] = category, dimension

    out["serialized"] = bool(out["serialized"])
    kind = out["serial_kind"] and _enum(errors, "serial_kind", out["serial_kind"], SerialKind)
    if out["serialized"] and out["serial_kind"] is None:
        errors.setdefault("serial_kind", []).append(
            _("Un produit suivi à l'unité indique son type de numéro (iccid, imei ou serial)."))
    if not out["serialized"] and out["serial_kind"] is not None:
        errors.setdefault("serial_kind", []).append(
            _("Seul un produit suivi à l'unité a un type de numéro."))
    out["serial_kind"] = kind

    for key in ("unit_price_cents", "max_resale_price_cents"):
        out[key] = _int(errors, key, out[key], 0, MAX_PRICE_CENTS)
    out["validity_days"] = _int(errors, "validity_days", out["validity_days"], 1, 3660)
    if out["data_gb"] is not None:
        try:
            out["data_gb"] = Decimal(str(out["data_gb"]))
            if not Decimal(0) <= out["data_gb"] < Decimal(10_000):
                raise InvalidOperation
        except InvalidOperation:
            errors.setdefault("data_gb", []).append(_("Volume de données invalide (en Go)."))
    if category and category not in CONNECTION_CATEGORIES:
        for key in ("validity_days", "data_gb"):
            if out[key] is not None:
                errors.setdefault(key, []).append(
                    _("Réservé aux cartes SIM, recharges et kits de connexion."))
    if category == Category.RECHARGE and out["validity_days"] is None:
        errors.setdefault("validity_days", []).append(_("Une recharge a une durée de validité."))

    out["warranty_months"] = _int(errors, "warranty_months", out["warranty_months"], 0, 120)
    if category in DEVICE_CATEGORIES:
        if out["warranty_months"] is None:
            out["warranty_months"] = DEFAULT_WARRANTY_MONTHS
    elif category and out["warranty_months"] is not None:
        errors.setdefault("warranty_months", []).append(_("Réservé aux appareils."))
    out["active"] = True if out["active"] is None else bool(out["active"])
    supplier_id = out["usual_supplier_id"]
    if supplier_id is not None and (isinstance(supplier_id, bool) or not isinstance(supplier_id, int)
                                    or db.session.get(Supplier, supplier_id) is None):
        errors.setdefault("usual_supplier_id", []).append(_("Fournisseur introuvable."))
    if errors:
        raise ValidationFailed(errors)
    return out


@contextmanager
def _unique_sku() -> Iterator[None]:
    """Changes made inside are flushed in a savepoint: a taken sku fails only them (422)."""
    try:
        with db.session.begin_nested():
            yield
    except IntegrityError as exc:
        raise ValidationFailed.field("sku", _("Cette référence existe déjà.")) from exc


def create_product(data: Mapping[str, Any]) -> Product:
    fields = _clean(data)
    product = Product(**fields)
    with _unique_sku():
        db.session.add(product)
    audit.record("product_created", target=product, details={"sku": product.sku})
    return product


# The warehouse's serial units, named by table: the warehouse depends on the catalogue, not the
# reverse (RLS applies to this Core statement as to any other).
_SERIAL_UNITS = table("serial_units", column("product_id"))


def _refuse_if_units_exist(product: Product) -> None:
    # Units in national stock are visible under the national scope only.
    open_national_scope("catalogue : changement du suivi à l'unité d'un produit")
    if db.session.scalar(select(exists().where(_SERIAL_UNITS.c.product_id == product.id))):
        raise ValidationFailed.field("serialized", _(
            "Des unités de ce produit sont déjà enregistrées : son suivi ne peut plus changer."))


def update_product(product: Product, changes: Mapping[str, Any]) -> Product:
    """Apply a partial change; the product as a whole must stay valid."""
    current = {key: getattr(product, key) for key in FIELDS}
    fields = _clean({**current, **{k: v for k, v in changes.items() if k in FIELDS}})
    if (fields["serialized"], fields["serial_kind"]) != (product.serialized, product.serial_kind):
        _refuse_if_units_exist(product)
    changed = sorted(k for k, v in fields.items() if getattr(product, k) != v)
    with _unique_sku():
        for key in changed:
            setattr(product, key, fields[key])
    if changed:
        audit.record("product_updated", target=product, details={"fields": changed})
    return product


def deactivate_product(product: Product) -> Product:
    """Withdrawn from ordering; orders, stock and history keep pointing at it."""
    return update_product(product, {"active": False})


def get_product(product_id: int) -> Product:
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound(_("Produit introuvable."))
    return product


def product_by_sku(sku: str | None, *, field: str = "sku") -> Product:
    """The product of a reference typed in a form or an API call (422 on that field)."""
    product = db.session.scalar(select(Product).where(Product.sku == (sku or "").strip().upper()))
    if product is None:
        raise ValidationFailed.field(field, _("Référence inconnue : %(sku)s.", sku=sku))
    return product


def products_query(
    *,
    active: bool | None = None,
    category: Category | None = None,
    dimension: Dimension | None = None,
    dimensions: list[str] | None = None,
) -> Select[tuple[Product]]:
    """Products by filters; `dimensions` restricts to a relais' dimensions."""
    stmt = select(Product).order_by(Product.dimension, Product.category, Product.sku)
    if active is not None:
        stmt = stmt.where(Product.active.is_(active))
    if category is not None:
        stmt = stmt.where(Product.category == category)
    if dimension is not None:
        stmt = stmt.where(Product.dimension == dimension)
    if dimensions is not None:
        stmt = stmt.where(Product.dimension.in_(dimensions))
    return stmt
