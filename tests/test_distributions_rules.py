"""Distributions: the rules of a remise, the stock it moves, cancellation and warranty returns."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from typing import Any

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select, text

from relais_platform.audit.models import AuditEntry
from relais_platform.beneficiaries.models import Beneficiary
from relais_platform.domain import DomainError
from relais_platform.extensions import db
from relais_platform.stock.distributions import services as distributions
from relais_platform.stock.distributions.models import Distribution
from relais_platform.stock.warehouse.cli import verify_command
from relais_platform.stock.warehouse.models import RelaisStockMovement, SerialUnit
from relais_platform.tenancy import TenantScope, tenant_session
from tests.factories import (
    deliver_to_relais,
    make_beneficiary,
    make_distribution_world,
    make_product,
    make_relais,
    stock_up,
)


@pytest.fixture
def world(app):
    with app.app_context():
        return make_distribution_world()


def _on_hand(owner_engine, relais_id: int, product_id: int) -> int:
    with owner_engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.relais_ids', '*', true)"))
        return conn.scalar(text("SELECT on_hand FROM relais_stock WHERE relais_id = :r AND product_id = :p"),
                           {"r": relais_id, "p": product_id})


def _unit(owner_engine, serial: str) -> Any:
    with owner_engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.relais_ids', '*', true)"))
        return conn.execute(text("SELECT status, relais_id, warranty_ends_on FROM serial_units"
                                 " WHERE serial = :s"), {"s": serial}).one()


def _post(client, headers, **body):
    return client.post("/api/v1/distributions", json=body, headers=headers)


def _give(client, world, **body):
    """A distribution to relais A's registered person, by its worker."""
    return _post(client, world.worker, **{"beneficiary_id": world.person_a, **body})


def test_recording_a_recharge_returns_its_fields_and_decreases_the_stock(client, world, owner_engine):
    response = _post(client, world.worker, sku="REC-D", quantity=2, price_cents=450,
                     beneficiary_id=world.person_a)
    assert response.status_code == 201, response.json
    body = response.json
    assert {"id", "date", "warranty_ends_on"} <= set(body)
    assert body["quantity"] == 2 and body["price_cents"] == 450 and body["programme"] == "standard"
    assert body["warranty_ends_on"] is None and body["beneficiary_id"] == world.person_a
    assert _on_hand(owner_engine, world.a, world.recharge_id) == 8
    with owner_engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.relais_ids', '*', true)"))
        movement = conn.execute(text("SELECT kind, quantity_delta, reference_id FROM relais_stock_movements"
                                     " WHERE kind = 'distribution'")).one()
    assert tuple(movement) == ("distribution", -2, body["id"])


def test_price_above_the_cap_is_refused_naming_the_cap_in_euros(client, world):
    response = _give(client, world, sku="REC-D", quantity=1, price_cents=501)
    assert response.status_code == 422
    message = response.json["errors"]["price_cents"][0]
    assert "REC-D" in message and "5,00" in message and "€" in message
    assert _give(client, world, sku="REC-D", quantity=1, price_cents=-1).status_code == 422


def test_a_free_product_accepts_only_zero(client, world):
    response = _give(client, world, sku="SIM-D", serial=world.sims[0], price_cents=100)
    assert response.status_code == 422 and "0,00" in response.json["errors"]["price_cents"][0]
    assert _give(client, world, sku="SIM-D", serial=world.sims[0], price_cents=0).status_code == 201


def test_more_than_the_stock_is_a_409_naming_the_product_and_nothing_is_kept(app, client, world,
                                                                            owner_engine):
    assert _give(client, world, sku="REC-D", quantity=10, price_cents=0).status_code == 201
    refused = _give(client, world, sku="REC-D", quantity=1, price_cents=0)
    assert refused.status_code == 409
    assert "REC-D" in refused.json["message"] and "Recharge Mobile + Internet" in refused.json["message"]
    assert _on_hand(owner_engine, world.a, world.recharge_id) == 0
    # The distribution row flushed before the refused movement went with it (same transaction).
    with app.app_context(), tenant_session(db.session, TenantScope(relais_id=world.a)):
        assert db.session.scalar(select(func.count()).select_from(Distribution)) == 1


def test_quantity_rules(client, world):
    assert _give(client, world, sku="REC-D", quantity=0, price_cents=0).status_code == 422
    response = _give(client, world, sku="PHONE-D", quantity=2, serial=world.phones[0], price_cents=0)
    assert response.status_code == 422 and "quantity" in response.json["errors"]


