"""Hand-overs (several lines, all or nothing) and the seeds' rules on who receives what:
registered people only, the 12-month solidarity connection and its one extension,
Connect Refugees free and once, recharges coming due."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import event, text

from relais_platform.extensions import db
from tests.factories import deliver_to_relais, iccids, make_distribution_world, make_product, stock_up
from tests.test_api_auth import assert_error


@pytest.fixture
def world(app):
    with app.app_context():
        w = make_distribution_world()
        kit = make_product(sku="KIT-CR", name="Kit Connect Refugees", category="kit", serial_kind="iccid",
                           unit_price_cents=0, max_resale_price_cents=500, validity_days=60)
        w.kits = iccids(500, 3)
        stock_up(kit, serials=w.kits)
        deliver_to_relais(w.a, kit, serials=w.kits)
        db.session.remove()
        return w


def _today() -> date:
    """The platform's today (Europe/Paris), which the services date hand-overs with."""
    return datetime.now(ZoneInfo("Europe/Paris")).date()


def _handover(client, world, lines, **body):
    return client.post("/api/v1/handovers", headers=world.worker,
                       json={"beneficiary_id": world.person_a, "lines": lines, **body})


def _on_hand(owner_engine, relais_id: int, sku: str) -> int:
    with owner_engine.connect() as conn:
        return conn.scalar(text("SELECT s.on_hand FROM relais_stock s JOIN products p ON p.id = s.product_id"
                                " WHERE s.relais_id = :r AND p.sku = :sku"), {"r": relais_id, "sku": sku})


def _count(owner_engine, table: str) -> int:
    with owner_engine.connect() as conn:
        return conn.scalar(text(f"SELECT count(*) FROM {table}"))


def test_a_sim_a_recharge_and_a_phone_in_one_request(client, world, owner_engine):
    lines = [{"sku": "SIM-D", "serial": world.sims[0], "price_cents": 0},
             {"sku": "REC-D", "quantity": 2, "price_cents": 450},
             {"sku": "PHONE-D", "serial": world.phones[0], "price_cents": 3000}]
    response = _handover(client, world, lines)
    assert response.status_code == 201, response.json
    body = response.json
    assert set(body) == {"id", "beneficiary_id", "date", "total_cents", "lines"}
    assert body["beneficiary_id"] == world.person_a and body["total_cents"] == 2 * 450 + 3000
    assert [line["sku"] for line in body["lines"]] == ["SIM-D", "REC-D", "PHONE-D"]
    assert set(body["lines"][0]) >= {"distribution_id", "sku", "quantity", "serial", "price_cents",
                                     "warranty_ends_on"}
    assert body["lines"][0]["serial"] == world.sims[0] and body["lines"][1]["quantity"] == 2
    assert body["lines"][2]["warranty_ends_on"] == (date.fromisoformat(body["date"])
                                                    + relativedelta(months=24)).isoformat()
    assert _on_hand(owner_engine, world.a, "REC-D") == 8 and _on_hand(owner_engine, world.a, "PHONE-D") == 2
    # Each line is still a distribution, listed by /distributions.
    listed = client.get(f"/api/v1/distributions?beneficiary_id={world.person_a}", headers=world.worker).json
    assert {d["id"] for d in listed} == {line["distribution_id"] for line in body["lines"]}
    again = client.get(f"/api/v1/handovers/{body['id']}", headers=world.worker)
    assert again.status_code == 200 and again.json == body
    person = client.get(f"/api/v1/beneficiaries/{world.person_a}", headers=world.worker).json
    assert person["connection_until"] == (date.fromisoformat(body["date"]) + relativedelta(months=12)
                                          - timedelta(days=1)).isoformat()


def test_one_bad_line_is_named_and_nothing_is_written(client, world, owner_engine):
    before = (_count(owner_engine, "distributions"), _count(owner_engine, "handovers"),
              _on_hand(owner_engine, world.a, "REC-D"), _count(owner_engine, "relais_stock_movements"))
    lines = [{"sku": "REC-D", "price_cents": 0},
             {"sku": "PHONE-D", "serial": "000000000000000", "price_cents": 3000}]
    body = assert_error(_handover(client, world, lines), 422)
    assert list(body["errors"]) == ["lines.1.serial"]
    price = assert_error(_handover(client, world, [{"sku": "REC-D", "price_cents": 0},
                                                   {"sku": "REC-D", "price_cents": 99_999}]), 422)
    assert list(price["errors"]) == ["lines.1.price_cents"]
    twice = assert_error(_handover(client, world, [
        {"sku": "PHONE-D", "serial": world.phones[0], "price_cents": 0},
        {"sku": "PHONE-D", "serial": world.phones[0], "price_cents": 0}]), 422)
    assert list(twice["errors"]) == ["lines.1.serial"]
    # Stock short on the last line: refused after the first lines were written, all rolled back.
    short = _handover(client, world, [{"sku": "REC-D", "price_cents": 0},
                                      {"sku": "REC-D", "quantity": 10, "price_cents": 0}])
    assert short.status_code == 409 and "lines.1.quantity" in short.json["errors"]
    after = (_count(owner_engine, "distributions"), _count(owner_engine, "handovers"),
             _on_hand(owner_engine, world.a, "REC-D"), _count(owner_engine, "relais_stock_movements"))
    assert after == before


