"""Tenant isolation of stock: roles at the API, another relais' rows, row-level security."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from relais_platform.accounts.models import Role
from relais_platform.extensions import db
from relais_platform.stock import ledger
from relais_platform.stock.models import MovementKind, Product, RelaisStock, SerialUnit
from relais_platform.tenancy import TenantScope, tenant_session
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
    assert {(i["sku"], i["on_hand"]) for i in body["items"]} == {("RECH-ISO", 4), ("SIM-ISO", 2)}
    assert [u["serial"] for u in body["units"]] == iccids(1, 2)
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
