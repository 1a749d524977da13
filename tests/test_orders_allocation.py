"""Allocation under contention, and the fair split of scarce stock."""

from __future__ import annotations

import threading
from datetime import timedelta
from fractions import Fraction

import pytest
from sqlalchemy import event, select, text

from relais_platform.domain import Conflict
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.stock.orders import allocation
from relais_platform.stock.orders import services as orders
from relais_platform.stock.orders.allocation import Claim, fair_split
from relais_platform.stock.orders.models import OrderLine, OrderStatus
from relais_platform.stock.scope import national_scope
from relais_platform.stock.warehouse.models import RelaisMovementKind, RelaisStockMovement
from relais_platform.tenancy import TenantScope, tenant_session
from tests.factories import make_order, make_orders_world, make_relais, national_level


@pytest.fixture
def world(app):
    with app.app_context():
        return make_orders_world()


def test_parallel_allocations_never_oversell(app, world):
    """Two national sessions want the last 30 recharges (50 in stock, 20 taken) at once."""
    with app.app_context():
        first = make_order(world.relais_id, [("REC-1", 20)])
        second = make_order(world.relais_id, [("REC-1", 30)])
        third = make_order(world.other_id, [("REC-1", 30)])
        allocation.allocate(_national_get(first), {"REC-1": 20})
        db.session.commit()
        db.session.remove()
    barrier = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def run(order_id: int) -> None:
        with app.app_context():
            order = _national_get(order_id)
            barrier.wait()
            try:
                allocation.allocate(order, {"REC-1": 30})
                db.session.commit()
                outcomes[order_id] = "allocated"
            except Conflict as exc:
                db.session.rollback()
                outcomes[order_id] = f"409 {sorted(exc.errors)}"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(oid,)) for oid in (second, third)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes.values()) == ["409 ['REC-1']", "allocated"]
    assert national_level(app, world.recharge_id) == (50, 50)
    with app.app_context(), db.engine.connect() as conn:
        conn.execute(text("SELECT set_config('app.relais_ids', '*', false)"))
        ledger = conn.scalar(text("SELECT sum(reserved_delta) FROM stock_movements WHERE product_id = :p"),
                             {"p": world.recharge_id})
        allocated = conn.scalar(text("SELECT sum(allocated) FROM order_lines WHERE product_id = :p"),
                                {"p": world.recharge_id})
    assert ledger == allocated == 50


def _waiting_on_a_lock(app, owner_engine, timeout: float = 20) -> bool:
    """True once some session of the test database waits on a row lock."""
    import time

    deadline = time.monotonic() + timeout
    with owner_engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock'"))
            if waiting:
                return True
            time.sleep(0.05)
    return False


def test_a_batch_confirmed_while_an_allocation_is_open_waits_and_sees_its_reservation(
        app, world, owner_engine):
    """The allocation holds the level lock, uncommitted; the batch started meanwhile is seen
    waiting on the lock, then, once the allocation commits, refuses what is no longer there."""
    with app.app_context():
        single = make_order(world.relais_id, [("REC-1", 40)])
        batch = [make_order(world.other_id, [("REC-1", 10)]) for _ in range(2)]
        db.session.remove()
    holding, release = threading.Event(), threading.Event()
    outcomes: dict[str, str] = {}

    def allocate_single() -> None:
        with app.app_context():
            try:
                allocation.allocate(_national_get(single), {"REC-1": 40})
                holding.set()
                release.wait(30)
                db.session.commit()
                outcomes["single"] = "allocated"
            finally:
                db.session.remove()

    def confirm_batch() -> None:
        with app.app_context():
            try:
                national_scope("test")
                allocation.confirm_batch("REC-1", [(oid, 10) for oid in batch])
                db.session.commit()
                outcomes["batch"] = "allocated"
            except Conflict as exc:
                db.session.rollback()
                outcomes["batch"] = f"409 {sorted(exc.errors)}"
            finally:
                db.session.remove()

    first = threading.Thread(target=allocate_single)
    first.start()
    assert holding.wait(30)
    second = threading.Thread(target=confirm_batch)
    second.start()
    try:
        assert _waiting_on_a_lock(app, owner_engine), "the batch did not wait for the level lock"
        assert "batch" not in outcomes
    finally:
        release.set()
        first.join(60)
        second.join(60)
    assert outcomes == {"single": "allocated", "batch": "409 ['REC-1']"}
    assert national_level(app, world.recharge_id) == (50, 40)


def _national_get(order_id: int):
    national_scope("test")
    return orders.get_order(order_id)


