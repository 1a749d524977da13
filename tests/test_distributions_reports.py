"""Monthly stock reports: pre-filled from the ledger, the formula with its adjustment, one per
relais and month, read-only once sent; what the national team reads of them; the web pages."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import func, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from relais_platform.accounts.models import Role, User
from relais_platform.extensions import db
from relais_platform.stock.reports import services as reports
from relais_platform.tenancy import TenantScope, tenant_session
from relais_platform.tenants.models import Relais
from tests.factories import bearer, make_product, make_relais, make_user, relais_movement, stock_up

PARIS = ZoneInfo("Europe/Paris")


def _at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=PARIS)


@pytest.fixture
def world(app):
    """Relais A with a recharge moved last month (opening 20, +10 received, −4 distributed,
    −1 lost: 25 expected) and a phone only held; relais B with 3 recharges; staff, national."""
    with app.app_context():
        period = reports.last_ended_period()
        a = make_relais(name="Relais Adour")
        b = make_relais(name="Relais Baïse")
        late = make_relais(name="Relais Charente")
        a.terms_accepted_at = b.terms_accepted_at = late.terms_accepted_at = func.now()
        db.session.commit()
        recharge = make_product(sku="REC-R", name="Recharge Internet", max_resale_price_cents=500)
        phone = make_product(sku="PHONE-R", name="Smartphone", category="smartphone", dimension="equipement",
                             serial_kind="imei", max_resale_price_cents=7000, validity_days=None)
        stock_up(recharge, quantity=100)
        before = _at(period - relativedelta(months=1) + timedelta(days=4))
        inside = _at(period + timedelta(days=9))
        relais_movement(a.id, recharge, "receipt", 20, before)
        relais_movement(a.id, phone, "receipt", 2, before)
        relais_movement(a.id, recharge, "receipt", 10, inside)
        relais_movement(a.id, recharge, "distribution", -4, inside)
        relais_movement(a.id, recharge, "loss", -1, inside)
        relais_movement(b.id, recharge, "receipt", 3, before)
        relais_movement(late.id, recharge, "receipt", 1, before)
        # Its first goods came after the month: it owes no report for it.
        newcomer = make_relais(name="Relais Dronne")
        relais_movement(newcomer.id, recharge, "receipt", 2, _at(period + relativedelta(months=1), 9))
        users = {
            "admin": make_user(Role.RELAIS_ADMIN, a),
            "worker": make_user(Role.RELAIS_WORKER, a),
            "b_admin": make_user(Role.RELAIS_ADMIN, b),
            "national": make_user(Role.NATIONAL),
            "coach": make_user(Role.COACH),
        }
        return SimpleNamespace(
            a=a.id, b=b.id, late=late.id, period=reports.format_period(period), period_date=period,
            recharge_id=recharge.id, user_ids={k: u.id for k, u in users.items()},
            **{k: bearer(u) for k, u in users.items()},
        )


def _lines(body) -> dict[str, dict]:
    return {line["sku"]: line for line in body["lines"]}


def _submit(client, world, lines, headers=None):
    return client.post("/api/v1/stock-reports", json={"period": world.period, "lines": lines},
                       headers=headers or world.admin)


def test_the_draft_is_prefilled_from_the_ledger(client, world):
    response = client.get(f"/api/v1/stock-reports/{world.period}", headers=world.worker)
    assert response.status_code == 200, response.json
    body = response.json
    assert body["status"] == "draft" and body["id"] is None and body["submitted_at"] is None
    lines = _lines(body)
    assert set(lines) == {"REC-R", "PHONE-R"}
    recharge = lines["REC-R"]
    assert (recharge["opening"], recharge["received"], recharge["distributed"], recharge["losses"],
            recharge["other"], recharge["expected_closing"]) == (20, 10, 4, 1, 0, 25)
    assert recharge["counted_closing"] is None
    phone = lines["PHONE-R"]
    assert (phone["opening"], phone["received"], phone["expected_closing"]) == (2, 0, 2)
    # Another relais sees its own figures only.
    other = client.get(f"/api/v1/stock-reports/{world.period}", headers=world.b_admin).json
    assert [(line["sku"], line["expected_closing"]) for line in other["lines"]] == [("REC-R", 3)]


def test_a_count_matching_the_formula_is_submitted_once(app, client, world, owner_engine):
    response = _submit(client, world, [{"sku": "REC-R", "counted_closing": 25},
                                       {"sku": "PHONE-R", "counted_closing": 2}])
    assert response.status_code == 201, response.json
    body = response.json
    assert body["status"] == "submitted" and body["id"] and body["submitted_at"]
    assert _lines(body)["REC-R"]["adjustment"] == 0
    assert client.get(f"/api/v1/stock-reports/{world.period}", headers=world.worker).json == body
    again = _submit(client, world, [{"sku": "REC-R", "counted_closing": 25},
                                    {"sku": "PHONE-R", "counted_closing": 2}])
    assert again.status_code == 409 and world.period in again.json["message"]
    with owner_engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM stock_reports")) == 1
        assert conn.scalar(text("SELECT count(*) FROM relais_stock_movements WHERE kind = 'adjustment'")) == 0


def test_a_difference_needs_a_reason_and_becomes_an_adjustment_in_the_ledger(app, client, world,
                                                                            owner_engine):
    lines = [{"sku": "REC-R", "counted_closing": 23}, {"sku": "PHONE-R", "counted_closing": 2}]
    refused = _submit(client, world, lines)
    assert refused.status_code == 422
    message = refused.json["errors"]["REC-R"][0]
    assert "23" in message and "-2" in message and "25" in message
    with owner_engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM stock_reports")) == 0
    lines[0]["adjustment_reason"] = "Deux recharges introuvables"
    response = _submit(client, world, lines)
    assert response.status_code == 201, response.json
    line = _lines(response.json)["REC-R"]
    assert (line["adjustment"], line["adjustment_reason"], line["expected_closing"]) == (
        -2, "Deux recharges introuvables", 25)
    with owner_engine.connect() as conn:
        conn.execute(text("SELECT set_config('app.relais_ids', '*', true)"))
        movement = conn.execute(text(
            "SELECT quantity_delta, reason, occurred_at FROM relais_stock_movements"
            " WHERE kind = 'adjustment'")).one()
    assert movement.quantity_delta == -2 and movement.reason == "Deux recharges introuvables"
    # Dated at the month's last instant: the next month opens from the count.
    next_month = world.period_date + relativedelta(months=1)
    assert movement.occurred_at.astimezone(PARIS) == _at(next_month, 0) - timedelta(microseconds=1)
    with app.app_context():
        with tenant_session(db.session, TenantScope(relais_id=world.a)):
            opening = {row.sku: row.opening for row in reports.prefill(world.a, next_month)}
        db.session.remove()
    assert opening["REC-R"] == 23


def test_declared_losses_need_a_reason_and_cannot_undercut_the_ledger(client, world, owner_engine):
    def submit(**recharge):
        phone = {"sku": "PHONE-R", "counted_closing": 2}
        return _submit(client, world, [{"sku": "REC-R", **recharge}, phone])

    assert "REC-R" in submit(counted_closing=22, losses=3).json["errors"]  # no reason
    assert "REC-R" in submit(counted_closing=25, losses=0, loss_reason="x").json["errors"]  # < 1 recorded
    response = submit(counted_closing=22, losses=4, loss_reason="Cartes abîmées")
    assert response.status_code == 201, response.json
    line = _lines(response.json)["REC-R"]
    assert (line["losses"], line["loss_reason"], line["adjustment"]) == (4, "Cartes abîmées", 0)
    with owner_engine.connect() as conn:
        conn.execute(text("SELECT set_config('app.relais_ids', '*', true)"))
        losses = conn.scalars(text("SELECT quantity_delta FROM relais_stock_movements WHERE kind = 'loss'"
                                   " ORDER BY id")).all()
    assert losses == [-1, -3]


@pytest.mark.parametrize("lines, key", [
    ([{"sku": "REC-R", "counted_closing": 25}], "lines"),  # the phone is missing
    ([{"sku": "REC-R", "counted_closing": 25}, {"sku": "PHONE-R", "counted_closing": 2},
      {"sku": "NOPE", "counted_closing": 1}], "NOPE"),
    ([{"sku": "REC-R", "counted_closing": -1}, {"sku": "PHONE-R", "counted_closing": 2}], "REC-R"),
    ([{"sku": "REC-R", "counted_closing": 25}, {"sku": "REC-R", "counted_closing": 25},
      {"sku": "PHONE-R", "counted_closing": 2}], "REC-R"),
])
def test_incomplete_or_wrong_lines_are_refused_and_nothing_is_stored(client, world, owner_engine, lines, key):
    response = _submit(client, world, lines)
    assert response.status_code == 422 and key in response.json["errors"], response.json
    with owner_engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM stock_reports")) == 0


def test_only_ended_months_and_only_the_admin_submits(app, client, world):
    with app.app_context():
        this_month = reports.format_period(reports.local_today())
    for period in (this_month, "2026-13", "juin"):
        assert client.get(f"/api/v1/stock-reports/{period}", headers=world.admin).status_code == 422
        refused = client.post("/api/v1/stock-reports", json={"period": period, "lines": []},
                              headers=world.admin)
        assert refused.status_code == 422 and "period" in refused.json["errors"]
    worker = _submit(client, world, [{"sku": "REC-R", "counted_closing": 25}], headers=world.worker)
    assert worker.status_code == 403
    for who in ("national", "coach"):
        headers = getattr(world, who)
        assert client.get(f"/api/v1/stock-reports/{world.period}", headers=headers).status_code == 403
        assert _submit(client, world, [], headers=headers).status_code == 403


def test_the_database_keeps_one_report_per_month_balanced_and_read_only(client, world, owner_engine):
    assert _submit(client, world, [{"sku": "REC-R", "counted_closing": 25},
                                   {"sku": "PHONE-R", "counted_closing": 2}]).status_code == 201
    with owner_engine.connect() as conn:
        report_id = conn.scalar(text("SELECT id FROM stock_reports"))
        conn.rollback()
        with pytest.raises(IntegrityError), conn.begin():
            conn.execute(text("INSERT INTO stock_reports (relais_id, period, submitted_at)"
                              " VALUES (:r, :p, now())"), {"r": world.a, "p": world.period_date})
        with pytest.raises(IntegrityError), conn.begin():
            conn.execute(text("INSERT INTO stock_report_lines (relais_id, report_id, product_id, opening,"
                              " received, distributed, losses, counted_closing)"
                              " VALUES (:r, :id, :p, 1, 0, 0, 0, 5)"),
                         {"r": world.a, "id": report_id, "p": world.recharge_id})
        for statement in ("UPDATE stock_report_lines SET counted_closing = counted_closing",
                          "DELETE FROM stock_report_lines", "UPDATE stock_reports SET submitted_at = now()",
                          "DELETE FROM stock_reports"):
            # Read-only while not returned for correction (issue 17: review of the reports).
            with pytest.raises(DBAPIError, match="read-only"), conn.begin():
                conn.execute(text(statement))


def test_national_sees_who_reported_who_is_late_and_the_network_stock(app, client, world):
    assert _submit(client, world, [{"sku": "REC-R", "counted_closing": 25},
                                   {"sku": "PHONE-R", "counted_closing": 2}]).status_code == 201
    response = client.get("/api/v1/stock-reports/status", query_string={"period": world.period},
                          headers=world.national)
    assert response.status_code == 200, response.json
    body = response.json
    rows = {row["relais_id"]: row for row in body["relais"]}
    assert rows[world.a]["reported"] and not rows[world.b]["reported"]
    assert set(rows) == {world.a, world.b, world.late}  # not the newcomer
    overdue = date.today() > date.fromisoformat(body["due_on"])
    assert rows[world.b]["late"] == rows[world.late]["late"] == overdue
    assert body["reported"] == 1 and body["late"] == (2 if overdue else 0)
    stock = {row["sku"]: row for row in client.get("/api/v1/network-stock", headers=world.national).json}
    assert (stock["REC-R"]["on_hand"], stock["REC-R"]["relais_holding"]) == (25 + 3 + 1 + 2, 4)
    assert stock["PHONE-R"]["on_hand"] == 2 and stock["PHONE-R"]["relais_holding"] == 1
    for url in ("/api/v1/stock-reports/status?period=" + world.period, "/api/v1/network-stock"):
        for headers in (world.admin, world.coach):
            assert client.get(url, headers=headers).status_code == 403


def test_a_late_report_is_flagged_after_the_due_day(app, client, world, monkeypatch):
    with app.app_context():
        due = reports.due_on(world.period_date)
    monkeypatch.setattr(reports, "local_today", lambda: due + timedelta(days=1))
    body = client.get("/api/v1/stock-reports/status", query_string={"period": world.period},
                      headers=world.national).json
    assert {row["relais_id"] for row in body["relais"] if row["late"]} == {world.a, world.b, world.late}
    monkeypatch.setattr(reports, "local_today", lambda: due)
    body = client.get("/api/v1/stock-reports/status", query_string={"period": world.period},
                      headers=world.national).json
    assert body["late"] == 0


# --- web pages --------------------------------------------------------------------------


def _browser(app, world, who):
    with app.app_context():
        return app.test_client(user=db.session.get(User, world.user_ids[who]))


def test_report_page_redisplays_with_messages_then_shows_the_report_read_only(app, world):
    browser = _browser(app, world, "admin")
    url = f"/distributions/reports/{world.period}"
    page = browser.get(url)
    assert page.status_code == 200 and 'name="counted-REC-R"' in page.get_data(as_text=True)
    form = {"sku": ["REC-R", "PHONE-R"], "counted-REC-R": "23", "losses-REC-R": "1",
            "counted-PHONE-R": "2", "losses-PHONE-R": "0"}
    refused = browser.post(url, data=form)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "ajustement" in html and 'value="23"' in html
    form["adjustment_reason-REC-R"] = "Deux recharges introuvables"
    assert browser.post(url, data=form).status_code == 302
    html = browser.get(url).get_data(as_text=True)
    assert "ne peut plus être modifié" in html and 'name="counted-REC-R"' not in html
    assert "Deux recharges introuvables" in html
    assert browser.post(url, data=form).status_code == 409


def test_worker_reads_the_draft_but_cannot_send_it(app, world):
    browser = _browser(app, world, "worker")
    url = f"/distributions/reports/{world.period}"
    html = browser.get(url).get_data(as_text=True)
    assert "Le référent du relais envoie le rapport." in html and 'name="counted-REC-R"' not in html
    assert browser.post(url, data={"sku": ["REC-R"], "counted-REC-R": "25"}).status_code == 403


def test_national_page_lists_relais_and_network_stock(app, world):
    browser = _browser(app, world, "national")
    page = browser.get("/distributions/national", query_string={"period": world.period})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    with app.app_context():
        names = [db.session.get(Relais, rid).name for rid in (world.a, world.b, world.late)]
    assert all(name in html for name in names) and "PHONE-R" in html
    assert browser.get("/distributions/national?period=2026-13").status_code == 422
    assert _browser(app, world, "admin").get("/distributions/national").status_code == 403


def test_two_simultaneous_submissions_store_one_report_and_answer_409(app, world):
    import threading

    from relais_platform.domain import DomainError

    lines = [{"sku": "REC-R", "counted_closing": 25}, {"sku": "PHONE-R", "counted_closing": 2}]
    barrier = threading.Barrier(2)
    results: list[int] = []

    def submit() -> None:
        with app.app_context():
            try:
                with tenant_session(db.session, TenantScope(relais_id=world.a)):
                    reports.prefill(world.a, world.period_date)  # both read "not yet reported"
                    barrier.wait(timeout=10)
                    try:
                        reports.submit(world.period, lines)
                        db.session.commit()
                        results.append(201)
                    except DomainError as exc:
                        db.session.rollback()
                        results.append(exc.status)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [201, 409]
    with app.app_context(), tenant_session(db.session, TenantScope(relais_id=world.a)):
        assert len(reports.stored(world.a, world.period_date).lines) == 2
