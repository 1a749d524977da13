"""The seed catalogue of the network (DOMAIN.md), a demo national stock and a year of orders.

Prices are illustrative, in cents: what a relais pays Emmaüs Connect, and the most it may
charge a beneficiary (refurbished devices are capped at about 30 % of the market price;
free programmes at 0). The loaders are idempotent: run them again and nothing changes.

The orders go through the services (so every rule and ledger entry holds), each step under
the clock of its day: the year's delivery to every relais about thirteen months ago, and
recent orders in every status.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from relais_platform import mail
from relais_platform.accounts.models import Role, User
from relais_platform.extensions import db
from relais_platform.orm import clock_at
from relais_platform.stock.catalogue import services as catalogue
from relais_platform.stock.catalogue.models import Product
from relais_platform.stock.orders import allocation, payments, shipping
from relais_platform.stock.orders import services as orders
from relais_platform.stock.orders.models import Order, OrderStatus
from relais_platform.stock.scope import local_today, open_national_scope
from relais_platform.stock.supply import demo as supply_demo
from relais_platform.stock.warehouse import national
from relais_platform.stock.warehouse.models import StockMovement
from relais_platform.stock.warehouse.serials import luhn_check_digit
from relais_platform.tenancy import TenantScope, tenant_session
from relais_platform.tenants.demo import network_specs
from relais_platform.tenants.models import Relais, RelaisKind

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
        # Enough for a year of the demo network's orders, with stock left for new ones.
        "SIM-SOLIDAIRE": {"serial_range": (_iccid(1), _iccid(2_400))},
        "KIT-CONNECT-REFUGEES": {"serial_range": (_iccid(10_001), _iccid(10_200))},
        "RECH-INTER-30J": {"quantity": 2_500},
        "RECH-INTER-ECO-14J": {"quantity": 1_200},
        "RECH-MOBILE-NET-5GO": {"quantity": 3_000},
        "RECH-NET-8GO": {"quantity": 1_200},
        "PC-PORTABLE-RECOND": {"serials": [f"EC-PC-2026-{n:04d}" for n in range(1, 101)]},
        "SMARTPHONE-RECOND": {"serials": [_imei("35693803", n) for n in range(1, 201)]},
        "TABLETTE-RECOND": {"serials": [f"EC-TAB-2026-{n:04d}" for n in range(1, 51)]},
        "TEL-BASIQUE": {"serials": [_imei("35209900", n) for n in range(1, 201)]},
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
    # Delivered before the demo's year of orders began.
    with clock_at(demo_start() - timedelta(days=10)):
        for sku, receipt in _demo_receipts().items():
            product = products[sku]
            if product.id not in stocked:
                national.receive(product, reason="Livraison de démonstration", origin=origins.get(sku),
                                 **receipt)
        db.session.flush()


# --- a year of orders -------------------------------------------------------------------

# What a relais orders for its year, by dimension.
DELIVERY = {
    "connexion": [("SIM-SOLIDAIRE", 24), ("RECH-MOBILE-NET-5GO", 30), ("RECH-INTER-30J", 20),
                  ("RECH-NET-8GO", 10), ("RECH-INTER-ECO-14J", 10)],
    "equipement": [("SMARTPHONE-RECOND", 4), ("TEL-BASIQUE", 4), ("PC-PORTABLE-RECOND", 2),
                   ("TABLETTE-RECOND", 1)],
}
REFUGEE_KITS = ("KIT-CONNECT-REFUGEES", 6)  # for the relais that welcome asylum seekers
# Days after an order's creation at which each step happened.
STEP_DAYS = {"draft": 0, "submitted": 1, "cancelled": 2, "allocated": 3, "awaiting_payment": 3,
             "paid": 6, "shipped": 8, "received": 12, "partially_received": 12, "closed": 14}
# Recent orders left at each step of the flow (relais key, days ago, last step).
RECENT = [
    ("bordeaux", 2, OrderStatus.DRAFT), ("gap", 4, OrderStatus.SUBMITTED),
    ("aix", 5, OrderStatus.SUBMITTED), ("pessac", 9, OrderStatus.AWAITING_PAYMENT),
    ("venissieux", 12, OrderStatus.PAID), ("briancon", 14, OrderStatus.SHIPPED),
    ("marseille3", 18, OrderStatus.RECEIVED), ("lille", 25, OrderStatus.PARTIALLY_RECEIVED),
    ("montreuil", 20, OrderStatus.CANCELLED), ("villeurbanne", 10, OrderStatus.ALLOCATED),
]
FLOW = [OrderStatus.SUBMITTED, OrderStatus.AWAITING_PAYMENT, OrderStatus.PAID, OrderStatus.SHIPPED,
        OrderStatus.RECEIVED, OrderStatus.CLOSED]


def demo_start() -> datetime:
    """When the demo's history begins: thirteen months ago, at nine in the morning."""
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return datetime.combine(local_today() - timedelta(days=400), time(9), tzinfo=zone)


