"""Monthly reports: coded reasons, losses of serialized products naming the units lost, and the
national review (accepted, or returned to the relais, corrected and submitted again)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from rq import SimpleWorker
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from relais_platform import jobs, mail
from relais_platform.accounts.models import Role, User
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.stock.reports import services as reports
from relais_platform.stock.warehouse import ledger, national
from relais_platform.stock.warehouse.cli import verify_command
from relais_platform.stock.warehouse.models import MovementKind, RelaisMovementKind, UnitStatus
from tests.factories import (
    as_national,
    bearer,
    imeis,
    make_product,
    make_relais,
    make_user,
    receive,
    relais_movement,
)
from tests.test_web_support import login_as, query
from tests.test_web_support import text as body

PARIS = ZoneInfo("Europe/Paris")
# Relais A's count matching its books.
CLEAN = [{"sku": "PHONE-V", "counted_closing": 3}, {"sku": "REC-V", "counted_closing": 20}]


def _before(period: date) -> datetime:
    return datetime.combine(period - timedelta(days=20), time(12), tzinfo=PARIS)


def _deliver_phones(relais_id: int, phones, serials: list[str], when: datetime) -> None:
    """Phones shipped to and received by the relais before the reported month."""
    with as_national():
        for unit in national.lock_units(phones, serials, {UnitStatus.IN_STOCK}):
            ledger.set_unit_status(unit, UnitStatus.AT_RELAIS, relais_id=relais_id)
        ledger.move_national(phones, MovementKind.SHIPMENT, on_hand_delta=-len(serials), relais_id=relais_id)
        movement = ledger.move_relais(relais_id, phones, RelaisMovementKind.RECEIPT, len(serials))
        movement.occurred_at = when
        db.session.commit()


@pytest.fixture
def world(app):
    """Relais A holds 3 phones (units) and 20 recharges since before last month; relais B 5
    recharges. Their admins, the national team."""
    with app.app_context():
        period = reports.last_ended_period()
        a, b = make_relais(name="Relais Adour"), make_relais(name="Relais Baïse")
        a.terms_accepted_at = b.terms_accepted_at = utcnow()
        db.session.commit()
        recharge = make_product(sku="REC-V")
        phones = make_product(sku="PHONE-V", serial_kind="imei")
        receive(recharge, quantity=100)
        receive(phones, serials=imeis(1, 5))
        _deliver_phones(a.id, phones, imeis(1, 3), _before(period))
        relais_movement(a.id, recharge, "receipt", 20, _before(period))
        relais_movement(b.id, recharge, "receipt", 5, _before(period))
        admin = make_user(Role.RELAIS_ADMIN, a)
        users = {"admin": admin, "b_admin": make_user(Role.RELAIS_ADMIN, b),
                 "national": make_user(Role.NATIONAL)}
        return SimpleNamespace(a=a.id, b=b.id, period=reports.format_period(period), admin_id=admin.id,
                               national_id=users["national"].id,
                               **{name: bearer(user) for name, user in users.items()})


def _submit(client, w, lines, headers=None):
    return client.post("/api/v1/stock-reports", json={"period": w.period, "lines": lines},
                       headers=headers or w.admin)


def _verify(app) -> None:
    result = app.test_cli_runner().invoke(verify_command)
    assert result.exit_code == 0, result.output


def _review(client, w, decision, comment=None, relais_id=None):
    return client.post(f"/api/v1/stock-reports/{relais_id or w.a}/{w.period}/review", headers=w.national,
                       json={"decision": decision, "comment": comment})


def _level(owner_engine, relais_id: int, sku: str) -> int:
    with owner_engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.relais_ids', '*', true)"))
        return conn.scalar(text("SELECT on_hand FROM relais_stock s JOIN products p ON p.id = s.product_id"
                                " WHERE s.relais_id = :r AND p.sku = :sku"), {"r": relais_id, "sku": sku})


def test_losses_of_a_serialized_product_name_the_units_which_become_lost(app, client, world):
    lost = imeis(2, 1)
    unnamed = _submit(client, world, [
        {"sku": "PHONE-V", "counted_closing": 2, "losses": 1, "loss_reason_code": "stolen"},
        {"sku": "REC-V", "counted_closing": 20}])
    assert unnamed.status_code == 422 and "PHONE-V" in unnamed.json["errors"]
    elsewhere = _submit(client, world, [
        {"sku": "PHONE-V", "counted_closing": 2, "losses": 1, "loss_reason_code": "stolen",
         "lost_serials": imeis(5, 1)},
        {"sku": "REC-V", "counted_closing": 20}])
    assert elsewhere.status_code == 422 and "PHONE-V" in elsewhere.json["errors"]
    response = _submit(client, world, [
        {"sku": "PHONE-V", "counted_closing": 2, "losses": 1, "loss_reason_code": "stolen",
         "loss_reason": "vol au local", "lost_serials": lost},
        {"sku": "REC-V", "counted_closing": 20}])
    assert response.status_code == 201, response.json
    line = {ln["sku"]: ln for ln in response.json["lines"]}["PHONE-V"]
    assert (line["loss_reason_code"], line["loss_reason"], line["lost_serials"]) == (
        "stolen", "vol au local", lost)
    unit = client.get(f"/api/v1/units/{lost[0]}", headers=world.admin).json
    assert unit["status"] == "lost" and "vol au local" in unit["history"][-1]["note"]
    _verify(app)


def test_a_found_unit_is_not_an_adjustment_of_the_report(client, world):
    response = _submit(client, world, [
        {"sku": "PHONE-V", "counted_closing": 4, "adjustment_reason_code": "found"},
        {"sku": "REC-V", "counted_closing": 20}])
    assert response.status_code == 422 and "PHONE-V" in response.json["errors"]


def test_reasons_are_coded_and_a_text_alone_is_coded_other(client, world):
    response = _submit(client, world, [
        {"sku": "PHONE-V", "counted_closing": 3},
        {"sku": "REC-V", "counted_closing": 17, "losses": 1, "loss_reason": "carte abîmée",
         "adjustment_reason_code": "count_error"}])
    assert response.status_code == 201, response.json
    line = {ln["sku"]: ln for ln in response.json["lines"]}["REC-V"]
    assert (line["loss_reason_code"], line["adjustment_reason_code"], line["adjustment"]) == (
        "other", "count_error", -2)
    bad = _submit(client, world, [{"sku": "REC-V", "counted_closing": 20, "adjustment_reason_code": "x"}],
                  headers=world.b_admin)
    assert bad.status_code == 422


def test_a_returned_report_comes_back_corrected(app, client, world, owner_engine):
    first = _submit(client, world, [
        {"sku": "PHONE-V", "counted_closing": 2, "adjustment_reason_code": "lost",
         "lost_serials": imeis(3, 1)},
        {"sku": "REC-V", "counted_closing": 15, "adjustment_reason_code": "count_error"}])
    assert first.status_code == 201, first.json
    assert _level(owner_engine, world.a, "REC-V") == 15
    # Still read-only while waiting for the review.
    assert _submit(client, world, [{"sku": "REC-V", "counted_closing": 20}]).status_code == 409
    queue = client.get("/api/v1/stock-reports/review", headers=world.national).json
    assert [(row["relais_id"], row["period"], row["discrepancy"]) for row in queue] == [
        (world.a, world.period, 6)]
    read = client.get(f"/api/v1/stock-reports/{world.a}/{world.period}", headers=world.national).json
    assert {ln["sku"]: ln["adjustment"] for ln in read["lines"]} == {"PHONE-V": -1, "REC-V": -5}
    returned = _review(client, world, "returned", "Recomptez les recharges : 5 d'écart ?")
    assert returned.status_code == 200 and returned.json["status"] == "returned"
    with app.app_context():
        SimpleWorker([jobs.queue("default"), jobs.queue("mail")],
                     connection=jobs.redis_connection()).work(burst=True)
        mails = mail.read_outbox()
    assert any("Recomptez les recharges" in str(message) for message in mails)
    mine = client.get(f"/api/v1/stock-reports/{world.period}", headers=world.admin).json
    assert (mine["status"], mine["review_comment"]) == ("returned", "Recomptez les recharges : 5 d'écart ?")
    home = body(login_as(app, query(app, lambda: db.session.get(User, world.admin_id))).get("/"))
    assert "renvoyé pour correction" in home
    corrected = _submit(client, world, [
        {"sku": "PHONE-V", "counted_closing": 3},
        {"sku": "REC-V", "counted_closing": 20}])
    assert corrected.status_code == 201, corrected.json
    assert corrected.json["status"] == "submitted"
    assert _level(owner_engine, world.a, "REC-V") == 20 and _level(owner_engine, world.a, "PHONE-V") == 3
    assert client.get(f"/api/v1/units/{imeis(3, 1)[0]}", headers=world.admin).json["status"] == "at_relais"
    assert _review(client, world, "accepted").json["status"] == "accepted"
    assert _submit(client, world, [{"sku": "REC-V", "counted_closing": 19}]).status_code == 409
    assert client.get("/api/v1/stock-reports/review", headers=world.national).json == []
    _verify(app)


def test_review_rules(client, world):
    assert _review(client, world, "accepted").status_code == 404  # nothing sent yet
    _submit(client, world, CLEAN)
    assert _review(client, world, "maybe").status_code == 422
    no_comment = _review(client, world, "returned")
    assert no_comment.status_code == 422 and "comment" in no_comment.json["errors"]
    forbidden = client.post(f"/api/v1/stock-reports/{world.a}/{world.period}/review", headers=world.admin,
                            json={"decision": "accepted"})
    assert forbidden.status_code == 403
    assert _review(client, world, "accepted").status_code == 200
    assert _review(client, world, "returned", "trop tard").status_code == 409


def test_the_review_queue_puts_the_largest_discrepancies_first(client, world):
    _submit(client, world, [{"sku": "PHONE-V", "counted_closing": 3}, {"sku": "REC-V", "counted_closing": 19,
                                                                       "adjustment_reason_code": "lost"}])
    _submit(client, world, [{"sku": "REC-V", "counted_closing": 1, "adjustment_reason_code": "stolen"}],
            headers=world.b_admin)
    queue = client.get("/api/v1/stock-reports/review", headers=world.national).json
    assert [(row["relais_id"], row["discrepancy"]) for row in queue] == [(world.b, 4), (world.a, 1)]


def test_the_national_team_reviews_through_the_pages(app, client, world):
    _submit(client, world, CLEAN)
    web = login_as(app, query(app, lambda: db.session.get(User, world.national_id)))
    queue = body(web.get("/distributions/national/review"))
    assert "Relais Adour" in queue
    assert 'href="/distributions/national/review"' in body(web.get("/distributions/national"))
    page = web.get(f"/distributions/national/{world.a}/{world.period}")
    assert page.status_code == 200 and "REC-V" in body(page)
    refused = web.post(f"/distributions/national/{world.a}/{world.period}", data={"decision": "returned"})
    assert refused.status_code == 422
    done = web.post(f"/distributions/national/{world.a}/{world.period}", data={"decision": "accepted"})
    assert done.status_code == 302
    assert "Aucun rapport à relire" in body(web.get("/distributions/national/review"))


def test_the_database_lets_a_report_change_only_while_returned(client, world, owner_engine):
    _submit(client, world, CLEAN)
    with pytest.raises(DBAPIError, match="read-only"), owner_engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.relais_ids', '*', true)"))
        conn.execute(text("DELETE FROM stock_report_lines"))
    _review(client, world, "returned", "à revoir")
    with owner_engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.relais_ids', '*', true)"))
        conn.execute(text("UPDATE stock_report_lines SET loss_reason = loss_reason"))