# --- fair split: the rule ---------------------------------------------------------------


def _claims(*specs: tuple[int, int, int]) -> list[Claim]:
    start = utcnow()
    return [Claim(order_id, relais_id, f"R{relais_id}", start + timedelta(minutes=order_id), requested)
            for order_id, relais_id, requested in specs]


def test_water_filling_is_weighted_max_min():
    shares, level = allocation.water_fill(10, {1: 2, 2: 100, 3: 100}, {1: 1, 2: 1, 3: 3})
    # Relais 1 needs less than its share: served in full; 8 left for weights 1 and 3.
    assert shares == {1: 2, 2: 2, 3: 6} and level == 2
    shares, level = allocation.water_fill(10, {1: 3, 2: 4}, {1: 1, 2: 1})
    assert shares == {1: 3, 2: 4} and level is None


def test_fair_split_properties():
    claims = _claims((1, 1, 7), (2, 2, 7), (3, 3, 7), (4, 3, 5), (5, 4, 1))
    proposed, weights, _level = fair_split(10, claims, {3: 2})
    assert sum(proposed.values()) == 10
    assert all(proposed[c.order_id] <= c.requested for c in claims)
    assert weights == {1: 1, 2: 1, 3: 3, 4: 1}
    # Relais 4 asks less than its share: served in full. The 9 left go by weight 1:1:3
    # (level 1.8: 1.8, 1.8, 5.4), rounded by largest remainders; within relais 3 the older
    # order is served first.
    assert proposed == {1: 2, 2: 2, 3: 5, 4: 0, 5: 1}
    # Deterministic, and ties go to the oldest order.
    assert fair_split(10, claims, {3: 2})[0] == proposed
    tied, _w, _l = fair_split(2, _claims((1, 1, 5), (2, 2, 5), (3, 3, 5)), {})
    assert tied == {1: 1, 2: 1, 3: 0}


def test_fair_split_when_stock_suffices_or_is_empty():
    claims = _claims((1, 1, 3), (2, 2, 4))
    assert fair_split(100, claims, {})[0] == {1: 3, 2: 4}
    assert fair_split(0, claims, {})[0] == {1: 0, 2: 0}
    assert fair_split(5, [], {})[0] == {}


@pytest.mark.parametrize("available", [0, 1, 7, 99, 1000])
def test_largest_remainder_sums_exactly(available):
    claims = _claims(*[(i, i % 13, 1 + (i * 7) % 11) for i in range(1, 60)])
    proposed, _weights, _level = fair_split(available, claims, {r: r for r in range(13)})
    assert sum(proposed.values()) == min(available, sum(c.requested for c in claims))
    assert all(0 <= proposed[c.order_id] <= c.requested for c in claims)


# --- fair split through the API ---------------------------------------------------------


def test_proposal_weights_recent_distributions_then_batch_confirmation(app, client, world):
    with app.app_context():
        third_id = make_relais(name="Restos Talence", dimensions=["connexion"]).id
        a = make_order(world.relais_id, [("SIM-1", 4)])
        b = make_order(world.other_id, [("SIM-1", 4)])
        c = make_order(third_id, [("SIM-1", 4), ("REC-1", 2)])
        with tenant_session(db.session, TenantScope(all_relais=True)) as session:
            old = utcnow() - timedelta(days=120)
            session.add_all([
                RelaisStockMovement(relais_id=world.other_id, product_id=world.sim_id,
                                    kind=RelaisMovementKind.DISTRIBUTION, quantity_delta=-1),
                RelaisStockMovement(relais_id=world.relais_id, product_id=world.sim_id,
                                    kind=RelaisMovementKind.DISTRIBUTION, quantity_delta=-9, occurred_at=old),
            ])
            session.commit()
    response = client.post("/api/v1/allocation-proposals", headers=world.national, json={"sku": "SIM-1"})
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["sku"], body["available"], body["demand"]) == ("SIM-1", 5, 12)
    assert "max-min" in body["rule"] and "90" in body["rule"]
    proposals = {p["order_id"]: p for p in body["proposals"]}
    assert {oid: (p["weight"], p["proposed"]) for oid, p in proposals.items()} == {
        a: (1, 1), b: (2, 3), c: (1, 1)}  # the old distributions of relais A do not count
    assert set(body["proposals"][0]) >= {"order_id", "relais_id", "requested", "proposed"}

    too_much = client.post("/api/v1/allocation-proposals/confirm", headers=world.national, json={
        "sku": "SIM-1", "allocations": [{"order_id": a, "quantity": 3}, {"order_id": b, "quantity": 3}]})
    assert too_much.status_code == 409 and "SIM-1" in too_much.json["errors"]
    over = client.post("/api/v1/allocation-proposals/confirm", headers=world.national, json={
        "sku": "SIM-1", "allocations": [{"order_id": a, "quantity": 5}]})
    assert over.status_code == 422
    confirmed = client.post("/api/v1/allocation-proposals/confirm", headers=world.national, json={
        "sku": "SIM-1", "allocations": [{"order_id": a, "quantity": 2}, {"order_id": b, "quantity": 3},
                                        {"order_id": c, "quantity": 0}]})
    assert confirmed.status_code == 200, confirmed.json
    assert {o["order_id"]: o["status"] for o in confirmed.json["orders"]} == {
        a: "awaiting_payment", b: "awaiting_payment", c: "submitted"}
    assert national_level(app, world.sim_id) == (5, 5)
    # Order c waits for the next arrival; it is proposed again, with nothing left.
    again = client.post("/api/v1/allocation-proposals", headers=world.national, json={"sku": "SIM-1"}).json
    assert [(p["order_id"], p["proposed"]) for p in again["proposals"]] == [(c, 0)]


