"""Every order rule and its error code, each message naming the product."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from relais_platform.extensions import db
from relais_platform.stock.catalogue.models import Product
from relais_platform.stock.orders import services as orders
from relais_platform.stock.orders.models import OrderStatus
from relais_platform.stock.scope import national_scope
from relais_platform.stock.warehouse.models import MovementKind, StockMovement
from relais_platform.tenancy import TenantScope, tenant_session
from relais_platform.tenants.models import RelaisStatus
from tests.factories import (
    as_national,
    make_order,
    make_orders_world,
    make_product,
    national_level,
)


@pytest.fixture
def world(app):
    with app.app_context():
        return make_orders_world()


def _create(client, headers, lines, **extra):
    return client.post("/api/v1/orders", headers=headers, json={"lines": lines, **extra})


def _flat(response) -> str:
    return " ".join(m for messages in response.json["errors"].values() for m in messages)


def _submitted(app, world, lines=(("REC-1", 10), ("SIM-1", 3))) -> int:
    with app.app_context():
        return make_order(world.relais_id, list(lines))


def _allocate(client, world, order_id, lines):
    return client.post(f"/api/v1/orders/{order_id}/allocation", headers=world.national,
                       json={"lines": [{"sku": s, "quantity": q} for s, q in lines]})


# --- drafting ---------------------------------------------------------------------------


def test_each_line_problem_is_a_422_naming_the_product(app, client, world):
    with app.app_context():
        make_product(sku="OLD-1", name="Ancienne recharge")
        make_product(sku="PC-1", name="Portable reconditionné", category="laptop",
                     dimension="equipement", serial_kind="serial", validity_days=None)
        with as_national():
            db.session.scalar(select(Product).where(Product.sku == "OLD-1")).active = False
            db.session.commit()
    response = _create(client, world.admin, [
        {"sku": "NOPE-9", "quantity": 1}, {"sku": "OLD-1", "quantity": 1},
        {"sku": "PC-1", "quantity": 1}, {"sku": "REC-1", "quantity": 0},
        {"sku": "SIM-1", "quantity": 2}, {"sku": "SIM-1", "quantity": 3},
    ])
    assert response.status_code == 422
    errors = response.json["errors"]
    assert set(errors) == {"NOPE-9", "OLD-1", "PC-1", "REC-1", "SIM-1"}
    assert "NOPE-9" in errors["NOPE-9"][0]
    assert "n'est plus proposé" in errors["OLD-1"][0]
    assert "équipement" in errors["PC-1"][0] and "Relais Bastide" in errors["PC-1"][0]
    assert "supérieur à 0" in errors["REC-1"][0]
    assert "plusieurs fois" in errors["SIM-1"][0]
    assert _create(client, world.admin, []).status_code == 422
    assert _create(client, world.admin, [{"sku": "REC-1", "quantity": -2}]).status_code == 422
    assert _create(client, world.admin, [{"sku": "REC-1", "quantity": 10**6}]).status_code == 422


def test_only_an_active_relais_orders(app, client, world):
    with app.app_context(), tenant_session(db.session, TenantScope(all_relais=True)) as session:
        from relais_platform.tenants.models import Relais

        session.get(Relais, world.relais_id).status = RelaisStatus.SUSPENDED
        session.commit()
    response = _create(client, world.admin, [{"sku": "REC-1", "quantity": 1}])
    assert response.status_code == 422
    assert "Relais Bastide" in response.json["errors"]["relais_id"][0]


def test_national_team_orders_on_behalf_of_a_relais(client, world):
    response = _create(client, world.national, [{"sku": "REC-1", "quantity": 2}],
                       relais_id=world.other_id)
    assert response.status_code == 201, response.json
    assert (response.json["relais_id"], response.json["placed_by_national"]) == (world.other_id, True)
    assert _create(client, world.national, [{"sku": "REC-1", "quantity": 2}]).status_code == 422
    submitted = client.post(f"/api/v1/orders/{response.json['id']}/submit", headers=world.national)
    assert submitted.json["status"] == "submitted"
    # The relais sees it as its own.
    assert client.get(f"/api/v1/orders/{response.json['id']}", headers=world.other_admin).status_code == 200


def test_skus_are_read_whatever_their_case(client, world):
    created = _create(client, world.admin, [{"sku": " rec-1 ", "quantity": 2}])
    assert created.status_code == 201, created.json
    assert [line["sku"] for line in created.json["lines"]] == ["REC-1"]
    order_id = created.json["id"]
    assert client.post(f"/api/v1/orders/{order_id}/submit", headers=world.admin).status_code == 200
    allocated = client.post(f"/api/v1/orders/{order_id}/allocation", headers=world.national,
                            json={"lines": [{"sku": "Rec-1", "quantity": 2}]})
    assert allocated.status_code == 200, allocated.json
    assert allocated.json["lines"][0]["allocated"] == 2


def test_a_relais_admin_cannot_order_for_another_relais(client, world):
    response = _create(client, world.admin, [{"sku": "REC-1", "quantity": 2}], relais_id=world.other_id)
    assert response.status_code == 422 and "relais_id" in response.json["errors"]
    own = _create(client, world.admin, [{"sku": "REC-1", "quantity": 2}], relais_id=world.relais_id)
    assert own.status_code == 201 and own.json["relais_id"] == world.relais_id


def test_draft_lines_are_replaced_until_submission(client, world):
    order_id = _create(client, world.admin, [{"sku": "REC-1", "quantity": 2},
                                             {"sku": "SIM-1", "quantity": 1}]).json["id"]
    updated = client.patch(f"/api/v1/orders/{order_id}", headers=world.admin,
                           json={"lines": [{"sku": "REC-1", "quantity": 7}]})
    assert updated.status_code == 200
    assert [(line["sku"], line["requested"]) for line in updated.json["lines"]] == [("REC-1", 7)]
    client.post(f"/api/v1/orders/{order_id}/submit", headers=world.admin)
    again = client.patch(f"/api/v1/orders/{order_id}", headers=world.admin,
                         json={"lines": [{"sku": "REC-1", "quantity": 1}]})
    assert again.status_code == 409


# --- submission -------------------------------------------------------------------------


def test_unusual_quantity_needs_confirmation(app, client, world):
    with app.app_context():
        for quantity in (10, 12, 8):
            make_order(world.relais_id, [("REC-1", quantity)])
    # No history for SIM-1: no confirmation asked; REC-1 median 10 → 50 is unusual.
    order_id = _create(client, world.admin, [{"sku": "REC-1", "quantity": 50},
                                             {"sku": "SIM-1", "quantity": 40}]).json["id"]
    refused = client.post(f"/api/v1/orders/{order_id}/submit", headers=world.admin, json={})
    assert refused.status_code == 422
    assert list(refused.json["errors"]) == ["REC-1"]
    assert "REC-1" in refused.json["errors"]["REC-1"][0] and "confirm" in refused.json["errors"]["REC-1"][0]
    confirmed = client.post(f"/api/v1/orders/{order_id}/submit", headers=world.admin,
                            json={"confirm_unusual": True})
    assert confirmed.status_code == 200
    assert {line["sku"]: line["unusual_confirmed"] for line in confirmed.json["lines"]} == {
        "REC-1": True, "SIM-1": False}
    # Just under five times the median passes without confirmation.
    usual = _create(client, world.admin, [{"sku": "REC-1", "quantity": 49}]).json["id"]
    assert client.post(f"/api/v1/orders/{usual}/submit", headers=world.admin).status_code == 200


def test_submission_freezes_prices(app, client, world):
    order_id = _submitted(app, world)
    with app.app_context(), as_national():
        db.session.scalar(select(Product).where(Product.sku == "REC-1")).unit_price_cents = 900
        db.session.commit()
    allocated = _allocate(client, world, order_id, [("REC-1", 10), ("SIM-1", 3)])
    assert allocated.json["total_cents"] == 10 * 500 + 3 * 100
    assert client.post(f"/api/v1/orders/{order_id}/submit", headers=world.admin).status_code == 409


# --- transitions ------------------------------------------------------------------------


def test_transition_moves_only_forward(app, world):
    order_id = _submitted(app, world)
    with app.app_context():
        national_scope("test")
        order = orders.get_order(order_id, lock=True)
        assert orders.transition(order, OrderStatus.SUBMITTED) is False
        assert orders.transition(order, OrderStatus.DRAFT) is False
        with pytest.raises(orders.Conflict):
            orders.transition(order, OrderStatus.SHIPPED)
        with pytest.raises(orders.Conflict):
            orders.transition(order, OrderStatus.PAID)
        order.payment_route = "checkout"
        assert orders.transition(order, OrderStatus.ALLOCATED) is True
        with pytest.raises(orders.Conflict, match="payée"):
            orders.transition(order, OrderStatus.SHIPPED)
        assert orders.transition(order, "awaiting_payment") is True
        assert orders.transition(order, OrderStatus.PAID) is True
        # A late or repeated webhook: already past, nothing happens.
        assert orders.transition(order, OrderStatus.AWAITING_PAYMENT) is False
        assert orders.transition(order, OrderStatus.PAID) is False
        assert orders.transition(order, OrderStatus.CANCELLED) is True
        with pytest.raises(orders.Conflict, match="annulée"):
            orders.transition(order, OrderStatus.PAID)
        db.session.commit()
        assert [e.to_status for e in orders.order_events(order)] == [
            "draft", "submitted", "allocated", "awaiting_payment", "paid", "cancelled"]


# --- cancellation -----------------------------------------------------------------------


def test_relais_cancels_until_allocation_national_until_shipment(app, client, world):
    draft = _create(client, world.admin, [{"sku": "REC-1", "quantity": 2}]).json["id"]
    cancelled = client.post(f"/api/v1/orders/{draft}/cancel", headers=world.admin,
                            json={"reason": "Erreur de saisie"})
    assert (cancelled.status_code, cancelled.json["status"], cancelled.json["cancel_reason"]) == (
        200, "cancelled", "Erreur de saisie")
    assert client.post(f"/api/v1/orders/{draft}/cancel", headers=world.admin).status_code == 409

    order_id = _submitted(app, world)
    _allocate(client, world, order_id, [("REC-1", 10), ("SIM-1", 3)])
    assert national_level(app, world.recharge_id) == (50, 10)
    refused = client.post(f"/api/v1/orders/{order_id}/cancel", headers=world.admin, json={})
    assert refused.status_code == 409 and "équipe nationale" in refused.json["message"]

    cancelled = client.post(f"/api/v1/orders/{order_id}/cancel", headers=world.national,
                            json={"reason": "Doublon"})
    assert cancelled.json["status"] == "cancelled"
    assert national_level(app, world.recharge_id) == (50, 0)
    assert national_level(app, world.sim_id) == (5, 0)
    with app.app_context(), tenant_session(db.session, TenantScope(all_relais=True)) as session:
        moves = session.execute(
            select(StockMovement.product_id, StockMovement.kind, StockMovement.reserved_delta)
            .where(StockMovement.order_id == order_id).order_by(StockMovement.id)).all()
    assert [tuple(m) for m in moves] == [
        (world.recharge_id, MovementKind.RESERVATION, 10), (world.sim_id, MovementKind.RESERVATION, 3),
        (world.recharge_id, MovementKind.RELEASE, -10), (world.sim_id, MovementKind.RELEASE, -3)]


def test_no_cancellation_after_shipment(app, client, world):
    order_id = _submitted(app, world, [("REC-1", 2)])
    _allocate(client, world, order_id, [("REC-1", 2)])
    with app.app_context():
        national_scope("test")
        orders.transition(orders.get_order(order_id, lock=True), OrderStatus.PAID)
        db.session.commit()
    assert client.post(f"/api/v1/orders/{order_id}/shipment", headers=world.national).status_code == 200
    response = client.post(f"/api/v1/orders/{order_id}/cancel", headers=world.national)
    assert response.status_code == 409 and "expédiée" in response.json["message"]


# --- allocation -------------------------------------------------------------------------


def test_allocation_rules(app, client, world):
    order_id = _submitted(app, world, [("REC-1", 60), ("SIM-1", 3)])
    over = _allocate(client, world, order_id, [("REC-1", 61)])
    assert over.status_code == 422 and "REC-1" in over.json["errors"]
    short = _allocate(client, world, order_id, [("REC-1", 55), ("SIM-1", 3)])
    assert short.status_code == 409
    assert list(short.json["errors"]) == ["REC-1"] and "REC-1" in short.json["message"]
    stranger = _allocate(client, world, order_id, [("KIT-X", 1)])
    assert stranger.status_code == 422 and "KIT-X" in stranger.json["errors"]
    assert _allocate(client, world, order_id, [("REC-1", 0), ("SIM-1", 0)]).status_code == 422
    assert national_level(app, world.recharge_id) == (50, 0)  # nothing reserved by the failures
    partial = _allocate(client, world, order_id, [("REC-1", 50)])
    assert partial.status_code == 200
    assert {line["sku"]: line["allocated"] for line in partial.json["lines"]} == {"REC-1": 50, "SIM-1": 0}
    assert _allocate(client, world, order_id, [("REC-1", 1)]).status_code == 409  # no longer submitted
    draft = _create(client, world.admin, [{"sku": "REC-1", "quantity": 1}]).json["id"]
    assert _allocate(client, world, draft, [("REC-1", 1)]).status_code == 409


# --- shipment and receipt ---------------------------------------------------------------


@pytest.fixture
def paid_order(app, client, world):
    order_id = _submitted(app, world, [("REC-1", 4), ("SIM-1", 2)])
    _allocate(client, world, order_id, [("REC-1", 4), ("SIM-1", 2)])
    with app.app_context():
        national_scope("test")
        orders.transition(orders.get_order(order_id, lock=True), OrderStatus.PAID)
        db.session.commit()
    return order_id


def _ship(client, world, order_id, lines):
    return client.post(f"/api/v1/orders/{order_id}/shipment", headers=world.national, json={"lines": lines})


def test_shipment_rules(app, client, world, paid_order):
    unknown = _ship(client, world, paid_order,
                    [{"sku": "SIM-1", "serials": [world.serials[0], "8933990999"]}])
    assert unknown.status_code == 422 and "8933990999" in _flat(unknown)
    count = _ship(client, world, paid_order, [{"sku": "SIM-1", "serials": world.serials[:1]}])
    assert count.status_code == 422 and "SIM-1" in _flat(count)
    quantity = _ship(client, world, paid_order, [{"sku": "REC-1", "quantity": 3}])
    assert quantity.status_code == 422 and "REC-1" in _flat(quantity)
    not_serialized = _ship(client, world, paid_order, [{"sku": "REC-1", "serials": ["X1"]}])
    assert not_serialized.status_code == 422
    garbled = _ship(client, world, paid_order, [{"sku": "SIM-1", "serials": [world.serials[0], "89\x0033"]}])
    # Refused before any rule runs (PostgreSQL text cannot hold NUL), naming the field.
    assert garbled.status_code == 422 and "lines.0.serials.1" in garbled.json["errors"]
    assert national_level(app, world.sim_id) == (5, 2)  # nothing moved
    shipped = _ship(client, world, paid_order, [])
    assert shipped.status_code == 200
    # Picked automatically: the oldest units.
    sim = next(line for line in shipped.json["lines"] if line["sku"] == "SIM-1")
    assert sim["serials"] == sorted(world.serials[:2])
    assert _ship(client, world, paid_order, []).status_code == 409


def test_a_unit_not_in_stock_cannot_be_shipped(app, client, world, paid_order):
    other = _submitted(app, world, [("SIM-1", 1)])
    _allocate(client, world, other, [("SIM-1", 1)])
    with app.app_context():
        national_scope("test")
        orders.transition(orders.get_order(other, lock=True), OrderStatus.PAID)
        db.session.commit()
    assert _ship(client, world, other, [{"sku": "SIM-1", "serials": [world.serials[4]]}]).status_code == 200
    taken = _ship(client, world, paid_order, [{"sku": "SIM-1", "serials": world.serials[3:5]}])
    assert taken.status_code == 422 and world.serials[4] in _flat(taken)


def _receive(client, world, order_id, lines):
    return client.post(f"/api/v1/orders/{order_id}/receipt", headers=world.admin, json={"lines": lines})


def test_receipt_rules(app, client, world, paid_order):
    assert _receive(client, world, paid_order, [{"sku": "REC-1", "received": 4}]).status_code == 409
    _ship(client, world, paid_order, [{"sku": "SIM-1", "serials": world.serials[:2]}])
    mismatch = _receive(client, world, paid_order, [{"sku": "REC-1", "received": 3},
                                                    {"sku": "SIM-1", "received": 2}])
    assert mismatch.status_code == 422 and "REC-1" in mismatch.json["errors"]
    no_reason = _receive(client, world, paid_order, [{"sku": "REC-1", "received": 3, "refused": 1},
                                                     {"sku": "SIM-1", "received": 2}])
    assert no_reason.status_code == 422 and "motif" in _flat(no_reason)
    missing = _receive(client, world, paid_order, [{"sku": "REC-1", "received": 4}])
    assert missing.status_code == 422 and "SIM-1" in missing.json["errors"]
    unknown = _receive(client, world, paid_order, [
        {"sku": "REC-1", "received": 4},
        {"sku": "SIM-1", "received": 2, "serials": [world.serials[0], world.serials[3]]}])
    assert unknown.status_code == 422 and world.serials[3] in _flat(unknown)
    which = _receive(client, world, paid_order, [
        {"sku": "REC-1", "received": 4},
        {"sku": "SIM-1", "received": 1, "refused": 1, "refusal_reason": "Cassée"}])
    assert which.status_code == 422 and "numéros reçus" in _flat(which)
    ok = _receive(client, world, paid_order,
                  [{"sku": "REC-1", "received": 4}, {"sku": "SIM-1", "received": 2}])
    assert ok.status_code == 200 and ok.json["status"] == "received"
    closed = client.post(f"/api/v1/orders/{paid_order}/close", headers=world.national)
    assert closed.json["status"] == "closed"
    assert national_level(app, world.sim_id) == (3, 0)  # nothing refused, nothing returned
