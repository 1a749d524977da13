"""Dashboards: every figure on small crafted data, role access, portfolio limits, no name.

The clock is fixed on 15 June 2026 (Paris): the current month is June, the forecast window
is March–May (92 days), the last reportable month is May (due on 10 June, so overdue).
"""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from relais_platform.accounts.models import Role
from relais_platform.beneficiaries.models import (
    AccompanimentSession,
    Beneficiary,
    Participation,
    SessionKind,
)
from relais_platform.extensions import db
from relais_platform.reporting.dashboards import forecast
from relais_platform.stock.distributions.models import Distribution
from relais_platform.stock.orders.models import Order, OrderEvent, OrderLine, OrderStatus
from relais_platform.stock.reports.models import StockReport
from relais_platform.stock.warehouse.models import (
    NationalStock,
    RelaisMovementKind,
    RelaisStock,
    RelaisStockMovement,
)
from relais_platform.tenancy import TenantScope, tenant_session
from relais_platform.tenants.models import RelaisStatus
from tests.factories import as_national, bearer, make_product, make_relais
from tests.training_helpers import login_as, make_user

TODAY = date(2026, 6, 15)
PARIS = ZoneInfo("Europe/Paris")
SECRET_NAMES = ("Zébulon", "Secretname")


def at(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, tzinfo=PARIS)


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    monkeypatch.setattr("relais_platform.reporting.dashboards.services.local_today", lambda: TODAY)
    monkeypatch.setattr("relais_platform.stock.reports.services.local_today", lambda: TODAY)


def movement(relais_id: int, product_id: int, delta: int, when: datetime,
             kind: RelaisMovementKind = RelaisMovementKind.DISTRIBUTION) -> RelaisStockMovement:
    return RelaisStockMovement(relais_id=relais_id, product_id=product_id, kind=kind, quantity_delta=delta,
                               occurred_at=when)


def order(relais_id: int, status: OrderStatus, lines: list[tuple[int, int, int, int, int]],
          events: list[tuple[OrderStatus, datetime]]) -> Order:
    """lines: (product_id, requested, allocated, shipped, received)."""
    row = Order(relais_id=relais_id, status=status, lines=[
        OrderLine(relais_id=relais_id, product_id=pid, requested=req, allocated=alloc, shipped=ship,
                  received=rec)
        for pid, req, alloc, ship, rec in lines])
    db.session.add(row)
    db.session.flush()
    db.session.add_all(OrderEvent(relais_id=relais_id, order_id=row.id, to_status=to, occurred_at=when)
                       for to, when in events)
    return row


