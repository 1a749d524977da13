"""The seed catalogue of the network (DOMAIN.md) and a small demo national stock.

Prices are illustrative, in cents: what a relais pays Emmaüs Connect, and the most it may
charge a beneficiary (refurbished devices are capped at about 30 % of the market price;
free programmes at 0). Both loaders are idempotent: run them again and nothing changes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from relais_platform.extensions import db
from relais_platform.stock.catalogue import services as catalogue
from relais_platform.stock.catalogue.models import Product
from relais_platform.stock.scope import open_national_scope
from relais_platform.stock.supply import demo as supply_demo
from relais_platform.stock.warehouse import national
from relais_platform.stock.warehouse.models import StockMovement
from relais_platform.stock.warehouse.serials import luhn_check_digit

CATALOGUE: list[dict[str, Any]] = [
    {"sku": "SIM-SOLIDAIRE", "name": "Carte SIM solidaire", "category": "sim",
     "dimension": "connexion", "serialized": True, "serial_kind": "iccid",
     "unit_price_cents": 100, "max_resale_price_cents": 100,
     "description": "Carte SIM prépayée, sans compte bancaire ni domicile fixe."},
    {"sku": "RECH-INTER-30J", "name": "Recharge Internationale 30 jours", "category": "recharge",
     "dimension": "connexion", "unit_price_cents": 500, "max_resale_price_cents": 500,
     "validity_days": 30, "description": "Appels vers 203 pays pendant 30 jours."},
    {"sku": "RECH-INTER-ECO-14J", "name": "Recharge Internationale éco 14 jours",
     "category": "recharge", "dimension": "connexion", "unit_price_cents": 250,
     "max_resale_price_cents": 250, "validity_days": 14,
     "description": "Appels vers l'international pendant 14 jours."},
    {"sku": "RECH-MOBILE-NET-5GO", "name": "Recharge Mobile + Internet 5 Go 30 jours",
     "category": "recharge", "dimension": "connexion", "unit_price_cents": 1000,
     "max_resale_price_cents": 1000, "validity_days": 30, "data_gb": "5",
     "description": "5 Go, appels et SMS illimités en France pendant 30 jours."},
    {"sku": "RECH-NET-8GO", "name": "Recharge Internet 8 Go 30 jours", "category": "recharge",
     "dimension": "connexion", "unit_price_cents": 600, "max_resale_price_cents": 600,
     "validity_days": 30, "data_gb": "8", "description": "Offre mixte à 6 € : 8 Go pendant 30 jours."},
    {"sku": "KIT-CONNECT-REFUGEES", "name": "Kit Connect Refugees", "category": "kit",
     "dimension": "connexion", "serialized": True, "serial_kind": "iccid",
     "unit_price_cents": 0, "max_resale_price_cents": 0, "validity_days": 60,
     "description": "Carte SIM gratuite et 2 mois de connexion pour les personnes réfugiées "
                    "nouvellement arrivées."},
    {"sku": "PC-PORTABLE-RECOND", "name": "Ordinateur portable reconditionné",
     "category": "laptop", "dimension": "equipement", "serialized": True, "serial_kind": "serial",
     "unit_price_cents": 9000, "max_resale_price_cents": 15000, "warranty_months": 24},
    {"sku": "SMARTPHONE-RECOND", "name": "Smartphone reconditionné", "category": "smartphone",
     "dimension": "equipement", "serialized": True, "serial_kind": "imei",
     "unit_price_cents": 3000, "max_resale_price_cents": 7000, "warranty_months": 24},
    {"sku": "TABLETTE-RECOND", "name": "Tablette reconditionnée", "category": "tablet",
     "dimension": "equipement", "serialized": True, "serial_kind": "serial",
     "unit_price_cents": 3000, "max_resale_price_cents": 6000, "warranty_months": 24},
    {"sku": "TEL-BASIQUE", "name": "Téléphone basique", "category": "basic_phone",
     "dimension": "equipement", "serialized": True, "serial_kind": "imei",
     "unit_price_cents": 500, "max_resale_price_cents": 1000, "warranty_months": 24},
]


def _with_check(body: str) -> str:
    return body + luhn_check_digit(body)


def _iccid(n: int) -> str:
    # 89 (telecom), 33 (France), fictitious issuer 150: 19 digits with the check digit.
    return _with_check(f"8933150{n:011d}")


def _imei(tac: str, n: int) -> str:
    return _with_check(f"{tac}{n:06d}")


def _demo_receipts() -> dict[str, dict[str, Any]]:
    return {
        "SIM-SOLIDAIRE": {"serial_range": (_iccid(1), _iccid(200))},
        "KIT-CONNECT-REFUGEES": {"serial_range": (_iccid(10_001), _iccid(10_060))},
        "RECH-INTER-30J": {"quantity": 500},
        "RECH-INTER-ECO-14J": {"quantity": 300},
        "RECH-MOBILE-NET-5GO": {"quantity": 400},
        "RECH-NET-8GO": {"quantity": 250},
        "PC-PORTABLE-RECOND": {"serials": [f"EC-PC-2026-{n:04d}" for n in range(1, 13)]},
        "SMARTPHONE-RECOND": {"serials": [_imei("35693803", n) for n in range(1, 26)]},
        "TABLETTE-RECOND": {"serials": [f"EC-TAB-2026-{n:04d}" for n in range(1, 9)]},
        "TEL-BASIQUE": {"serials": [_imei("35209900", n) for n in range(1, 31)]},
    }


def load_catalogue() -> list[Product]:
    """Create the seed products missing by sku; existing ones are the national team's to edit."""
    existing = {p.sku: p for p in db.session.scalars(
        select(Product).where(Product.sku.in_([spec["sku"] for spec in CATALOGUE])))}
    products = []
    for spec in CATALOGUE:
        product = existing.get(spec["sku"]) or catalogue.create_product(spec)
        products.append(product)
    return products


def load_demo_stock() -> None:
    """The seed catalogue and a first delivery of each product, once (under the national scope)."""
    open_national_scope("données de démonstration : catalogue et stock national")
    products = {p.sku: p for p in load_catalogue()}
    stocked = set(db.session.scalars(
        select(StockMovement.product_id)
        .where(StockMovement.product_id.in_([p.id for p in products.values()]))
        .distinct()
    ))
    origins = supply_demo.origins_by_sku(products)
    for sku, receipt in _demo_receipts().items():
        product = products[sku]
        if product.id not in stocked:
            national.receive(product, reason="Livraison de démonstration", origin=origins.get(sku), **receipt)
    db.session.flush()
