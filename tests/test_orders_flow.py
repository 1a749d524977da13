"""The order flow end to end through the API: draft → submitted → allocated → awaiting payment
→ paid → shipped → partially received → closed, with levels, ledgers and serial units."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from relais_platform.extensions import db
from relais_platform.stock.orders import services as orders
from relais_platform.stock.orders.models import Order, OrderStatus
from relais_platform.stock.scope import national_scope
from relais_platform.stock.warehouse.models import (
    MovementKind,
    RelaisStock,
    RelaisStockMovement,
    SerialUnit,
    StockMovement,
    UnitStatus,
)
from relais_platform.tenancy import TenantScope, tenant_session
from tests.factories import make_orders_world, make_product, national_level, stock_up


@pytest.fixture
def world(app):
    with app.app_context():
        return make_orders_world()


def _national_read(app, fn):
    with app.app_context(), tenant_session(db.session, TenantScope(all_relais=True)) as session:
        return fn(session)


def test_full_happy_path(app, client, world):
    created = client.post("/api/v1/orders", headers=world.admin, json={
        "lines": [{"sku": "REC-1", "quantity": 10}, {"sku": "SIM-1", "quantity": 3}]})
    assert created.status_code == 201, created.json
    body = created.json
    assert (body["status"], body["relais_id"], body["total_cents"]) == ("draft", world.relais_id, 0)
    assert [(line["sku"], line["requested"], line["allocated"], line["shipped"], line["received"],
             line["refused"], line["available"]) for line in body["lines"]] == [
        ("REC-1", 10, 0, 0, 0, 0, 50), ("SIM-1", 3, 0, 0, 0, 0, 5)]
    order_id = body["id"]

    submitted = client.post(f"/api/v1/orders/{order_id}/submit", headers=world.admin, json={})
    assert submitted.status_code == 200, submitted.json
    assert submitted.json["status"] == "submitted"
    assert [line["unit_price_cents"] for line in submitted.json["lines"]] == [500, 100]

    allocated = client.post(f"/api/v1/orders/{order_id}/allocation", headers=world.national, json={
        "lines": [{"sku": "REC-1", "quantity": 8}, {"sku": "SIM-1", "quantity": 3}]})
    assert allocated.status_code == 200, allocated.json
    assert allocated.json["status"] == "awaiting_payment"
    assert allocated.json["payment_route"] == "manual"  # Stripe is not configured in tests
    assert allocated.json["total_cents"] == 8 * 500 + 3 * 100
    assert national_level(app, world.recharge_id) == (50, 8)
    assert national_level(app, world.sim_id) == (5, 3)

    shipped_early = client.post(f"/api/v1/orders/{order_id}/shipment", headers=world.national, json={})
    assert shipped_early.status_code == 409

    with app.app_context():
        # What the payments code does once the money is in.
        national_scope("test")
        assert orders.transition(orders.get_order(order_id, lock=True), OrderStatus.PAID) is True
        db.session.commit()

    chosen = world.serials[2:5]
    shipped = client.post(f"/api/v1/orders/{order_id}/shipment", headers=world.national, json={
        "lines": [{"sku": "SIM-1", "serials": [" ".join(chosen)]}]})
    assert shipped.status_code == 200, shipped.json
    assert shipped.json["status"] == "shipped"
    assert {line["sku"]: line["shipped"] for line in shipped.json["lines"]} == {"REC-1": 8, "SIM-1": 3}
    assert {line["sku"]: line.get("serials") for line in shipped.json["lines"]}["SIM-1"] == sorted(chosen)
    assert national_level(app, world.recharge_id) == (42, 0)
    assert national_level(app, world.sim_id) == (2, 0)

    note = client.get(f"/api/v1/orders/{order_id}/delivery-note", headers=world.worker)
    assert note.status_code == 200
    assert note.mimetype == "application/pdf" and note.data.startswith(b"%PDF")

    received = client.post(f"/api/v1/orders/{order_id}/receipt", headers=world.admin, json={"lines": [
        {"sku": "REC-1", "received": 8},
        {"sku": "SIM-1", "received": 2, "refused": 1, "refusal_reason": "Carte abîmée",
         "serials": chosen[:2]},
    ]})
    assert received.status_code == 200, received.json
    assert received.json["status"] == "partially_received"

    def relais_side(session):
        stock = {row.product_id: row.on_hand for row in session.scalars(
            select(RelaisStock).where(RelaisStock.relais_id == world.relais_id))}
        units = {u.serial: (u.status, u.relais_id) for u in session.scalars(
            select(SerialUnit).where(SerialUnit.serial.in_(chosen)))}
        kinds = [m.kind.value for m in session.scalars(
            select(RelaisStockMovement).where(RelaisStockMovement.order_id == order_id))]
        return stock, units, kinds

    stock, units, kinds = _national_read(app, relais_side)
    assert stock == {world.recharge_id: 8, world.sim_id: 2}
    assert units == {chosen[0]: (UnitStatus.AT_RELAIS, world.relais_id),
                     chosen[1]: (UnitStatus.AT_RELAIS, world.relais_id),
                     chosen[2]: (UnitStatus.RETURNED, world.relais_id)}
    assert sorted(kinds) == ["receipt", "receipt"]

    closed = client.post(f"/api/v1/orders/{order_id}/close", headers=world.national)
    assert closed.status_code == 200, closed.json
    assert closed.json["status"] == "closed"
    assert national_level(app, world.sim_id) == (3, 0)
    returned = _national_read(app, lambda s: s.execute(
        select(SerialUnit.status, SerialUnit.relais_id).where(SerialUnit.serial == chosen[2])).one())
    assert tuple(returned) == (UnitStatus.IN_STOCK, None)

    detail = client.get(f"/api/v1/orders/{order_id}", headers=world.worker).json
    assert [(e["from_status"], e["to_status"]) for e in detail["events"]] == [
        (None, "draft"), ("draft", "submitted"), ("submitted", "allocated"),
        ("allocated", "awaiting_payment"), ("awaiting_payment", "paid"), ("paid", "shipped"),
        ("shipped", "partially_received"), ("partially_received", "closed")]
    ledger = _national_read(app, lambda s: [(m.kind, m.on_hand_delta, m.reserved_delta) for m in s.scalars(
        select(StockMovement).where(StockMovement.order_id == order_id,
                                    StockMovement.product_id == world.sim_id).order_by(StockMovement.id))])
    assert ledger == [(MovementKind.RESERVATION, 0, 3), (MovementKind.SHIPMENT, -3, -3),
                      (MovementKind.RETURN, 1, 0)]


def test_free_order_is_shippable_once_allocated(app, client, world):
    with app.app_context():
        kit = make_product(sku="KIT-CR", name="Kit Connect Refugees", category="kit",
                           unit_price_cents=0, max_resale_price_cents=0, validity_days=60)
        stock_up(kit, quantity=10)
        kit_id = kit.id
    order_id = client.post("/api/v1/orders", headers=world.admin,
                           json={"lines": [{"sku": "KIT-CR", "quantity": 4}]}).json["id"]
    client.post(f"/api/v1/orders/{order_id}/submit", headers=world.admin)
    allocated = client.post(f"/api/v1/orders/{order_id}/allocation", headers=world.national,
                            json={"lines": [{"sku": "KIT-CR", "quantity": 4}]})
    assert (allocated.json["status"], allocated.json["payment_route"], allocated.json["total_cents"]) == (
        "allocated", "free", 0)
    shipped = client.post(f"/api/v1/orders/{order_id}/shipment", headers=world.national, json={})
    assert shipped.status_code == 200, shipped.json
    assert national_level(app, kit_id) == (6, 0)
    received = client.post(f"/api/v1/orders/{order_id}/receipt", headers=world.admin,
                           json={"lines": [{"sku": "KIT-CR", "received": 4}]})
    assert received.json["status"] == "received"


def test_public_body_pays_by_invoice_and_association_by_checkout_when_stripe_is_configured(app, world):
    from relais_platform.stock.orders.allocation import payment_route
    from relais_platform.stock.orders.models import PaymentRoute

    with app.app_context():
        national_scope("test")
        ccas = db.session.get(Order, _draft(app, world.other_id))
        association = db.session.get(Order, _draft(app, world.relais_id))
        for order in (ccas, association):
            order.total_cents = 100
        app.config["STRIPE_SECRET_KEY"] = "sk_test_x"
        try:
            assert payment_route(ccas) == PaymentRoute.INVOICE
            assert payment_route(association) == PaymentRoute.CHECKOUT
        finally:
            app.config["STRIPE_SECRET_KEY"] = ""
        assert payment_route(association) == PaymentRoute.MANUAL
        association.total_cents = 0
        assert payment_route(association) == PaymentRoute.FREE
        db.session.rollback()


def _draft(app, relais_id: int) -> int:
    from tests.factories import make_order

    with app.app_context():
        return make_order(relais_id, [("REC-1", 1)], submit=False)