def test_a_handover_needs_a_registered_person(client, world):
    body = assert_error(client.post("/api/v1/handovers", headers=world.worker,
                                    json={"lines": [{"sku": "REC-D", "price_cents": 0}]}), 422)
    assert "beneficiary_id" in body["errors"]
    foreign = _handover(client, world, [{"sku": "REC-D", "price_cents": 0}], beneficiary_id=world.person_b)
    missing = _handover(client, world, [{"sku": "REC-D", "price_cents": 0}], beneficiary_id=987_654)
    assert foreign.status_code == missing.status_code == 422
    assert foreign.json["errors"] == missing.json["errors"]


def test_equipment_without_a_person_is_refused_by_distributions_too(client, world):
    response = client.post("/api/v1/distributions", headers=world.worker,
                            json={"sku": "PHONE-D", "serial": world.phones[0], "price_cents": 0})
    assert "beneficiary_id" in assert_error(response, 422)["errors"]


def test_connection_period_ends_after_twelve_months_and_extends_once(app, client, world, owner_engine):
    start = _today() - relativedelta(months=13)
    first = _handover(client, world, [{"sku": "REC-D", "price_cents": 0}], date=start.isoformat())
    assert first.status_code == 201
    until = start + relativedelta(months=12) - timedelta(days=1)
    refused = client.post("/api/v1/distributions", headers=world.worker,
                          json={"sku": "REC-D", "price_cents": 0, "beneficiary_id": world.person_a})
    body = assert_error(refused, 409)
    assert body["errors"]["code"] == ["connection_period_over"]
    assert body["errors"]["connection_until"] == [until.isoformat()]
    assert until.strftime("%d/%m/%Y") in body["message"]
    assert _handover(client, world, [{"sku": "SIM-D", "serial": world.sims[0], "price_cents": 0}]
                     ).json["errors"]["code"] == ["connection_period_over"]
    # Equipment is not connection: still handed over.
    assert _handover(client, world, [{"sku": "PHONE-D", "serial": world.phones[0],
                                      "price_cents": 0}]).status_code == 201
    url = f"/api/v1/beneficiaries/{world.person_a}/connection-extension"
    assert client.post(url, headers=world.worker, json={"months": 6, "reason": "Recherche d'emploi"}
                       ).status_code == 403
    assert "months" in assert_error(client.post(url, headers=world.admin, json={"months": 13, "reason": "x"}),
                                    422)["errors"]
    assert "reason" in assert_error(client.post(url, headers=world.admin, json={"months": 6, "reason": " "}),
                                    422)["errors"]
    extended = client.post(url, headers=world.admin, json={"months": 6, "reason": "Recherche d'emploi"})
    assert extended.status_code == 200
    extended_until = start + relativedelta(months=18) - timedelta(days=1)
    assert extended.json["connection_until"] == extended_until.isoformat()
    assert _handover(client, world, [{"sku": "REC-D", "price_cents": 0}]).status_code == 201
    assert_error(client.post(url, headers=world.admin, json={"months": 3, "reason": "encore"}), 409)
    with owner_engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM audit_log WHERE action = 'connection_extended'")) == 1
    # Another relais' person: not found.
    other = f"/api/v1/beneficiaries/{world.person_b}/connection-extension"
    assert_error(client.post(other, headers=world.admin, json={"months": 6, "reason": "x"}), 404)


def test_connection_until_is_null_before_any_connection_product(client, world):
    person = client.get(f"/api/v1/beneficiaries/{world.person_a}", headers=world.worker).json
    assert person["connection_until"] is None
    _handover(client, world, [{"sku": "PHONE-D", "serial": world.phones[0], "price_cents": 0}])
    person = client.get(f"/api/v1/beneficiaries/{world.person_a}", headers=world.worker).json
    assert person["connection_until"] is None


def test_cancelling_the_first_connection_product_moves_the_start(client, world):
    early = (_today() - timedelta(days=40)).isoformat()
    first = _handover(client, world, [{"sku": "REC-D", "price_cents": 0}], date=early).json
    _handover(client, world, [{"sku": "REC-D", "price_cents": 0}])
    client.post(f"/api/v1/distributions/{first['lines'][0]['distribution_id']}/cancel",
                headers=world.worker, json={"reason": "erreur de saisie"})
    person = client.get(f"/api/v1/beneficiaries/{world.person_a}", headers=world.worker).json
    assert person["connection_until"] == (_today() + relativedelta(months=12)
                                          - timedelta(days=1)).isoformat()


