"""A relais' inventory (read side) and the bounded number of queries of the stock pages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from relais_platform.accounts.models import Role
from relais_platform.extensions import db
from relais_platform.stock.warehouse import ledger
from relais_platform.stock.warehouse.models import SerialUnit, UnitStatus
from tests.factories import (
    as_national,
    bearer,
    deliver_to_relais,
    iccids,
    make_product,
    make_relais,
    make_user,
    receive,
)


@pytest.fixture
def relais_stock(app):
    """A relais holding recharges and three SIM cards, with its worker's headers."""
    with app.app_context():
        relais = make_relais()
        recharge = make_product(sku="RECH-INV", name="Recharge")
        sims = make_product(sku="SIM-INV", name="Carte SIM", serial_kind="iccid")
        receive(recharge, quantity=50)
        receive(sims, serials=iccids(1, 5))
        deliver_to_relais(relais.id, recharge, quantity=12)
        deliver_to_relais(relais.id, sims, serials=iccids(1, 3))
        return {"relais": relais.id, "headers": bearer(make_user(Role.RELAIS_WORKER, relais)),
                "recharge": recharge.id, "sims": sims.id}


def test_inventory_lists_quantities_and_units_held(client, relais_stock):
    response = client.get("/api/v1/inventory", headers=relais_stock["headers"])
    assert response.status_code == 200, response.json
    body = response.json
    assert [{key: value for key, value in item.items() if key != "units"} for item in body] == [
        {"product_id": relais_stock["recharge"], "sku": "RECH-INV", "name": "Recharge",
         "serialized": False, "on_hand": 12},
        {"product_id": relais_stock["sims"], "sku": "SIM-INV", "name": "Carte SIM",
         "serialized": True, "on_hand": 3},
    ]
    recharge, sims = body
    assert recharge["units"] == []
    assert [(u["serial"], u["status"], u["warranty_ends_on"]) for u in sims["units"]] == [
        (serial, "at_relais", None) for serial in iccids(1, 3)]


def test_distributed_units_leave_the_inventory_list(app, client, relais_stock):
    with app.app_context(), as_national():
        unit = db.session.scalar(select(SerialUnit).where(SerialUnit.serial == iccids(2, 1)[0]))
        ledger.set_unit_status(unit, UnitStatus.DISTRIBUTED, keep_relais=True)
        db.session.commit()
    [_recharge, sims] = client.get("/api/v1/inventory", headers=relais_stock["headers"]).json
    assert [u["serial"] for u in sims["units"]] == [iccids(1, 1)[0], iccids(3, 1)[0]]


def test_units_are_paginated_and_filtered(client, relais_stock):
    page = client.get("/api/v1/inventory/units?per_page=2&page=2", headers=relais_stock["headers"])
    assert page.status_code == 200, page.json
    assert [(u["sku"], u["serial"]) for u in page.json] == [("SIM-INV", iccids(3, 1)[0])]
    assert page.headers["X-Total-Count"] == "3"
    none = client.get("/api/v1/inventory/units?sku=rech-inv", headers=relais_stock["headers"])
    assert none.json == [] and none.headers["X-Total-Count"] == "0"


def test_movement_history_newest_first(client, relais_stock):
    response = client.get("/api/v1/inventory/movements", headers=relais_stock["headers"])
    assert response.status_code == 200
    assert [(m["sku"], m["kind"], m["quantity_delta"]) for m in response.json] == [
        ("SIM-INV", "receipt", 3), ("RECH-INV", "receipt", 12)]
    only = client.get("/api/v1/inventory/movements?sku=RECH-INV", headers=relais_stock["headers"])
    assert [m["sku"] for m in only.json] == ["RECH-INV"]


def test_only_relais_staff_have_an_inventory(app, client):
    with app.app_context():
        national, coach = bearer(make_user(Role.NATIONAL)), bearer(make_user(Role.COACH))
    for url in ("/api/v1/inventory", "/api/v1/inventory/units", "/api/v1/inventory/movements"):
        for headers in (national, coach):
            assert client.get(url, headers=headers).status_code == 403
        assert client.get(url).status_code == 401


# --- bounded queries ------------------------------------------------------------------


@contextmanager
def counting(app) -> Iterator[list[str]]:
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _add_products(app, relais_id: int, first: int, count: int) -> None:
    with app.app_context():
        for n in range(first, first + count):
            product = make_product(sku=f"BULK-{n:03d}")
            receive(product, quantity=10)
            deliver_to_relais(relais_id, product, quantity=n % 3 + 1)
            sims = make_product(sku=f"BULKSIM-{n:03d}", serial_kind="iccid")
            receive(sims, serials=iccids(n * 10, 2))
            deliver_to_relais(relais_id, sims, serials=iccids(n * 10, 2))


def _queries(app, client, url: str, headers: dict[str, str]) -> int:
    with counting(app) as statements:
        response = client.get(url, headers=headers)
    assert response.status_code == 200, response.json
    return len(statements)


def test_stock_and_inventory_pages_issue_the_same_queries_for_5_or_50_products(app, client):
    with app.app_context():
        relais = make_relais()
        worker = bearer(make_user(Role.RELAIS_WORKER, relais))
        national = bearer(make_user(Role.NATIONAL))
        relais_id = relais.id
    calls = (("/api/v1/stock?per_page=200", national), ("/api/v1/inventory", worker),
             ("/api/v1/inventory/units?per_page=200", worker),
             ("/api/v1/inventory/movements?per_page=200", worker), ("/api/v1/products?per_page=200", worker))
    _add_products(app, relais_id, 1, 5)
    small = {url: _queries(app, client, url, headers) for url, headers in calls}
    _add_products(app, relais_id, 6, 45)
    large = {url: _queries(app, client, url, headers) for url, headers in calls}
    assert large == small
    stock = client.get("/api/v1/stock?per_page=200", headers=national)
    assert len(stock.json) == 100
    inventory = client.get("/api/v1/inventory", headers=worker).json
    assert (len(inventory), sum(len(item["units"]) for item in inventory)) == (100, 100)
    assert len(client.get("/api/v1/inventory/units?per_page=200", headers=worker).json) == 100