def delivery_lines(relais: Relais, scale: float = 1.0) -> list[tuple[str, int]]:
    lines = [(sku, max(1, round(quantity * scale)))
             for dimension in relais.dimensions for sku, quantity in DELIVERY.get(dimension, [])]
    if relais.kind in (RelaisKind.CADA, RelaisKind.CHRS) and "connexion" in relais.dimensions:
        lines.append(REFUGEE_KITS)
    return lines


def _run_order(relais_id: int, lines: list[tuple[str, Any]], until: OrderStatus, national_id: int,
               start: datetime) -> None:
    """One order through the services up to `until`, each step on its day after `start`;
    committed, and the session emptied (a session holding every unit ever moved slows down)."""
    relais, national = db.session.get_one(Relais, relais_id), db.session.get_one(User, national_id)
    try:
        _order_steps(relais, lines, until, national, start)
        db.session.commit()
    finally:
        db.session.expunge_all()


def _order_steps(relais: Relais, lines: list[tuple[str, Any]], until: OrderStatus, national: User,
                 start: datetime) -> None:
    def on(step: OrderStatus | str) -> Any:
        return clock_at(start + timedelta(days=STEP_DAYS[str(step)], hours=len(lines) % 5))

    note = "Commande saisie avec le relais par téléphone." if until == OrderStatus.DRAFT else None
    with on("draft"):
        order = orders.create_order(relais, lines, placed_by_national=True, note=note)
    if until == OrderStatus.DRAFT:
        return
    with on(OrderStatus.SUBMITTED):
        orders.submit(order, confirm_unusual=True)
    if until == OrderStatus.CANCELLED:
        with on(OrderStatus.CANCELLED):
            orders.cancel(order, "Doublon d'une commande déjà passée.")
        return
    if until == OrderStatus.SUBMITTED:
        return
    with on(OrderStatus.ALLOCATED):
        allocation.allocate(order, {line.product.sku: line.requested for line in order.lines})
    if order.status == OrderStatus.AWAITING_PAYMENT and until != OrderStatus.AWAITING_PAYMENT:
        with on(OrderStatus.PAID):
            payments.record_manual_payment(order, order.total_cents, f"VIR-DEMO-{order.id:05d}",
                                           actor=national)
    if until in (OrderStatus.AWAITING_PAYMENT, OrderStatus.PAID, OrderStatus.ALLOCATED):
        return
    with on(OrderStatus.SHIPPED):
        shipping.ship(order)
    if until == OrderStatus.SHIPPED:
        return
    received = []
    for line in order.lines:
        refused = 2 if until == OrderStatus.PARTIALLY_RECEIVED and not line.product.serialized else 0
        received.append({"sku": line.product.sku, "received": line.shipped - refused, "refused": refused,
                         "refusal_reason": "Cartons abîmés pendant le transport." if refused else None})
    with on(OrderStatus.RECEIVED):
        shipping.receive(order, received)
    if until == OrderStatus.CLOSED:
        with on(OrderStatus.CLOSED):
            shipping.close(order)


def load_demo_orders() -> None:
    """The year's delivery to every active demo relais, and recent orders in every status;
    once (skipped when the demo relais already have orders)."""
    db.session.commit()  # tenant_session starts from a clean session
    with tenant_session(db.session, TenantScope(all_relais=True)):
        open_national_scope("données de démonstration : commandes")
        sirets = [spec["siret"] for spec in network_specs()]
        network = {r.siret: r for r in db.session.scalars(select(Relais).where(Relais.siret.in_(sirets)))}
        if not network or db.session.scalar(
                select(Order.id).where(Order.relais_id.in_([r.id for r in network.values()])).limit(1)):
            return
        national = db.session.scalar(select(User).where(User.role == Role.NATIONAL).order_by(User.id))
        if national is None:
            return
        start = demo_start()
        specs = [spec for spec in network_specs() if spec["siret"] in network]
        keys = {spec["key"]: network[spec["siret"]] for spec in specs}
        plan = [(r.id, delivery_lines(r)) for r in keys.values() if r.is_active]
        recent = [(keys[key].id, [REFUGEE_KITS] if status == OrderStatus.ALLOCATED  # free: no payment
                   else delivery_lines(keys[key], 0.5), days_ago, status)
                  for key, days_ago, status in RECENT if key in keys and keys[key].is_active]
        national_id = national.id
        db.session.commit()
        now = start + timedelta(days=400)
        with mail.silenced():  # the team was told back then
            for index, (relais_id, lines) in enumerate(plan):
                _run_order(relais_id, lines, OrderStatus.CLOSED, national_id,
                           start + timedelta(days=index % 20))
            for relais_id, lines, days_ago, status in recent:
                _run_order(relais_id, lines, status, national_id, now - timedelta(days=days_ago))


def load_demo() -> None:
    load_demo_stock()
    load_demo_orders()