@pytest.fixture
def w(app):
    """Relais A (Gironde, the coach's), B (Paris, another coach's), C (applied), two products."""
    with app.app_context():
        national = make_user(Role.NATIONAL)
        coach = make_user(Role.COACH)
        other_coach = make_user(Role.COACH)
        a = make_relais(name="Relais Alpha", postcode="33000", city="Bordeaux")
        b = make_relais(name="Relais Bravo", postcode="75011", city="Paris")
        make_relais(RelaisStatus.APPLIED, name="Relais Charlie")
        a.coach_id, b.coach_id = coach.id, other_coach.id
        a.terms_accepted_at = b.terms_accepted_at = at(2026, 1, 5)
        a.status_changed_at, b.status_changed_at = at(2025, 1, 2), at(2026, 3, 20)  # activations
        db.session.commit()
        admin_a, worker_a = make_user(Role.RELAIS_ADMIN, a), make_user(Role.RELAIS_WORKER, a)
        admin_b = make_user(Role.RELAIS_ADMIN, b)
        recharge = make_product(sku="REC-5", name="Recharge 5 €", category="recharge")
        kit = make_product(sku="KIT-CR", name="Kit Connect Refugees", category="kit")
        ids = SimpleNamespace(a=a.id, b=b.id, rec=recharge.id, kit=kit.id)
        users = {"national": national, "coach": coach, "other_coach": other_coach, "admin_a": admin_a,
                 "worker_a": worker_a, "admin_b": admin_b}
        ids.users = {name: user.id for name, user in users.items()}
        ids.h = {name: bearer(user) for name, user in users.items()}
        with tenant_session(db.session, TenantScope(all_relais=True)) as session:
            session.add(NationalStock(product_id=ids.rec, on_hand=100, reserved=10))
            session.add_all([
                RelaisStock(relais_id=ids.a, product_id=ids.rec, on_hand=20),
                RelaisStock(relais_id=ids.b, product_id=ids.rec, on_hand=5),
                RelaisStock(relais_id=ids.b, product_id=ids.kit, on_hand=3),
                # A, recharge: Feb 12 (outside the window), Mar 30, Apr 20 − 5 cancelled, May 45, June 7.
                movement(ids.a, ids.rec, -12, at(2026, 2, 10)),
                movement(ids.a, ids.rec, -30, at(2026, 3, 1, 0)),  # midnight, Paris: March
                movement(ids.a, ids.rec, -20, at(2026, 4, 3)),
                movement(ids.a, ids.rec, 5, at(2026, 4, 4), RelaisMovementKind.DISTRIBUTION_CANCELLED),
                movement(ids.a, ids.rec, -45, at(2026, 5, 31, 23)),  # 21:00 UTC: still May in Paris
                movement(ids.a, ids.rec, -7, at(2026, 6, 2)),
                # A receipt is not a distribution.
                movement(ids.a, ids.rec, 60, at(2026, 5, 2), RelaisMovementKind.RECEIPT),
                movement(ids.b, ids.kit, -3, at(2026, 5, 20)),
            ])
            order(ids.a, OrderStatus.SUBMITTED, [(ids.rec, 10, 0, 0, 0)],
                  [(OrderStatus.SUBMITTED, at(2026, 6, 1))])
            order(ids.a, OrderStatus.SHIPPED, [(ids.rec, 8, 8, 8, 0)],
                  [(OrderStatus.SUBMITTED, at(2026, 5, 1)), (OrderStatus.ALLOCATED, at(2026, 5, 2)),
                   (OrderStatus.SHIPPED, at(2026, 5, 4))])
            order(ids.a, OrderStatus.RECEIVED, [(ids.rec, 4, 4, 4, 4)],
                  [(OrderStatus.SUBMITTED, at(2026, 4, 1)), (OrderStatus.SHIPPED, at(2026, 4, 2)),
                   (OrderStatus.RECEIVED, at(2026, 4, 6))])
            order(ids.b, OrderStatus.CANCELLED, [(ids.kit, 2, 0, 0, 0)],
                  [(OrderStatus.SUBMITTED, at(2024, 1, 1)), (OrderStatus.SHIPPED, at(2024, 1, 30))])
            # A reports every month on time but April (on 20 May, due on the 10th).
            session.add_all(StockReport(relais_id=ids.a, period=period,
                                        submitted_at=at(sent.year, sent.month, 5))
                            for period, sent in ((date(2025, 12, 1), date(2026, 1, 1)),
                                                 (date(2026, 1, 1), date(2026, 2, 1)),
                                                 (date(2026, 2, 1), date(2026, 3, 1)),
                                                 (date(2026, 3, 1), date(2026, 4, 1)),
                                                 (date(2026, 5, 1), date(2026, 6, 1))))
            session.add(StockReport(relais_id=ids.a, period=date(2026, 4, 1), submitted_at=at(2026, 5, 20)))
            session.add_all([
                AccompanimentSession(relais_id=ids.a, kind=SessionKind.PERMANENCE, held_on=date(2026, 5, 12),
                                     duration_minutes=90, anonymous_count=2),
                AccompanimentSession(relais_id=ids.b, kind=SessionKind.INITIATION, held_on=date(2026, 1, 8),
                                     duration_minutes=60),
            ])
            session.commit()
        with tenant_session(db.session, TenantScope(relais_id=ids.a)) as session:
            person = Beneficiary(first_name=SECRET_NAMES[0], last_name=SECRET_NAMES[1], no_phone=True)
            session.add(person)
            session.flush()
            may_session = session.query(AccompanimentSession).one()
            session.add(Participation(session_id=may_session.id, beneficiary_id=person.id))
            common = {"product_id": ids.rec, "price_cents": 0}
            session.add_all([
                Distribution(**common, quantity=2, beneficiary_id=person.id, distributed_on=date(2026, 6, 3)),
                Distribution(**common, quantity=1, beneficiary_id=person.id, distributed_on=date(2026, 5, 3)),
                Distribution(**common, quantity=1, distributed_on=date(2026, 5, 4)),
                Distribution(**common, quantity=5, distributed_on=date(2026, 5, 5),
                             cancelled_at=at(2026, 5, 6), cancel_reason="erreur"),
            ])
            session.commit()
        db.session.remove()
    return ids