def test_serial_must_be_a_unit_at_this_relais(client, world):
    other_relais_unit = world.phones[3]
    for serial in (other_relais_unit, "356938030999999", None):
        response = _give(client, world, sku="PHONE-D", serial=serial, price_cents=3000)
        assert response.status_code == 422
        if serial:
            assert serial in response.json["errors"]["serial"][0]
    # A serial of another product, even at this relais, is not a phone.
    response = _give(client, world, sku="PHONE-D", serial=world.sims[0], price_cents=0)
    assert response.status_code == 422 and world.sims[0] in response.json["errors"]["serial"][0]


def test_a_device_gets_a_two_year_warranty_and_leaves_the_relais_stock(client, world, owner_engine):
    day = date.today() - timedelta(days=3)
    response = _give(client, world, sku="PHONE-D", serial=world.phones[0], price_cents=3000,
                     date=day.isoformat())
    assert response.status_code == 201, response.json
    ends = day + relativedelta(months=24)
    assert response.json["warranty_ends_on"] == ends.isoformat()
    assert response.json["serial"] == world.phones[0]
    assert tuple(_unit(owner_engine, world.phones[0])) == ("distributed", world.a, ends)
    assert _on_hand(owner_engine, world.a, world.phone_id) == 2
    again = _give(client, world, sku="PHONE-D", serial=world.phones[0], price_cents=3000)
    assert again.status_code == 422 and world.phones[0] in again.json["errors"]["serial"][0]


def test_a_product_warranty_overrides_the_default(app, client, world):
    with app.app_context():
        tablet = make_product(sku="TAB-D", category="tablet", dimension="equipement", serial_kind="serial",
                              max_resale_price_cents=7000, validity_days=None, warranty_months=12)
        stock_up(tablet, serials=["TABSERIAL001"])
        deliver_to_relais(world.a, tablet, serials=["TABSERIAL001"])
    response = _give(client, world, sku="TAB-D", serial="TABSERIAL001", price_cents=2000)
    assert response.json["warranty_ends_on"] == (date.fromisoformat(response.json["date"])
                                                 + relativedelta(months=12)).isoformat()


def test_date_in_the_future_and_unknown_programme_are_refused(client, world):
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    assert "date" in _give(client, world, sku="REC-D", price_cents=0, date=tomorrow).json["errors"]
    assert _give(client, world, sku="REC-D", price_cents=0, programme="other").status_code == 422
    ok = _give(client, world, sku="SIM-D", serial=world.sims[1], price_cents=0,
               programme="connect_refugees")
    assert ok.status_code == 201 and ok.json["programme"] == "connect_refugees"


def test_another_relais_beneficiary_is_refused_without_saying_so(client, world):
    foreign = _post(client, world.worker, sku="REC-D", price_cents=0, beneficiary_id=world.person_b)
    missing = _post(client, world.worker, sku="REC-D", price_cents=0, beneficiary_id=999_999)
    assert foreign.status_code == missing.status_code == 422
    assert foreign.json["errors"] == missing.json["errors"]


def test_anonymous_distribution_is_refused_and_last_seen_updates(app, client, world):
    # Connection and equipment go to registered people only (the seeds' rule).
    anonymous = _post(client, world.worker, sku="REC-D", price_cents=0)
    assert anonymous.status_code == 422 and "beneficiary_id" in anonymous.json["errors"]
    with app.app_context(), tenant_session(db.session, TenantScope(relais_id=world.a)):
        before = db.session.get(Beneficiary, world.person_a).last_seen_at
    assert _post(client, world.worker, sku="REC-D", price_cents=0,
                 beneficiary_id=world.person_a).status_code == 201
    with app.app_context(), tenant_session(db.session, TenantScope(relais_id=world.a)):
        assert db.session.get(Beneficiary, world.person_a).last_seen_at > before


