"""Pages and endpoints of stock and orders issue the same number of SQL statements whatever
the size of the data: more serials on an order, more open orders for a fair split, more
products in the catalogue. (Lists and inventories: test_orders_api, test_stock_web,
test_stock_inventory; the fair-split proposal over 2,000 orders: test_orders_allocation.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from sqlalchemy import event, text

from relais_platform.accounts.models import Role, User
from relais_platform.extensions import db
from relais_platform.stock.catalogue.models import Product
from tests.factories import bearer, iccids, make_order, make_product, make_user, stock_up
from tests.test_web_support import login_as, make_signed_relais, query


@contextmanager
def counted(app) -> Iterator[list[str]]:
    statements: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", listener)


@pytest.fixture
def world(app) -> SimpleNamespace:
    """Relais A (connexion) with its admin, relais B, a national user, SIM cards and recharges."""
    with app.app_context():
        relais_a = make_signed_relais(name="Relais Bastide", dimensions=["connexion"])
        relais_b = make_signed_relais(name="Relais Capucins", dimensions=["connexion"])
        admin = make_user(Role.RELAIS_ADMIN, relais_a)
        national = make_user(Role.NATIONAL)
        sim = make_product(sku="SIM-Q", name="Carte SIM", category="sim", serial_kind="iccid",
                           unit_price_cents=100, max_resale_price_cents=0, validity_days=None)
        recharge = make_product(sku="REC-Q", name="Recharge", unit_price_cents=500)
        ids = SimpleNamespace(a=relais_a.id, b=relais_b.id, sim=sim.id, recharge=recharge.id,
                              admin_id=admin.id,
                              national_id=national.id, admin=bearer(admin), national=bearer(national))
        db.session.remove()
    return ids


def _web(app, user_id: int):
    return login_as(app, query(app, lambda: db.session.get(User, user_id)))


def _stocked_order(app, world: SimpleNamespace, count: int, first: int) -> int:
    """A submitted order of relais A for `count` SIM cards (and as many in national stock)."""
    with app.app_context():
        stock_up(db.session.get(Product, world.sim), serials=iccids(first, count))
        order_id = make_order(world.a, [("SIM-Q", count)], confirm_unusual=True)
        db.session.remove()
    return order_id


def _flow_counts(app, client, world: SimpleNamespace, count: int, first: int) -> dict[str, int]:
    """Statements of each step of an order of `count` serialized units, through the API and pages."""
    order_id = _stocked_order(app, world, count, first)
    steps: dict[str, int] = {}

    def step(name: str, method: str, url: str, headers: dict[str, str], body=None, code: int = 200):
        with counted(app) as statements:
            response = client.open(url, method=method, headers=headers, json=body)
        assert response.status_code == code, (name, response.json)
        steps[name] = len(statements)
        return response

    base = f"/api/v1/orders/{order_id}"
    step("allocation", "POST", f"{base}/allocation", world.national,
         {"lines": [{"sku": "SIM-Q", "quantity": count}]})
    step("manual payment", "POST", f"{base}/payments/manual", world.national,
         {"amount_cents": count * 100, "reference": "VIR-1"}, code=201)
    shipped = step("shipment", "POST", f"{base}/shipment", world.national, {})
    serials = shipped.json["lines"][0]["serials"]
    assert len(serials) == count
    step("detail (national)", "GET", base, world.national)
    step("detail (relais)", "GET", base, world.admin)
    step("delivery note", "GET", f"{base}/delivery-note", world.admin)
    step("payments", "GET", f"{base}/payments", world.admin)
    web = _web(app, world.admin_id)
    for name, url in (("detail page", f"/stock/orders/{order_id}"),
                      ("receipt page", f"/stock/orders/{order_id}/receipt")):
        with counted(app) as statements:
            assert web.get(url).status_code == 200
        steps[name] = len(statements)
    step("receipt", "POST", f"{base}/receipt", world.admin, {"lines": [
        {"sku": "SIM-Q", "received": count - 1, "refused": 1, "refusal_reason": "Carte abîmée",
         "serials": serials[1:]}]})
    step("close", "POST", f"{base}/close", world.national)
    return steps


def test_order_steps_issue_the_same_statements_for_3_or_60_serials(app, client, world):
    few = _flow_counts(app, client, world, 3, 1)
    many = _flow_counts(app, client, world, 60, 1000)
    assert many == few


def _open_orders(app, world: SimpleNamespace, count: int) -> None:
    """`count` submitted orders of recharges, alternating between relais A and B (raw SQL:
    thousands of rows in a blink)."""
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.relais_ids', '*', true)"))
        for n in range(count):
            relais_id = (world.a, world.b)[n % 2]
            order_id = conn.scalar(text(
                "INSERT INTO orders (relais_id, status, created_at, submitted_at, total_cents)"
                " VALUES (:r, 'submitted', now(), now(), 0) RETURNING id"), {"r": relais_id})
            conn.execute(text(
                "INSERT INTO order_lines (relais_id, order_id, product_id, requested, unit_price_cents)"
                " VALUES (:r, :o, :p, :q, 500)"), {"r": relais_id, "o": order_id, "p": world.recharge,
                                                  "q": 1 + n % 4})


def test_fair_split_page_and_proposal_issue_the_same_statements_for_4_or_60_orders(app, client, world):
    with app.app_context():
        stock_up(db.session.get(Product, world.recharge), quantity=10)
        db.session.remove()
    web = _web(app, world.national_id)

    def measure() -> tuple[int, int]:
        with counted(app) as page:
            assert web.get("/stock/fair-split/REC-Q").status_code == 200
        with counted(app) as api:
            response = client.post("/api/v1/allocation-proposals", headers=world.national,
                                   json={"sku": "REC-Q"})
            assert response.status_code == 200
        return len(page), len(api)

    _open_orders(app, world, 4)
    few = measure()
    _open_orders(app, world, 56)
    assert measure() == few


def test_order_form_and_catalogue_pages_issue_the_same_statements_for_3_or_40_products(app, world):
    admin, national = _web(app, world.admin_id), _web(app, world.national_id)
    urls = ((admin, "/stock/orders/new"), (national, f"/stock/orders/new?relais_id={world.a}"),
            (national, "/stock/catalogue"), (national, "/stock/national"))

    def measure() -> list[int]:
        counts = []
        for web, url in urls:
            with counted(app) as statements:
                assert web.get(url).status_code == 200, url
            counts.append(len(statements))
        return counts

    def add(first: int, count: int) -> None:
        with app.app_context():
            for n in range(first, first + count):
                stock_up(make_product(sku=f"REC-{n:03d}"), quantity=n)
            db.session.remove()

    add(1, 1)
    few = measure()
    add(2, 38)
    assert measure() == few
    page = admin.get("/stock/orders/new").get_data(as_text=True)
    assert page.count('inputmode="numeric"') == 41  # every product offered, with its stock