def get(app, w, who: str, path: str):
    response = app.test_client().get(path, headers=w.h[who])
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


# --- the forecast rule ------------------------------------------------------------------


def test_moving_average_days_of_cover_and_reorder_rule():
    assert forecast.moving_average([3, 6, 9, 12]) == [None, None, 6, 9]
    assert forecast.window(date(2026, 6, 1)) == (date(2026, 3, 1), date(2026, 6, 1))
    assert forecast.window_days(date(2026, 6, 1)) == 92
    assert forecast.window_days(date(2026, 4, 1)) == 90  # January to March, 28-day February
    c = forecast.Cover(on_hand=20, on_order=18, distributed_in_window=90, window_days=90, target_days=90)
    assert c.forecast == 30 and c.daily_rate == 1
    assert c.days_of_cover == 20 and not c.low
    assert c.reorder == 90 - 20 - 18
    assert forecast.Cover(10, 0, 90, 90, 90).low  # 10 days < 14
    still = forecast.Cover(on_hand=5, on_order=0, distributed_in_window=0, window_days=92, target_days=90)
    assert still.days_of_cover is None and still.reorder == 0 and not still.low
    assert forecast.Cover(on_hand=500, on_order=0, distributed_in_window=9, window_days=90,
                          target_days=90).reorder == 0  # never negative
    assert forecast.Cover(on_hand=0, on_order=0, distributed_in_window=30, window_days=90,
                          target_days=90).reorder == 30  # exact: no rounding up of 29.999…


def test_cover_target_comes_from_the_configuration(app_ctx, monkeypatch):
    monkeypatch.setitem(app_ctx.config, "DASHBOARD_COVER_TARGET_DAYS", 30)
    assert forecast.cover(0, 0, 92, date(2026, 6, 1)).reorder == 30


# --- national ---------------------------------------------------------------------------


def test_national_stock_per_product_available_reserved_in_transit_at_relais(app, w):
    data = get(app, w, "national", "/api/v1/dashboards/national")
    stock = {row["sku"]: row for row in data["stock"]}
    rec, kit = stock["REC-5"], stock["KIT-CR"]
    assert (rec["available"], rec["reserved"], rec["in_transit"], rec["at_relais"]) == (90, 10, 8, 25)
    assert (kit["available"], kit["reserved"], kit["in_transit"], kit["at_relais"]) == (0, 0, 0, 3)
    # Network cover at relais: 90 units over March–May (92 days) for 25 units held.
    assert rec["cover"]["distributed_last_3_months"] == 90
    assert rec["cover"]["forecast"] == 30
    assert rec["cover"]["days_of_cover"] == 25  # floor(25 / (90 / 92))


