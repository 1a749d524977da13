"""Milestones and alerts read from the stock reports and accompaniment packages; coaches see no person."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from relais_platform.audit.services import network_access
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.stock.reports.models import StockReport
from relais_platform.tenancy import TenantScope, tenant_session
from relais_platform.tenants.models import Relais
from relais_platform.training.alerts import _last_overdue_period
from relais_platform.training.progress import overview
from tests.factories import make_accompaniment, make_beneficiary
from tests.training_helpers import login_as, training_world

ALL_MILESTONES = ["terms_accepted", "first_staff_trained", "first_order_submitted",
                  "first_goods_received", "first_distribution", "first_monthly_report",
                  "first_accompaniment"]


@pytest.fixture
def w(app):
    with app.app_context():
        world = training_world()
        db.session.remove()
    return world


def _progress(client, w, who="coach", relais_id=None):
    response = client.get(f"/api/v1/relais/{relais_id or w.relais_a}/progress", headers=w.h[who])
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _report(app, relais_id: int, period: date, submitted_at: datetime | None = None) -> None:
    with app.app_context(), tenant_session(db.session, TenantScope(relais_id=relais_id)) as session:
        session.add(StockReport(period=period, submitted_at=submitted_at or utcnow()))
        session.commit()


def _alerts_at(app, relais_id: int, now: datetime) -> dict[str, date]:
    with app.test_request_context():
        network_access(None, reason="test")
        [row] = overview(select(Relais).where(Relais.id == relais_id), now)
        db.session.rollback()
        return {a.code: a.since for a in row.alerts}


def _set_created(app, relais_id: int, created_at: datetime) -> None:
    with app.app_context():
        relais = db.session.get(Relais, relais_id)
        relais.created_at = relais.terms_accepted_at = created_at
        db.session.commit()


def test_every_onboarding_milestone_is_listed_in_order(client, w):
    milestones = [m["code"] for m in _progress(client, w)["milestones"]]
    assert milestones == ALL_MILESTONES


def test_first_monthly_report_and_first_accompaniment(client, app, w):
    _report(app, w.relais_a, date(2026, 1, 1))
    with app.app_context():
        person = make_beneficiary(w.relais_a, last_name="Zorglub")
        make_accompaniment(w.relais_a, [person], anonymous_count=2)
    body = _progress(client, w)
    done = {m["code"]: m["done_at"] for m in body["milestones"]}
    assert done["first_monthly_report"] and done["first_accompaniment"]
    assert body["last_activity_at"] is not None
    other = {m["code"]: m["done_at"] for m in _progress(client, w, "national", w.relais_b)["milestones"]}
    assert other["first_monthly_report"] is None and other["first_accompaniment"] is None
    # The coach follows the accompaniment without ever reaching the person.
    page = login_as(app, w.coach).get(f"/training/relais/{w.relais_a}")
    assert page.status_code == 200 and "Zorglub" not in page.get_data(as_text=True)
    assert "Zorglub" not in login_as(app, w.coach).get("/coaching/").get_data(as_text=True)


def test_accompaniment_counts_as_activity(app, w):
    _set_created(app, w.relais_a, utcnow() - timedelta(days=200))
    assert "no_activity" in _alerts_at(app, w.relais_a, utcnow())
    with app.app_context():
        make_accompaniment(w.relais_a, [], anonymous_count=4, date=utcnow().date())
    assert "no_activity" not in _alerts_at(app, w.relais_a, utcnow())


@pytest.mark.parametrize("today,period", [
    (date(2026, 3, 10), date(2026, 1, 1)),  # February's report is due on 10 March: not late yet
    (date(2026, 3, 11), date(2026, 2, 1)),
    (date(2026, 1, 31), date(2025, 12, 1)),
])
def test_last_overdue_period(today, period):
    assert _last_overdue_period(today, 10) == period


def test_report_overdue_alert(app, w):
    _set_created(app, w.relais_a, datetime(2025, 10, 20, 9, tzinfo=UTC))
    # No report at all: late since the due date of the first month, October.
    assert _alerts_at(app, w.relais_a, datetime(2026, 1, 15, 9, tzinfo=UTC))["report_overdue"] \
        == date(2025, 11, 11)
    _report(app, w.relais_a, date(2025, 10, 1))
    _report(app, w.relais_a, date(2025, 11, 1))
    # December missing (due 10 January).
    assert _alerts_at(app, w.relais_a, datetime(2026, 1, 15, 9, tzinfo=UTC))["report_overdue"] \
        == date(2026, 1, 11)
    # Before December's due date only November counts, and it was sent.
    assert "report_overdue" not in _alerts_at(app, w.relais_a, datetime(2026, 1, 9, 9, tzinfo=UTC))
    _report(app, w.relais_a, date(2025, 12, 1))
    assert "report_overdue" not in _alerts_at(app, w.relais_a, datetime(2026, 1, 15, 9, tzinfo=UTC))


def test_no_report_is_expected_before_joining_or_without_stock(app, w):
    _set_created(app, w.relais_a, datetime(2026, 1, 5, 9, tzinfo=UTC))
    assert "report_overdue" not in _alerts_at(app, w.relais_a, datetime(2026, 1, 15, 9, tzinfo=UTC))
    assert "report_overdue" in _alerts_at(app, w.relais_a, datetime(2026, 2, 15, 9, tzinfo=UTC))
    with app.app_context():
        db.session.get(Relais, w.relais_a).dimensions = ["accompagnement"]
        db.session.commit()
    assert "report_overdue" not in _alerts_at(app, w.relais_a, datetime(2026, 2, 15, 9, tzinfo=UTC))


def test_the_activity_summary_follows_the_facts_and_verify_finds_any_drift(app, w, owner_engine):
    """Triggers keep each relais' first and last events as the facts are written; the verify
    command recomputes them from the facts."""
    from sqlalchemy import text

    from relais_platform.training.milestones import verify_activity

    _report(app, w.relais_a, date(2026, 1, 1))
    with app.app_context():
        person = make_beneficiary(w.relais_a, last_name="Durand")
        make_accompaniment(w.relais_a, [person], anonymous_count=1)
        make_accompaniment(w.relais_b, [], anonymous_count=3)
    login_as(app, w.coach).get("/coaching/")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["training", "verify-activity"])
    assert result.exit_code == 0, result.output
    with app.test_request_context():
        network_access(None, reason="test")
        assert verify_activity() == []
        db.session.rollback()
    with owner_engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.relais_ids', '*', true)"))
        conn.execute(text("UPDATE relais_event_summary SET first_at = first_at - interval '1 day' "
                          "WHERE relais_id = :r AND kind = 'accompaniment'"), {"r": w.relais_a})
    result = runner.invoke(args=["training", "verify-activity"])
    assert result.exit_code == 1 and f"relais {w.relais_a} accompaniment" in result.output
