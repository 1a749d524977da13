"""Tenant isolation of stock: roles at the API, another relais' rows, row-level security."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from relais_platform.accounts.models import Role, User
from relais_platform.extensions import db
from relais_platform.stock.catalogue.models import Product
from relais_platform.stock.warehouse import ledger
from relais_platform.stock.warehouse.models import MovementKind, RelaisStock, SerialUnit
from relais_platform.tenancy import TenantScope, tenant_session
from relais_platform.tenants.models import Relais
from tests.factories import (
    bearer,
    deliver_to_relais,
    iccids,
    make_product,
    make_relais,
    make_user,
    receive,
)


@pytest.fixture
def network(app):
    """Relais A and B each holding SIM cards and recharges; one SIM left in national stock."""
    with app.app_context():
        a, b = make_relais(name="Relais A"), make_relais(name="Relais B")
        recharge = make_product(sku="RECH-ISO")
        sims = make_product(sku="SIM-ISO", serial_kind="iccid")
        receive(recharge, quantity=30)
        receive(sims, serials=iccids(1, 5))
        deliver_to_relais(a.id, recharge, quantity=4)
        deliver_to_relais(b.id, recharge, quantity=9)
        deliver_to_relais(a.id, sims, serials=iccids(1, 2))
        deliver_to_relais(b.id, sims, serials=iccids(3, 2))
        return {
            "a": a.id, "b": b.id, "sims": sims.id, "recharge": recharge.id,
            "a_admin": bearer(make_user(Role.RELAIS_ADMIN, a)),
            "a_worker": bearer(make_user(Role.RELAIS_WORKER, a)),
            "coach": bearer(make_user(Role.COACH)),
            "national": bearer(make_user(Role.NATIONAL)),
        }


WRITES = [
    ("/api/v1/products", {"sku": "X-1", "name": "x", "category": "recharge", "dimension": "connexion",
                          "serialized": False, "unit_price_cents": 1, "max_resale_price_cents": 1,
                          "validity_days": 1}),
    ("/api/v1/stock/receipts", {"sku": "RECH-ISO", "quantity": 100}),
    ("/api/v1/stock/adjustments", {"sku": "RECH-ISO", "quantity": 100, "reason": "x"}),
    ("/api/v1/stock/returns", {"sku": "SIM-ISO", "serials": iccids(1, 1), "reason": "x"}),
]


@pytest.mark.parametrize(("url", "body"), WRITES)
def test_relais_staff_and_coaches_cannot_write_national_stock(app, client, network, url, body):
    for who in ("a_admin", "a_worker", "coach"):
        assert client.post(url, json=body, headers=network[who]).status_code == 403
    stock = {r["sku"]: r["on_hand"] for r in client.get("/api/v1/stock", headers=network["national"]).json}
    assert stock == {"RECH-ISO": 17, "SIM-ISO": 1}


def test_national_stock_page_is_national_only(client, network):
    for who in ("a_admin", "a_worker", "coach"):
        assert client.get("/api/v1/stock", headers=network[who]).status_code == 403
    assert client.get("/api/v1/units/" + iccids(1, 1)[0], headers=network["coach"]).status_code == 403


def test_inventory_never_shows_another_relais(client, network):
    body = client.get("/api/v1/inventory", headers=network["a_worker"]).json
    assert {(i["sku"], i["on_hand"]) for i in body} == {("RECH-ISO", 4), ("SIM-ISO", 2)}
    assert [u["serial"] for i in body for u in i["units"]] == iccids(1, 2)
    units = client.get("/api/v1/inventory/units", headers=network["a_worker"]).json
    assert [u["serial"] for u in units] == iccids(1, 2)
    moves = client.get("/api/v1/inventory/movements", headers=network["a_admin"]).json
    assert sorted(m["quantity_delta"] for m in moves) == [2, 4]


def test_units_of_another_relais_or_of_national_stock_are_not_found(client, network):
    own, other, national = iccids(1, 1)[0], iccids(3, 1)[0], iccids(5, 1)[0]
    mine = client.get(f"/api/v1/units/{own}", headers=network["a_worker"])
    assert mine.status_code == 200, mine.json
    assert mine.json["relais_id"] == network["a"]
    # Its history shows the events of its own custody only.
    assert [e["to_status"] for e in mine.json["history"]] == ["at_relais"]
    for serial in (other, national):
        response = client.get(f"/api/v1/units/{serial}?sku=SIM-ISO", headers=network["a_worker"])
        assert response.status_code == 404
        assert client.get(f"/api/v1/units/{serial}", headers=network["national"]).status_code == 200
    # Not even a serial: unknown, like any other.
    assert client.get("/api/v1/units/89%00%01", headers=network["national"]).status_code == 404


def test_row_level_security_hides_other_relais_rows_even_in_raw_sql(app, network):
    with app.app_context(), tenant_session(db.session, TenantScope(relais_id=network["a"])) as session:
        serials = session.scalars(text("SELECT serial FROM serial_units ORDER BY serial")).all()
        holders = set(session.scalars(text("SELECT relais_id FROM relais_stock")))
        assert session.scalars(text("SELECT id FROM stock_movements")).all() == []
        # The ORM filter adds its own criteria on tenant tables.
        assert {r.relais_id for r in session.scalars(select(RelaisStock))} == {network["a"]}
    assert serials == iccids(1, 2)
    assert holders == {network["a"]}


def test_a_relais_scope_cannot_write_national_stock(app, network):
    with app.app_context(), tenant_session(db.session, TenantScope(relais_id=network["a"])) as session:
        product = session.get(Product, network["recharge"])
        with pytest.raises(DBAPIError, match="row-level security"):
            ledger.move_national(product, MovementKind.ADJUSTMENT, on_hand_delta=1000)
            session.flush()
        session.rollback()
        # Rows outside the relais are invisible, hence untouched.
        touched = session.execute(text("UPDATE serial_units SET relais_id = :a"
                                       " WHERE relais_id IS DISTINCT FROM :a RETURNING id"),
                                  {"a": network["a"]}).all()
        assert touched == []
        session.commit()
    with app.app_context(), tenant_session(db.session, TenantScope(all_relais=True)) as session:
        held = dict(session.execute(select(SerialUnit.serial, SerialUnit.relais_id)).all())
    assert [held[s] for s in iccids(1, 5)] == [network["a"]] * 2 + [network["b"]] * 2 + [None]


# --- every API route taking an order id: another relais gets 404 -------------------------

ORDER_API_ROUTES = [
    ("GET", "/api/v1/orders/{id}", None),
    ("PATCH", "/api/v1/orders/{id}", {"lines": [{"sku": "RECH-ISO", "quantity": 1}]}),
    ("POST", "/api/v1/orders/{id}/submit", {}),
    ("POST", "/api/v1/orders/{id}/cancel", {}),
    ("POST", "/api/v1/orders/{id}/allocation", {"lines": [{"sku": "RECH-ISO", "quantity": 1}]}),
    ("POST", "/api/v1/orders/{id}/shipment", {}),
    ("GET", "/api/v1/orders/{id}/delivery-note", None),
    ("POST", "/api/v1/orders/{id}/receipt", {"lines": [{"sku": "RECH-ISO", "received": 1}]}),
    ("POST", "/api/v1/orders/{id}/close", None),
    ("GET", "/api/v1/orders/{id}/payments", None),
    ("POST", "/api/v1/orders/{id}/payments/manual", {"amount_cents": 100, "reference": "VIR-1"}),
    ("POST", "/api/v1/orders/{id}/checkout", None),
    ("POST", "/api/v1/orders/{id}/invoice", None),
    ("GET", "/api/v1/orders/{id}/pick-list", None),
    ("GET", "/api/v1/orders/{id}/shipments", None),
    ("POST", "/api/v1/orders/{id}/shipments",
     {"location_id": 1, "lines": [{"sku": "RECH-ISO", "quantity": 1}]}),
    # The order is looked up before its parcel: any parcel id answers the same.
    ("POST", "/api/v1/orders/{id}/shipments/{parcel}/receipt",
     {"lines": [{"sku": "RECH-ISO", "received": 1}]}),
]


def test_every_api_route_with_an_order_id_is_in_the_matrix(app):
    covered = {(method, path.replace("{id}", "<int:order_id>").replace("{parcel}", "<int:shipment_id>"))
               for method, path, _body in ORDER_API_ROUTES}
    found = {(method, rule.rule) for rule in app.url_map.iter_rules() if "order_id" in rule.arguments
             for method in rule.methods - {"HEAD", "OPTIONS"} if rule.rule.startswith("/api/v1/")}
    assert found == covered


def _order_of_a(app, network, *, ship: bool) -> int:
    """An order of relais A: a draft, or allocated, paid by hand and shipped."""
    from relais_platform.stock.orders import allocation, payments, shipping
    from relais_platform.stock.orders import services as orders
    from tests.factories import make_order

    with app.app_context():
        order_id = make_order(network["a"], [("RECH-ISO", 2)], submit=ship)
        if ship:
            with tenant_session(db.session, TenantScope(all_relais=True)) as session:
                national = session.scalar(select(User).where(User.role == Role.NATIONAL))
                order = orders.get_order(order_id)
                allocation.allocate(order, {"RECH-ISO": 2})
                payments.record_manual_payment(order, order.total_cents, "VIR-0", actor=national)
                shipping.ship(order)
                session.commit()
        db.session.remove()
    return order_id


def _state(app, order_id: int) -> tuple:
    from relais_platform.stock.orders.models import Order, OrderEvent, Payment

    with app.app_context(), tenant_session(db.session, TenantScope(all_relais=True)) as session:
        order = session.get(Order, order_id)
        return (order.status, [(line.requested, line.allocated, line.shipped, line.received)
                               for line in order.lines],
                session.scalar(select(func.count()).select_from(OrderEvent)
                               .where(OrderEvent.order_id == order_id)),
                session.scalar(select(func.count()).select_from(Payment)
                               .where(Payment.order_id == order_id)))


@pytest.mark.parametrize("ship", [False, True], ids=["draft", "shipped"])
def test_another_relais_gets_404_on_every_order_api_route_and_nothing_changes(app, client, network, ship):
    order_id = _order_of_a(app, network, ship=ship)
    with app.app_context():
        relais_b = db.session.get(Relais, network["b"])
        outsiders = {"b_admin": bearer(make_user(Role.RELAIS_ADMIN, relais_b)),
                     "b_worker": bearer(make_user(Role.RELAIS_WORKER, relais_b))}
    before = _state(app, order_id)
    for who, headers in outsiders.items():
        for method, path, body in ORDER_API_ROUTES:
            url = path.format(id=order_id, parcel=999_999_999)
            response = client.open(url, method=method, headers=headers, json=body)
            assert response.status_code == 404, (who, method, url, response.status_code, response.json)
    assert _state(app, order_id) == before
    # The routes exist: relais A's own admin reaches the order.
    assert client.get(f"/api/v1/orders/{order_id}", headers=network["a_admin"]).status_code == 200


def test_another_relais_order_is_absent_from_its_list(app, client, network):
    order_id = _order_of_a(app, network, ship=False)
    with app.app_context():
        b_admin = bearer(make_user(Role.RELAIS_ADMIN, db.session.get(Relais, network["b"])))
    listed = client.get("/api/v1/orders", headers=b_admin)
    assert listed.status_code == 200 and listed.json == [] and listed.headers["X-Total-Count"] == "0"
    # A relais cannot widen its list with the national team's filter.
    widened = client.get(f"/api/v1/orders?relais_id={network['a']}", headers=b_admin)
    assert widened.json == []
    own = client.get("/api/v1/orders", headers=network["a_worker"]).json
    assert [o["id"] for o in own] == [order_id]


def test_another_relais_unit_is_404_on_the_unit_page_too(app, network):
    from tests.test_web_support import login_as, query

    with app.app_context():
        worker_id = make_user(Role.RELAIS_WORKER, db.session.get(Relais, network["a"])).id
    web = login_as(app, query(app, lambda: db.session.get(User, worker_id)))
    assert web.get(f"/stock/units?serial={iccids(1, 1)[0]}").status_code == 200
    for serial in (iccids(3, 1)[0], iccids(5, 1)[0]):
        assert web.get(f"/stock/units?serial={serial}&sku=SIM-ISO").status_code == 404