def test_national_distributions_per_month_over_24_months_with_moving_average(app, w):
    data = get(app, w, "national", "/api/v1/dashboards/national")
    months = data["distributions"]
    assert len(months) == 24
    assert months[0]["month"] == "2024-06" and months[-1]["month"] == "2026-05"  # complete months
    by_month = {m["month"]: m for m in months}
    assert by_month["2026-02"]["recharge"] == 12
    assert by_month["2026-03"]["recharge"] == 30
    assert by_month["2026-04"]["recharge"] == 15  # net of the cancellation
    may = by_month["2026-05"]
    assert (may["recharge"], may["other"], may["total"]) == (45, 3, 48)
    # June is not complete; receipts are not distributions.
    assert sum(m["total"] for m in months) == 12 + 30 + 15 + 48
    assert by_month["2026-05"]["moving_average"] == pytest.approx((30 + 15 + 48) / 3)
    assert months[0]["moving_average"] is None and months[1]["moving_average"] is None


def test_national_orders_by_status_and_lead_times_from_events(app, w):
    data = get(app, w, "national", "/api/v1/dashboards/national")
    counts = data["orders_by_status"]
    expected = {"submitted": 1, "shipped": 1, "received": 1, "cancelled": 1, "draft": 0}
    assert {status: counts[status] for status in expected} == expected
    legs = {leg["leg"]: leg for leg in data["lead_times"]}
    # Shipped order: 3 days to ship; received order: 1 day to ship, 4 to arrive. The cancelled
    # order of 2024 is outside the 12 months.
    assert legs["submitted_to_shipped"] == {"leg": "submitted_to_shipped", "orders": 2, "median_days": 2.0,
                                            "average_days": 2.0}
    assert (legs["shipped_to_received"]["orders"], legs["shipped_to_received"]["median_days"]) == (1, 4.0)
    assert legs["submitted_to_received"]["average_days"] == 5.0


def test_national_late_stock_reports(app, w):
    reports = get(app, w, "national", "/api/v1/dashboards/national")["stock_reports"]
    assert reports["period"] == "2026-05" and reports["due_on"] == "2026-06-10"
    assert (reports["expected"], reports["reported"]) == (2, 1)  # C is not active
    assert [row["name"] for row in reports["late"]] == ["Relais Bravo"]
    # Over December–May: B, active since March, missed March, April and May; A sent April late.
    assert reports["history_months"] == 6
    assert [(r["name"], r["late"], r["missing"]) for r in reports["history"]] == [
        ("Relais Bravo", 3, 3), ("Relais Alpha", 1, 0)]


def test_national_cover_per_relais_and_product_with_reorder(app, w):
    data = get(app, w, "national", "/api/v1/dashboards/national")
    assert data["cover_target_days"] == 90
    rows = [(r["relais_name"], r["sku"]) for r in data["cover"]]
    # Only lines being consumed, the shortest cover first: A's recharges (20 days), B's kits (92).
    assert rows == [("Relais Alpha", "REC-5"), ("Relais Bravo", "KIT-CR")]
    a = data["cover"][0]["cover"]
    assert a["on_hand"] == 20
    assert a["on_order"] == 10 + 8  # submitted (requested) + shipped, not yet received
    assert a["forecast"] == 30
    assert a["days_of_cover"] == 20  # floor(20 / (90 / 92))
    assert a["reorder"] == 89 - 20 - 18  # ceil(90 days × 90 / 92) − on hand − on order
    b = data["cover"][1]["cover"]
    assert (b["days_of_cover"], b["reorder"], b["forecast"]) == (92, 0, 1.0)