def test_batch_leaves_multi_product_orders_open_until_completed(app, client, world):
    with app.app_context():
        order_id = make_order(world.relais_id, [("SIM-1", 2), ("REC-1", 5)])
    confirmed = client.post("/api/v1/allocation-proposals/confirm", headers=world.national, json={
        "sku": "SIM-1", "allocations": [{"order_id": order_id, "quantity": 2}]})
    assert confirmed.json["orders"] == [{"order_id": order_id, "quantity": 2, "status": "submitted"}]
    # Its relais can no longer cancel it (stock is reserved); the national team completes it.
    assert client.post(f"/api/v1/orders/{order_id}/cancel", headers=world.admin).status_code == 409
    done = client.post(f"/api/v1/orders/{order_id}/allocation", headers=world.national,
                       json={"lines": [{"sku": "REC-1", "quantity": 5}]})
    assert done.json["status"] == "awaiting_payment"
    assert {line["sku"]: line["allocated"] for line in done.json["lines"]} == {"SIM-1": 2, "REC-1": 5}
    assert national_level(app, world.sim_id) == (5, 2)


def test_proposal_over_2000_open_orders_takes_a_handful_of_queries(app, world):
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.relais_ids', '*', true)"))
        relais_ids = [world.relais_id, world.other_id]
        for n in range(2000):
            order_id = conn.scalar(text(
                "INSERT INTO orders (relais_id, status, created_at, submitted_at, total_cents)"
                " VALUES (:r, 'submitted', now() - make_interval(secs => :n), now(), 0) RETURNING id"),
                {"r": relais_ids[n % 2], "n": 5000 - n})
            conn.execute(text(
                "INSERT INTO order_lines (relais_id, order_id, product_id, requested, unit_price_cents)"
                " VALUES (:r, :o, :p, :q, 500)"),
                {"r": relais_ids[n % 2], "o": order_id, "p": world.recharge_id, "q": 1 + n % 4})
    statements: list[str] = []
    with app.app_context():
        def count(conn, cursor, statement, *args):
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            result = allocation.propose("REC-1")
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    assert len(result["proposals"]) == 2000
    assert sum(p["proposed"] for p in result["proposals"]) == 50
    # Scope settings (2) and its audit entry (2), then product, level, open lines, relais
    # names, history.
    assert len(statements) <= 9, "\n".join(statements)


def test_confirmed_batch_of_many_orders(app, world):
    with app.app_context():
        ids = [make_order(world.relais_id if n % 2 else world.other_id, [("REC-1", 2)]) for n in range(6)]
        national_scope("test")
        result = allocation.confirm_batch("REC-1", [(oid, 2) for oid in ids])
        db.session.commit()
        assert result["allocated"] == 12
        lines = db.session.scalars(select(OrderLine).where(OrderLine.order_id.in_(ids))).all()
        assert {line.allocated for line in lines} == {2}
        statuses = {o.status for o in (orders.get_order(oid) for oid in ids)}
        assert statuses == {OrderStatus.AWAITING_PAYMENT}
    assert national_level(app, world.recharge_id) == (50, 12)


def test_water_fill_exact_fractions():
    shares, level = allocation.water_fill(7, {1: 10, 2: 10, 3: 10}, {1: 1, 2: 1, 3: 1})
    assert level == Fraction(7, 3) and sum(shares.values()) == 7
