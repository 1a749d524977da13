"""Demo suppliers, a donor company's collection and the origin of each demo receipt.

Idempotent: suppliers are found by name, the collection is made once, and origins are only
used by the first demo delivery of each product (see `stock.demo`)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from relais_platform.extensions import db
from relais_platform.stock.catalogue.models import DEVICE_CATEGORIES, Category, Product
from relais_platform.stock.scope import local_today
from relais_platform.stock.supply import services as supply
from relais_platform.stock.supply.models import Collection, Supplier, SupplierKind
from relais_platform.stock.supply.origins import Origin

SUPPLIERS = (
    ("SFR", SupplierKind.OPERATOR),
    ("Ateliers du Bocage", SupplierKind.REFURBISHER),
    ("Groupe Exemple SA", SupplierKind.DONOR_COMPANY),
    ("Ville de Pessac", SupplierKind.DONOR_PUBLIC),
)
# In-kind value of the operator's gifted recharges, per unit (cents).
RECHARGE_GIFT_VALUE = {"RECH-INTER-30J": 500, "RECH-NET-8GO": 600}


def _supplier(name: str, kind: SupplierKind) -> Supplier:
    found = db.session.scalar(select(Supplier).where(Supplier.name == name))
    return found or supply.create_supplier({"name": name, "kind": kind.value})


def origins_by_sku(products: dict[str, Product]) -> dict[str, Origin]:
    """Create the demo suppliers and collection; return the origin of each demo receipt."""
    suppliers = {name: _supplier(name, kind) for name, kind in SUPPLIERS}
    operator, refurbisher = suppliers["SFR"], suppliers["Ateliers du Bocage"]
    donor = suppliers["Groupe Exemple SA"]
    for product in products.values():
        if product.category not in DEVICE_CATEGORIES and product.usual_supplier_id is None:
            product.usual_supplier_id = operator.id
    collection = db.session.scalar(select(Collection).where(Collection.donor_id == donor.id))
    if collection is None:
        collection = supply.create_collection(
            {
                "donor_id": donor.id,
                # Collected before the demo's year began; its devices are the year's delivery.
                "collected_on": local_today() - timedelta(days=420),
                "refurbisher_id": refurbisher.id,
                "items": [
                    {"category": Category.SMARTPHONE.value, "quantity": 240},
                    {"category": Category.LAPTOP.value, "quantity": 120},
                ],
            }
        )
    db.session.flush()
    origins: dict[str, Origin] = {
        sku: Origin(supplier_id=operator.id, donation=True, unit_value_cents=value)
        for sku, value in RECHARGE_GIFT_VALUE.items()
    }
    for sku, product in products.items():
        if product.category in DEVICE_CATEGORIES:
            collected = product.category in (Category.SMARTPHONE, Category.LAPTOP)
            origins[sku] = Origin(
                supplier_id=refurbisher.id,
                donation=collected,
                grade="B",
                wipe_certificate=f"ADB-DEMO-{sku}",
                unit_value_cents=6000 if collected else None,
                collection_id=collection.id if collected else None,
            )
    return origins