def test_national_table_by_departement_and_region(app, w):
    data = get(app, w, "national", "/api/v1/dashboards/national")
    deps = {row["code"]: row for row in data["departements"]}
    assert set(deps) == {"33", "75"}  # C (applied) is not counted
    assert deps["33"] == {"code": "33", "region": "Nouvelle-Aquitaine", "relais_active": 1,
                          "stock_at_relais": 20, "distributed": 12 + 30 + 15 + 45 + 7, "sessions": 1,
                          "accompaniment_hours": 1.5}
    assert (deps["75"]["stock_at_relais"], deps["75"]["distributed"], deps["75"]["sessions"]) == (8, 3, 1)
    regions = {row["code"]: row for row in data["regions"]}
    assert set(regions) == {"Nouvelle-Aquitaine", "Île-de-France"}
    assert regions["Île-de-France"]["accompaniment_hours"] == 1.0


def test_national_page_shows_charts_with_data_tables(app, w):
    client = login_as(app, w.users["national"])
    response = client.get("/dashboards/national")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.count('role="img"') == 6
    assert html.count("<details") >= 4 and html.count("<caption") >= 7
    assert "Relais Bravo" in html and "Île-de-France" in html
    assert "css/dashboards.css" in html and "<script>" not in html
    assert 'href="/dashboards/national"' in html  # in the navigation


# --- access -------------------------------------------------------------------------------


@pytest.mark.parametrize("who,path", [
    ("admin_a", "national"), ("worker_a", "national"), ("coach", "national"),
    ("national", "relais"), ("coach", "relais"),
    ("national", "coach"), ("admin_a", "coach"),
])
def test_roles_cannot_open_another_role_dashboard(app, w, who, path):
    response = app.test_client().get(f"/api/v1/dashboards/{path}", headers=w.h[who])
    assert response.status_code == 403
    assert response.get_json()["code"] == 403
    web = login_as(app, w.users[who]).get(f"/dashboards/{path}")
    assert web.status_code == 403


def test_signed_out_is_sent_to_sign_in(app, w):
    assert app.test_client().get("/api/v1/dashboards/national").status_code == 401
    response = app.test_client().get("/dashboards/national")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("who,target", [("national", "/dashboards/national"), ("coach", "/dashboards/coach"),
                                        ("worker_a", "/dashboards/relais")])
def test_each_role_home_leads_to_its_dashboard(app, w, who, target):
    client = login_as(app, w.users[who])
    assert client.get("/dashboards/").headers["Location"].endswith(target)
    home = client.get("/").get_data(as_text=True)
    assert f'href="{target}"' in home


def test_opening_a_network_dashboard_is_audited(app, w):
    from sqlalchemy import select

    from relais_platform.audit.models import AuditEntry

    get(app, w, "national", "/api/v1/dashboards/national")
    get(app, w, "coach", "/api/v1/dashboards/coach")
    with app.app_context(), as_national():
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "network_access")).all()
        reasons = {(e.actor_id, e.details["reason"], str(e.details["relais_ids"])) for e in entries}
    assert (w.users["national"], "tableau de bord national", "*") in reasons
    assert (w.users["coach"], "tableau de bord du coach", f"[{w.a}]") in reasons


# --- relais -------------------------------------------------------------------------------


def test_relais_dashboard_activity_stock_cover_and_open_orders(app, w):
    data = get(app, w, "worker_a", "/api/v1/dashboards/relais")
    assert data["relais_id"] == w.a and data["month"] == "2026-06"
    activity = {m["month"]: m for m in data["activity"]}
    assert len(activity) == 12 and data["activity"][-1]["month"] == "2026-06"
    # May: one handover to the registered person, one anonymous; a cancelled one not counted; a
    # session the person attended with 2 anonymous participants: the person counts once.
    assert activity["2026-05"] == {"month": "2026-05", "distributed": 2, "distributions": 2, "sessions": 1,
                                   "accompaniment_hours": 1.5, "beneficiaries": 1, "anonymous": 3,
                                   "people": 4}
    assert (activity["2026-06"]["distributed"], activity["2026-06"]["beneficiaries"]) == (2, 1)
    assert activity["2026-04"]["people"] == 0
    stock = data["stock"]
    assert [row["sku"] for row in stock] == ["REC-5"]  # its own stock only
    assert stock[0]["cover"]["days_of_cover"] == 20 and stock[0]["cover"]["reorder"] == 51
    assert sorted((o["status"], o["lines"], o["units"]) for o in data["open_orders"]) == [
        ("shipped", 1, 8), ("submitted", 1, 10)]  # not the received one


