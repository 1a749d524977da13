"""The dashboards cost the same number of SQL statements for a small and a ten times larger network."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from relais_platform.accounts.models import Role
from relais_platform.beneficiaries.models import AccompanimentSession, Beneficiary, Participation, SessionKind
from relais_platform.extensions import db
from relais_platform.stock.distributions.models import Distribution
from relais_platform.stock.orders.models import Order, OrderEvent, OrderLine, OrderStatus
from relais_platform.stock.reports.models import StockReport
from relais_platform.stock.warehouse.models import RelaisMovementKind, RelaisStock, RelaisStockMovement
from relais_platform.tenancy import TenantScope, tenant_session
from relais_platform.tenants.models import Relais
from tests.factories import bearer, make_product, make_relais, relais_data
from tests.test_training_queries import counting
from tests.training_helpers import login_as, make_user

PARIS = ZoneInfo("Europe/Paris")
DEPARTEMENTS = ("33", "75", "69", "13", "59", "2A", "974")


def _grow(app, coach_id: int, relais_a: int, products: list[int], count: int, offset: int) -> None:
    """`count` more relais in the coach's portfolio with stock, ledger, orders, sessions, reports;
    and more distributions, sessions and orders for relais A."""
    with app.app_context():
        rows = [{**relais_data(), "departement": DEPARTEMENTS[(offset + i) % len(DEPARTEMENTS)],
                 "status": "active", "coach_id": coach_id} for i in range(count)]
        ids = db.session.scalars(insert(Relais).returning(Relais.id), rows).all()
        db.session.commit()
        with tenant_session(db.session, TenantScope(all_relais=True)) as session:
            for n, relais_id in enumerate(ids):
                for product_id in products:
                    session.add(RelaisStock(relais_id=relais_id, product_id=product_id, on_hand=5 + n))
                    for month in range(1, 6):
                        session.add(RelaisStockMovement(
                            relais_id=relais_id, product_id=product_id, kind=RelaisMovementKind.DISTRIBUTION,
                            quantity_delta=-(month + n), occurred_at=datetime(2026, month, 10, tzinfo=PARIS)))
                line = OrderLine(relais_id=relais_id, product_id=products[0], requested=3, allocated=3,
                                 shipped=3)
                order = Order(relais_id=relais_id, status=OrderStatus.SHIPPED, lines=[line])
                session.add(order)
                session.flush()
                session.add_all([
                    OrderEvent(relais_id=relais_id, order_id=order.id, to_status=OrderStatus.SUBMITTED,
                               occurred_at=datetime(2026, 5, 1, tzinfo=PARIS)),
                    OrderEvent(relais_id=relais_id, order_id=order.id, to_status=OrderStatus.SHIPPED,
                               occurred_at=datetime(2026, 5, 2 + n % 5, tzinfo=PARIS)),
                    AccompanimentSession(relais_id=relais_id, kind=SessionKind.PERMANENCE,
                                         held_on=date(2026, 4, 1 + n % 28), duration_minutes=60),
                ])
                if n % 2:
                    session.add(StockReport(relais_id=relais_id, period=date(2026, 5, 1)))
            session.commit()
        with tenant_session(db.session, TenantScope(relais_id=relais_a)) as session:
            people = [Beneficiary(first_name="Anne", last_name=f"Nombre{offset + i}", no_phone=True)
                      for i in range(count)]
            session.add_all(people)
            session.flush()
            for i, person in enumerate(people):
                visit = AccompanimentSession(kind=SessionKind.ATELIER_THEMATIQUE, duration_minutes=30,
                                             held_on=date(2026, 1 + i % 6, 3))
                session.add(visit)
                session.flush()
                session.add_all([
                    Participation(session_id=visit.id, beneficiary_id=person.id),
                    Distribution(product_id=products[i % len(products)], quantity=1, price_cents=0,
                                 beneficiary_id=person.id, distributed_on=date(2025, 7 + i % 6, 2)),
                    Order(status=OrderStatus.SUBMITTED,
                          lines=[OrderLine(product_id=products[0], requested=1 + i)]),
                ])
            session.commit()
        db.session.remove()


@pytest.fixture
def w(app, monkeypatch):
    today = date(2026, 6, 15)
    monkeypatch.setattr("relais_platform.reporting.dashboards.services.local_today", lambda: today)
    monkeypatch.setattr("relais_platform.stock.reports.services.local_today", lambda: date(2026, 6, 15))
    with app.app_context():
        national, coach = make_user(Role.NATIONAL), make_user(Role.COACH)
        a = make_relais(name="Relais Alpha")
        a.coach_id = coach.id
        a.terms_accepted_at = datetime(2026, 1, 1, tzinfo=PARIS)
        db.session.commit()
        admin = make_user(Role.RELAIS_ADMIN, a)
        products = [make_product(category=c).id for c in ("recharge", "sim", "kit")]
        world = {"coach": coach.id, "a": a.id, "products": products,
                 "users": {"national": national.id, "coach": coach.id, "admin": admin.id},
                 "headers": {"national": bearer(national), "coach": bearer(coach), "admin": bearer(admin)}}
        db.session.remove()
    return world


@pytest.mark.parametrize("who,api,page", [
    ("national", "/api/v1/dashboards/national", "/dashboards/national"),
    ("coach", "/api/v1/dashboards/coach", "/dashboards/coach"),
    ("admin", "/api/v1/dashboards/relais", "/dashboards/relais"),
])
def test_dashboards_use_a_bounded_number_of_queries(app, w, who, api, page):
    browser = login_as(app, w["users"][who])
    client = app.test_client()
    counts = []
    for step, extra in enumerate((3, 27)):
        _grow(app, w["coach"], w["a"], w["products"], extra, offset=step * 100)
        browser.get(page)  # warm-up: first-request work does not count
        measured = []
        with counting(app) as statements:
            assert client.get(api, headers=w["headers"][who]).status_code == 200
        measured.append(len(statements))
        with counting(app) as statements:
            response = browser.get(page)
        assert response.status_code == 200
        measured.append(len(statements))
        counts.append(measured)
    assert counts[0] == counts[1], counts
    assert max(counts[1]) <= 25, counts
    print(who, "statements (API, page):", counts[1])


def test_dashboards_are_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path, schema in (("/api/v1/dashboards/national", "DashboardNational"),
                         ("/api/v1/dashboards/relais", "DashboardRelais"),
                         ("/api/v1/dashboards/coach", "DashboardCoach")):
        operation = spec["paths"][path]["get"]
        content = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert content == {"$ref": f"#/components/schemas/{schema}"}
        assert {"401", "403"} <= set(operation["responses"])
    national = spec["components"]["schemas"]["DashboardNational"]["properties"]
    assert {"stock", "distributions", "orders_by_status", "lead_times", "stock_reports", "cover",
            "departements", "regions"} <= set(national)