def test_connect_refugees_is_free_once_and_starts_the_connection(client, world):
    paid = assert_error(_handover(client, world, [{"sku": "KIT-CR", "serial": world.kits[0],
                                                   "price_cents": 100}]), 422)
    assert list(paid["errors"]) == ["lines.0.price_cents"]
    programme = assert_error(client.post("/api/v1/distributions", headers=world.worker, json={
        "sku": "REC-D", "price_cents": 100, "programme": "connect_refugees",
        "beneficiary_id": world.person_a}), 422)
    assert "price_cents" in programme["errors"]
    given = _handover(client, world, [{"sku": "KIT-CR", "serial": world.kits[0], "price_cents": 0}],
                      programme="connect_refugees")
    assert given.status_code == 201
    person = client.get(f"/api/v1/beneficiaries/{world.person_a}", headers=world.worker).json
    assert person["connection_until"] is not None
    second = assert_error(_handover(client, world, [{"sku": "KIT-CR", "serial": world.kits[1],
                                                     "price_cents": 0}]), 409)
    assert second["errors"]["code"] == ["connect_refugees_already_given"]
    # A standard recharge afterwards is fine (within the period).
    assert _handover(client, world, [{"sku": "REC-D", "price_cents": 0}]).status_code == 201


def test_recharges_coming_due(client, world):
    # REC-D lasts 30 days: handed 25 days ago, it runs out in 5 days.
    day = (_today() - timedelta(days=25)).isoformat()
    assert _handover(client, world, [{"sku": "REC-D", "price_cents": 0}], date=day).status_code == 201
    due = client.get("/api/v1/recharges/due?within_days=7", headers=world.worker)
    assert due.status_code == 200
    assert [(row["beneficiary_id"], row["runs_out_on"]) for row in due.json] == [
        (world.person_a, (_today() + timedelta(days=5)).isoformat())]
    assert {"phone", "language", "first_name", "last_name"} <= set(due.json[0])
    assert client.get("/api/v1/recharges/due?within_days=3", headers=world.worker).json == []
    # Recharged again today: no longer due.
    _handover(client, world, [{"sku": "REC-D", "price_cents": 0}])
    assert client.get("/api/v1/recharges/due?within_days=7", headers=world.worker).json == []
    assert client.get("/api/v1/recharges/due", headers=world.b_admin).json == []
    assert_error(client.get("/api/v1/recharges/due", headers=world.national), 403)
    assert_error(client.get("/api/v1/recharges/due?within_days=500", headers=world.worker), 422)


def test_handover_receipt_in_the_persons_language(app, client, world):
    client.patch(f"/api/v1/beneficiaries/{world.person_a}", headers=world.worker, json={"language": "uk"})
    made = _handover(client, world, [{"sku": "REC-D", "price_cents": 450},
                                     {"sku": "SIM-D", "serial": world.sims[0], "price_cents": 0}]).json
    with app.app_context():
        from relais_platform.stock.distributions import handovers, receipts
        from relais_platform.tenancy import TenantScope, tenant_session

        with tenant_session(db.session, TenantScope(relais_id=world.a)):
            handover = handovers.get(made["id"])
            assert receipts.person_language(handovers.language_of(handover)) == "uk"
            from relais_platform.tenants.models import Relais

            html = receipts.render_handover_html(
                receipts.build_handover(handover, db.session.get(Relais, world.a), "uk"))
    assert "Квитанція про отримання" in html and world.sims[0] in html and "4,50" in html
    pdf = client.get(f"/api/v1/handovers/{made['id']}/receipt", headers=world.worker)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert "-uk.pdf" in pdf.headers["Content-Disposition"]


def test_three_line_handover_costs_a_bounded_number_of_statements(app, client, world):
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def run(lines) -> int:
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            assert _handover(client, world, lines).status_code == 201
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements)

    one = run([{"sku": "REC-D", "price_cents": 0}])
    three = run([{"sku": "REC-D", "price_cents": 0},
                 {"sku": "SIM-D", "serial": world.sims[0], "price_cents": 0},
                 {"sku": "PHONE-D", "serial": world.phones[0], "price_cents": 0}])
    # A fixed cost, then a few statements per line (its product, lock, row, movement, audit).
    assert three <= 60, statements
    assert three - one <= 2 * 12


def test_a_merge_keeps_the_earliest_connection_start(app, client, world):
    from tests.factories import make_beneficiary

    with app.app_context():
        twin = make_beneficiary(world.a, first_name="Zénobie", last_name="Quastro")
    early = (_today() - timedelta(days=100)).isoformat()
    assert _handover(client, world, [{"sku": "REC-D", "price_cents": 0}], beneficiary_id=twin,
                     date=early).status_code == 201
    assert _handover(client, world, [{"sku": "REC-D", "price_cents": 0}]).status_code == 201
    merged = client.post("/api/v1/beneficiaries/merge", headers=world.admin,
                         json={"keep_id": world.person_a, "merge_id": twin})
    assert merged.status_code == 200
    assert merged.json["connection_until"] == (date.fromisoformat(early) + relativedelta(months=12)
                                               - timedelta(days=1)).isoformat()
    handed = client.get(f"/api/v1/distributions?beneficiary_id={world.person_a}", headers=world.worker).json
    assert len(handed) == 2