def test_relais_b_sees_only_its_own_figures(app, w):
    data = get(app, w, "admin_b", "/api/v1/dashboards/relais")
    assert data["relais_id"] == w.b
    assert sorted(row["sku"] for row in data["stock"]) == ["KIT-CR", "REC-5"]
    assert data["open_orders"] == []  # its order is cancelled
    assert all(m["distributed"] == 0 for m in data["activity"])  # the ledger is not its Distribution table


def test_relais_page_renders_with_tables(app, w):
    html = login_as(app, w.users["admin_a"]).get("/dashboards/relais").get_data(as_text=True)
    assert html.count('role="img"') == 2 and "<details" in html
    assert "Relais Bravo" not in html and "KIT-CR" not in html


# --- coach --------------------------------------------------------------------------------


def test_coach_sees_its_portfolio_only(app, w):
    data = get(app, w, "coach", "/api/v1/dashboards/coach")
    assert [row["name"] for row in data["relais"]] == ["Relais Alpha"]
    alpha = data["relais"][0]
    assert [alpha[key] for key in ("distributed", "sessions", "accompaniment_hours", "stock_on_hand")] == [
        90, 1, 1.5, 20]
    assert alpha["milestones_total"] >= 1 and "training_percent" in alpha
    assert [row["relais_name"] for row in data["cover"]] == ["Relais Alpha"]
    activity = {m["month"]: m for m in data["activity"]}
    assert activity["2026-05"] == {"month": "2026-05", "distributed": 45, "sessions": 1}  # not B's kits
    assert activity["2026-06"]["distributed"] == 7
    other = get(app, w, "other_coach", "/api/v1/dashboards/coach")
    assert [row["name"] for row in other["relais"]] == ["Relais Bravo"]
    assert all(m["distributed"] in (0, 3) for m in other["activity"])
    assert "Relais Alpha" not in str(other)


def test_coach_page_reuses_training_progress(app, w):
    html = login_as(app, w.users["coach"]).get("/dashboards/coach").get_data(as_text=True)
    assert "Relais Alpha" in html and "Relais Bravo" not in html
    assert html.count('role="img"') == 2
    assert f'/relais/{w.a}/progress' in html or "progress" in html


# --- privacy ------------------------------------------------------------------------------


@pytest.mark.parametrize("who,paths", [
    ("national", ("/api/v1/dashboards/national", "/dashboards/national")),
    ("coach", ("/api/v1/dashboards/coach", "/dashboards/coach")),
    ("admin_a", ("/api/v1/dashboards/relais", "/dashboards/relais")),
])
def test_no_beneficiary_name_anywhere(app, w, who, paths):
    api, page = paths
    body = app.test_client().get(api, headers=w.h[who]).get_data(as_text=True)
    body += login_as(app, w.users[who]).get(page).get_data(as_text=True)
    for name in SECRET_NAMES:
        assert name not in body


def test_coach_without_portfolio_sees_an_empty_dashboard(app, w):
    with app.app_context():
        lonely = make_user(Role.COACH)
        headers = bearer(lonely)
        user_id = lonely.id
        db.session.remove()
    response = app.test_client().get("/api/v1/dashboards/coach", headers=headers)
    assert response.status_code == 200
    data = response.get_json()
    assert data["relais"] == [] and data["cover"] == []
    assert all(m["distributed"] == 0 and m["sessions"] == 0 for m in data["activity"])
    html = login_as(app, user_id).get("/dashboards/coach").get_data(as_text=True)
    assert "Aucun relais dans votre portefeuille." in html and "Relais Alpha" not in html