def test_cancellation_returns_the_goods_once_and_is_audited(app, client, world, owner_engine):
    phone = _give(client, world, sku="PHONE-D", serial=world.phones[1], price_cents=3000).json
    recharge = _give(client, world, sku="REC-D", quantity=3, price_cents=0).json
    assert client.post(f"/api/v1/distributions/{phone['id']}/cancel", json={},
                       headers=world.worker).status_code == 422
    for item in (phone, recharge):
        response = client.post(f"/api/v1/distributions/{item['id']}/cancel",
                               json={"reason": "Erreur de saisie"}, headers=world.worker)
        assert response.status_code == 200 and response.json["cancel_reason"] == "Erreur de saisie"
    assert _on_hand(owner_engine, world.a, world.phone_id) == 3
    assert _on_hand(owner_engine, world.a, world.recharge_id) == 10
    assert tuple(_unit(owner_engine, world.phones[1])) == ("at_relais", world.a, None)
    twice = client.post(f"/api/v1/distributions/{phone['id']}/cancel", json={"reason": "x"},
                        headers=world.worker)
    assert twice.status_code == 409
    with app.app_context(), tenant_session(db.session, TenantScope(relais_id=world.a)):
        entries = db.session.scalars(select(AuditEntry.details)
                                     .where(AuditEntry.action == "distribution_cancelled")).all()
        kinds = db.session.scalars(select(RelaisStockMovement.kind)
                                   .where(RelaisStockMovement.reference_id == phone["id"])).all()
    assert len(entries) == 2 and all(set(e) == {"product_id", "quantity", "unit_id"} for e in entries)
    assert sorted(kinds) == ["distribution", "distribution_cancelled"]
    result = app.test_cli_runner().invoke(verify_command)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("outcome", ["returned", "defective"])
def test_warranty_return_marks_the_unit(app, client, world, owner_engine, outcome):
    phone = _give(client, world, sku="PHONE-D", serial=world.phones[2], price_cents=3000).json
    refused = client.post(f"/api/v1/distributions/{phone['id']}/warranty-return", json={"outcome": outcome},
                          headers=world.worker)
    assert refused.status_code == 422
    response = client.post(f"/api/v1/distributions/{phone['id']}/warranty-return",
                           json={"outcome": outcome, "note": "Écran ne s'allume plus"}, headers=world.worker)
    assert response.status_code == 200 and response.json["warranty_outcome"] == outcome
    assert _unit(owner_engine, world.phones[2]).status == outcome
    # Not back on hand: the device is followed up, not sold again.
    assert _on_hand(owner_engine, world.a, world.phone_id) == 2
    again = client.post(f"/api/v1/distributions/{phone['id']}/warranty-return",
                        json={"outcome": outcome, "note": "x"}, headers=world.worker)
    assert again.status_code == 409
    assert client.post(f"/api/v1/distributions/{phone['id']}/cancel", json={"reason": "x"},
                       headers=world.worker).status_code == 409
    with app.app_context(), tenant_session(db.session, TenantScope(relais_id=world.a)):
        details = db.session.scalar(select(AuditEntry.details)
                                    .where(AuditEntry.action == "distribution_warranty_return"))
    assert details == {"unit_id": details["unit_id"], "outcome": outcome}
    recharge = _give(client, world, sku="REC-D", price_cents=0).json
    not_device = client.post(f"/api/v1/distributions/{recharge['id']}/warranty-return",
                             json={"outcome": outcome, "note": "x"}, headers=world.worker)
    assert not_device.status_code == 422


def test_two_concurrent_distributions_of_the_last_unit(app):
    with app.app_context():
        relais = make_relais(name="Relais Concurrence")
        product = make_product(sku="REC-LAST", max_resale_price_cents=0)
        stock_up(product, quantity=1)
        deliver_to_relais(relais.id, product, quantity=1)
        relais_id = relais.id
        people = [make_beneficiary(relais_id, first_name=name) for name in ("Ana", "Bo")]
        db.session.remove()
    barrier = threading.Barrier(2)
    results: list[int] = []

    def distribute(person: int) -> None:
        with app.app_context():
            try:
                with tenant_session(db.session, TenantScope(relais_id=relais_id)):
                    barrier.wait(timeout=10)
                    try:
                        distributions.record({"sku": "REC-LAST", "price_cents": 0, "beneficiary_id": person})
                        db.session.commit()
                        results.append(201)
                    except DomainError as exc:
                        results.append(exc.status)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=distribute, args=(person,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [201, 409]
    with app.app_context(), tenant_session(db.session, TenantScope(relais_id=relais_id)):
        assert db.session.scalar(select(func.count()).select_from(Distribution)) == 1
        assert db.session.scalar(select(func.count()).select_from(SerialUnit)) == 0
