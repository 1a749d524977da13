"""Orders API: tenant isolation, roles, the list and its bounded number of queries."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import event, text

from relais_platform.extensions import db
from tests.factories import make_order, make_orders_world


@pytest.fixture
def world(app):
    with app.app_context():
        return make_orders_world()


RELAIS_ROUTES = [
    ("GET", "/api/v1/orders/{id}", None),
    ("PATCH", "/api/v1/orders/{id}", {"lines": [{"sku": "REC-1", "quantity": 1}]}),
    ("POST", "/api/v1/orders/{id}/submit", {}),
    ("POST", "/api/v1/orders/{id}/cancel", {}),
    ("GET", "/api/v1/orders/{id}/delivery-note", None),
    ("POST", "/api/v1/orders/{id}/receipt", {"lines": [{"sku": "REC-1", "received": 1}]}),
]
NATIONAL_ROUTES = [
    ("POST", "/api/v1/orders/{id}/allocation", {"lines": [{"sku": "REC-1", "quantity": 1}]}),
    ("POST", "/api/v1/orders/{id}/shipment", {"lines": []}),
    ("POST", "/api/v1/orders/{id}/close", None),
]


@pytest.mark.parametrize(("method", "path", "body"), RELAIS_ROUTES)
def test_another_relais_order_does_not_exist(app, client, world, method, path, body):
    with app.app_context():
        theirs = make_order(world.other_id, [("REC-1", 1)], submit=False)
    response = client.open(path.format(id=theirs), method=method, headers=world.admin, json=body)
    assert response.status_code == 404
    assert client.get(f"/api/v1/orders/{theirs}", headers=world.other_admin).status_code == 200


@pytest.mark.parametrize(("method", "path", "body"), [
    *NATIONAL_ROUTES,
    ("POST", "/api/v1/allocation-proposals", {"sku": "REC-1"}),
    ("POST", "/api/v1/allocation-proposals/confirm", {"sku": "REC-1", "allocations": []}),
])
def test_national_routes_are_closed_to_relais_staff(app, client, world, method, path, body):
    with app.app_context():
        own = make_order(world.relais_id, [("REC-1", 1)])
    for headers in (world.admin, world.worker, world.coach):
        response = client.open(path.format(id=own), method=method, headers=headers, json=body)
        assert response.status_code == 403


def test_workers_read_but_do_not_order_submit_or_receive(app, client, world):
    with app.app_context():
        own = make_order(world.relais_id, [("REC-1", 1)], submit=False)
    assert client.get(f"/api/v1/orders/{own}", headers=world.worker).status_code == 200
    assert client.get("/api/v1/orders", headers=world.worker).status_code == 200
    for method, path, body in [
        ("POST", "/api/v1/orders", {"lines": [{"sku": "REC-1", "quantity": 1}]}),
        ("POST", f"/api/v1/orders/{own}/submit", {}),
        ("POST", f"/api/v1/orders/{own}/cancel", {}),
        ("POST", f"/api/v1/orders/{own}/receipt", {"lines": []}),
    ]:
        assert client.open(path, method=method, headers=world.worker, json=body).status_code == 403
    assert client.get("/api/v1/orders", headers=world.coach).status_code == 403
    assert client.get("/api/v1/orders").status_code == 401
    # Receipt is the relais' confirmation, not the national team's.
    assert client.post(f"/api/v1/orders/{own}/receipt", headers=world.national,
                       json={"lines": []}).status_code == 403


def test_lists_show_own_orders_to_relais_and_all_to_national(app, client, world):
    with app.app_context():
        mine = [make_order(world.relais_id, [("REC-1", 1)]) for _ in range(3)]
        draft = make_order(world.relais_id, [("REC-1", 1)], submit=False)
        theirs = [make_order(world.other_id, [("REC-1", 1)]) for _ in range(2)]
    own = client.get("/api/v1/orders", headers=world.admin)
    assert [o["id"] for o in own.json] == sorted([*mine, draft], reverse=True)
    assert own.headers["X-Total-Count"] == "4"
    submitted = client.get("/api/v1/orders?status=submitted", headers=world.admin).json
    assert {o["id"] for o in submitted} == set(mine)
    # A relais cannot widen its list by naming another relais.
    assert client.get(f"/api/v1/orders?relais_id={world.other_id}", headers=world.admin).json == []
    everyone = client.get("/api/v1/orders?per_page=2&page=2", headers=world.national)
    assert everyone.headers["X-Total-Count"] == "6"
    assert json.loads(everyone.headers["X-Pagination"])["last_page"] == 3
    filtered = client.get(f"/api/v1/orders?relais_id={world.other_id}", headers=world.national).json
    assert {o["id"] for o in filtered} == set(theirs)
    assert client.get("/api/v1/orders?status=bogus", headers=world.national).status_code == 422
    line = own.json[0]["lines"][0]
    assert (line["sku"], line["name"], line["available"]) == ("REC-1", "Recharge Internationale", 50)


def _count_queries(app, client, headers) -> int:
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get("/api/v1/orders?per_page=100", headers=headers)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return len(statements), len(response.json)


def _bulk_orders(app, relais_id: int, product_ids: list[int], count: int) -> None:
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.relais_ids', '*', true)"))
        for _ in range(count):
            order_id = conn.scalar(text(
                "INSERT INTO orders (relais_id, status, total_cents)"
                " VALUES (:r, 'submitted', 0) RETURNING id"),
                {"r": relais_id})
            for product_id in product_ids:
                conn.execute(text(
                    "INSERT INTO order_lines (relais_id, order_id, product_id, requested)"
                    " VALUES (:r, :o, :p, 2)"), {"r": relais_id, "o": order_id, "p": product_id})


@pytest.mark.parametrize("who", ["national", "admin"])
def test_list_query_count_does_not_grow_with_orders(app, client, world, who):
    headers = getattr(world, who)
    _bulk_orders(app, world.relais_id, [world.sim_id, world.recharge_id], 5)
    few, shown = _count_queries(app, client, headers)
    assert shown == 5
    _bulk_orders(app, world.relais_id, [world.sim_id, world.recharge_id], 45)
    _bulk_orders(app, world.other_id, [world.recharge_id], 10)
    many, shown = _count_queries(app, client, headers)
    assert shown == (60 if who == "national" else 50)
    assert few == many and many <= 12


def test_order_detail_shows_history_and_available(client, world):
    created = client.post("/api/v1/orders", headers=world.admin,
                          json={"lines": [{"sku": "SIM-1", "quantity": 2}]})
    detail = client.get(f"/api/v1/orders/{created.json['id']}", headers=world.admin).json
    assert detail["events"][0]["to_status"] == "draft"
    assert detail["lines"][0]["available"] == 5
    assert detail["estimated_cents"] == 200


def test_unknown_fields_and_bad_types_are_refused(client, world):
    assert client.post("/api/v1/orders", headers=world.admin,
                       json={"lines": [{"sku": "REC-1", "quantity": "3"}]}).status_code == 422
    assert client.post("/api/v1/orders", headers=world.admin,
                       json={"lines": [{"sku": "REC-1", "quantity": 3}], "extra": 1}).status_code == 422
    assert client.post("/api/v1/allocation-proposals", headers=world.national,
                       json={"sku": "NOPE"}).status_code == 404
