"""Coaching: coach assignment, milestones and alerts from real rows, private notes, isolation, digest."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.stock.catalogue.models import Category, Product
from relais_platform.stock.orders.models import Order, OrderStatus
from relais_platform.stock.warehouse.models import RelaisMovementKind, RelaisStock, RelaisStockMovement
from relais_platform.tenancy import TenantScope, tenant_session
from relais_platform.tenants.models import Dimension, Relais
from tests.training_helpers import login_as, outbox, training_world

NOTE = "Tension dans le binôme, à revoir en mars"


@pytest.fixture
def w(app):
    with app.app_context():
        world = training_world()
        db.session.remove()
    return world


def _progress(client, w, who="coach", relais_id=None):
    return client.get(f"/api/v1/relais/{relais_id or w.relais_a}/progress", headers=w.h[who])


def _log_session(client, w, who="coach", **overrides):
    body = {"date": "2026-01-20", "kind": "visit", "topics": "Premières commandes", "notes": NOTE,
            "next_steps": [{"text": "Passer la première commande", "due_date": "2026-02-01"}]}
    body.update(overrides)
    return client.post(f"/api/v1/relais/{w.relais_a}/coaching-sessions", json=body, headers=w.h[who])


def _stock_rows(app, relais_id: int, *, on_hand: int, distributed: int) -> None:
    """An order submitted and received, a stock level and distributions, as the relais would."""
    with app.app_context():
        product = Product(sku="SIM-T", name="Carte SIM solidaire", category=Category.SIM,
                          dimension=Dimension.CONNEXION, serialized=False, unit_price_cents=100,
                          max_resale_price_cents=0)
        db.session.add(product)
        db.session.commit()
        product_id = product.id
        with tenant_session(db.session, TenantScope(relais_id=relais_id)) as session:
            now = utcnow()
            session.add(Order(status=OrderStatus.RECEIVED, submitted_at=now - timedelta(days=20),
                              received_at=now - timedelta(days=10)))
            session.add(RelaisStock(product_id=product_id, on_hand=on_hand))
            for day in range(distributed):
                session.add(RelaisStockMovement(
                    product_id=product_id, kind=RelaisMovementKind.DISTRIBUTION, quantity_delta=-1,
                    occurred_at=now - timedelta(days=day % 29)))
            session.commit()


def test_national_assigns_a_coach(client, w):
    url = f"/api/v1/relais/{w.relais_b}/coach"
    assert client.put(url, json={"coach_id": w.other_coach}, headers=w.h["coach"]).status_code == 403
    assert client.put(url, json={"coach_id": w.worker_a}, headers=w.h["national"]).status_code == 422
    assert _progress(client, w, "other_coach", w.relais_b).status_code == 404
    response = client.put(url, json={"coach_id": w.other_coach}, headers=w.h["national"])
    assert response.status_code == 200
    assert response.get_json() == {"relais_id": w.relais_b, "coach_id": w.other_coach}
    assert _progress(client, w, "other_coach", w.relais_b).status_code == 200
    client.put(url, json={"coach_id": None}, headers=w.h["national"])
    assert _progress(client, w, "other_coach", w.relais_b).status_code == 404
    assert client.put("/api/v1/relais/999999/coach", json={"coach_id": w.coach},
                      headers=w.h["national"]).status_code == 404


def test_milestones_complete_from_what_happened(client, app, w):
    milestones = {m["code"]: m["done_at"] for m in _progress(client, w).get_json()["milestones"]}
    assert list(milestones)[:5] == ["terms_accepted", "first_staff_trained", "first_order_submitted",
                                    "first_goods_received", "first_distribution"]
    assert not any(milestones.values())
    _stock_rows(app, w.relais_a, on_hand=50, distributed=3)
    with app.app_context():
        db.session.get(Relais, w.relais_a).terms_accepted_at = utcnow()
        db.session.commit()
    body = _progress(client, w).get_json()
    done = {m["code"]: m["done_at"] for m in body["milestones"]}
    assert all(done[c] for c in ("terms_accepted", "first_order_submitted", "first_goods_received",
                                 "first_distribution"))
    assert done["first_staff_trained"] is None
    assert body["last_activity_at"] is not None
    # Relais B is untouched.
    other = _progress(client, w, "national", w.relais_b).get_json()
    assert not any(m["done_at"] for m in other["milestones"])


def test_custom_milestones_with_due_dates(client, w):
    url = f"/api/v1/relais/{w.relais_a}/milestones"
    assert client.post(url, json={"title": "Atelier inaugural"}, headers=w.h["admin_a"]).status_code == 403
    created = client.post(url, json={"title": "Atelier inaugural", "due_date": "2020-01-01"},
                          headers=w.h["coach"])
    assert created.status_code == 201
    body = _progress(client, w).get_json()
    assert {"code": created.get_json()["code"], "label": "Atelier inaugural", "done_at": None,
            "due_date": "2020-01-01"} in body["milestones"]
    assert "milestone_overdue" in {a["code"] for a in body["alerts"]}
    done = client.patch(f"{url}/{created.get_json()['id']}", json={"done": True}, headers=w.h["coach"])
    assert done.get_json()["done_at"]
    assert "milestone_overdue" not in {a["code"] for a in _progress(client, w).get_json()["alerts"]}


def test_alerts_computed_from_rows(client, app, w):
    with app.app_context():
        relais = db.session.get(Relais, w.relais_a)
        relais.created_at = utcnow() - timedelta(days=200)
        relais.terms_accepted_at = utcnow() - timedelta(days=120)
        db.session.commit()
    alerts = {a["code"]: a for a in _progress(client, w).get_json()["alerts"]}
    # Terms signed 120 days ago: that was the last activity; training has not started since,
    # and no monthly stock report came.
    assert set(alerts) == {"no_activity", "training_stalled", "report_overdue"}
    assert alerts["no_activity"]["since"] == (utcnow() - timedelta(days=60)).date().isoformat()
    assert alerts["training_stalled"]["since"] == (utcnow() - timedelta(days=30)).date().isoformat()
    _stock_rows(app, w.relais_a, on_hand=5, distributed=30)
    _log_session(client, w)  # next step due 2026-02-01 (in the past)
    alerts = {a["code"]: a for a in _progress(client, w).get_json()["alerts"]}
    assert "no_activity" not in alerts
    assert alerts["stock_low"]["detail"] == "Carte SIM solidaire"
    assert alerts["next_step_overdue"]["since"] == "2026-02-01"


def test_enough_stock_raises_no_alert(client, app, w):
    _stock_rows(app, w.relais_a, on_hand=20, distributed=30)  # 20 days of cover
    assert "stock_low" not in {a["code"] for a in _progress(client, w).get_json()["alerts"]}


def test_coaching_sessions_and_next_steps(client, w):
    created = _log_session(client, w)
    assert created.status_code == 201
    body = created.get_json()
    assert body["kind"] == "visit" and body["notes"] == NOTE
    assert body["next_steps"][0]["due_date"] == "2026-02-01" and body["next_steps"][0]["done"] is False
    step = client.patch(f"/api/v1/relais/{w.relais_a}/next-steps/{body['next_steps'][0]['id']}",
                        json={"done": True}, headers=w.h["coach"])
    assert step.get_json()["done"] is True
    assert _log_session(client, w, kind="carrier pigeon").status_code == 422
    assert _log_session(client, w, date="yesterday").status_code == 422


def test_coaching_notes_are_invisible_to_relais_staff(client, app, w):
    _log_session(client, w)
    staff_view = client.get(f"/api/v1/relais/{w.relais_a}/coaching-sessions", headers=w.h["admin_a"])
    assert staff_view.status_code == 200
    assert staff_view.get_json()[0]["topics"] == "Premières commandes"
    assert "notes" not in staff_view.get_json()[0] and NOTE not in staff_view.get_data(as_text=True)
    coach_view = client.get(f"/api/v1/relais/{w.relais_a}/coaching-sessions", headers=w.h["coach"])
    assert coach_view.get_json()[0]["notes"] == NOTE
    national = client.get(f"/api/v1/relais/{w.relais_a}/coaching-sessions", headers=w.h["national"])
    assert national.get_json()[0]["notes"] == NOTE
    # Pages.
    page = login_as(app, w.worker_a).get(f"/training/relais/{w.relais_a}")
    assert page.status_code == 200 and "Premières commandes" in page.get_data(as_text=True)
    assert NOTE not in page.get_data(as_text=True)
    assert NOTE in login_as(app, w.coach).get(f"/training/relais/{w.relais_a}").get_data(as_text=True)
    # And the database itself refuses them to the relais, even through raw SQL.
    with app.app_context(), tenant_session(db.session, TenantScope(relais_id=w.relais_a)) as session:
        assert session.execute(text("SELECT count(*) FROM coaching_notes")).scalar() == 0
        assert session.execute(text("SELECT count(*) FROM coaching_sessions")).scalar() == 1


def test_relais_staff_cannot_write_coaching_rows_even_in_sql(app, w):
    from sqlalchemy.exc import DBAPIError

    with (app.app_context(), tenant_session(db.session, TenantScope(relais_id=w.relais_a)) as session,
          pytest.raises(DBAPIError)):
        session.execute(text("INSERT INTO coaching_sessions (relais_id, held_on, kind) "
                             "VALUES (:r, current_date, 'visit')"), {"r": w.relais_a})


def test_other_relais_and_other_coaches_get_404(client, app, w):
    _log_session(client, w)
    for who in ("admin_b", "worker_b", "other_coach"):
        assert _progress(client, w, who).status_code == 404, who
        assert client.get(f"/api/v1/relais/{w.relais_a}/coaching-sessions",
                          headers=w.h[who]).status_code == 404, who
    assert _log_session(client, w, "other_coach").status_code == 404
    assert _log_session(client, w, "admin_a").status_code == 403
    assert _progress(client, w, "worker_a").status_code == 200
    assert login_as(app, w.worker_b).get(f"/training/relais/{w.relais_a}").status_code == 404
    assert login_as(app, w.other_coach).get(f"/training/relais/{w.relais_a}").status_code == 404


@pytest.mark.parametrize("method,path,body", [
    ("get", "/api/v1/relais/{id}/training", None),
    ("get", "/api/v1/relais/{id}/training-path", None),
    ("put", "/api/v1/relais/{id}/training-path", {"module_codes": ["M1"]}),
    ("post", "/api/v1/relais/{id}/milestones", {"title": "Atelier"}),
    ("patch", "/api/v1/relais/{id}/next-steps/1", {"done": True}),
    ("patch", "/api/v1/relais/{id}/milestones/1", {"done": True}),
])
def test_every_relais_endpoint_is_404_outside_the_portfolio(client, w, method, path, body):
    url = path.format(id=w.relais_a)
    response = getattr(client, method)(url, json=body, headers=w.h["other_coach"])
    assert response.status_code == 404, response.get_json()
    assert getattr(client, method)(path.format(id=999999), json=body,
                                   headers=w.h["coach"]).status_code == 404


def test_coach_pages_outside_the_portfolio_are_404(app, w):
    web = login_as(app, w.other_coach)
    for url in (f"/training/relais/{w.relais_a}", f"/training/relais/{w.relais_b}"):
        assert web.get(url).status_code == 404, url
    for url, data in ((f"/training/relais/{w.relais_a}/milestones", {"title": "Atelier"}),
                      (f"/training/relais/{w.relais_a}/path", {"module_codes": ["M1"]}),
                      (f"/training/relais/{w.relais_a}/next-steps/1", {"done": "1"})):
        assert web.post(url, data=data).status_code == 404, url
    assert "Relais A" not in web.get("/coaching/").get_data(as_text=True)


def test_coach_dashboard_and_national_table(client, app, w):
    _log_session(client, w)
    coach_page = login_as(app, w.coach).get("/coaching/")
    html = coach_page.get_data(as_text=True)
    assert coach_page.status_code == 200
    assert "Relais A" in html and "Relais B" not in html
    assert "<progress" in html and 'for="m-' in html
    national = login_as(app, w.national).get("/coaching/network?sort=alerts&order=desc")
    assert national.status_code == 200
    assert "Relais A" in national.get_data(as_text=True) and "Relais B" in national.get_data(as_text=True)
    filtered = login_as(app, w.national).get("/coaching/network?q=Relais%20B")
    assert "Relais A" not in filtered.get_data(as_text=True)
    assert login_as(app, w.worker_a).get("/coaching/").status_code == 403
    portfolio = client.get("/api/v1/coaching/portfolio?alert=next_step_overdue", headers=w.h["coach"])
    assert [r["name"] for r in portfolio.get_json()] == ["Relais A"]


def test_weekly_digest_goes_to_each_coach_with_its_portfolio(client, app, w):
    from relais_platform.training.jobs import send_weekly_digest

    _log_session(client, w, next_steps=[{"text": "Relancer la référente", "due_date": "2031-01-08"}])
    outbox(app)
    for path in Path(app.config["MAIL_OUTBOX"]).glob("*.eml"):
        path.unlink()
    with app.app_context():
        assert send_weekly_digest(now="2031-01-05T07:00:00+00:00") == 1
        db.session.commit()
        db.session.remove()
    [digest] = outbox(app)
    body = digest.get_body().get_content()
    assert digest["To"].startswith("coach.") and "Relais A" in body and "Relais B" not in body
    assert "Relancer la référente" in body


def test_demo_loader_is_idempotent(app):
    from relais_platform.accounts.models import Role
    from relais_platform.training.demo import PAST_SESSIONS, load_training_demo
    from relais_platform.training.models import TrainingModule, TrainingSession
    from tests.training_helpers import make_user

    with app.app_context():
        make_user(Role.NATIONAL)
        make_user(Role.COACH)
        for _ in range(2):
            load_training_demo()
            db.session.commit()
        network = TenantScope(all_relais=True)
        with tenant_session(db.session, network) as session:
            assert session.query(TrainingModule).filter(TrainingModule.core.is_(True)).count() == 3
            assert session.query(TrainingModule).count() == 4
            # Two to come and the year's sessions held, once.
            assert session.query(TrainingSession).count() == 2 + len(PAST_SESSIONS)
            for module in session.query(TrainingModule):
                assert module.duration_hours > 0 and module.format is not None, module.code
                # No prerequisite is no text (a French "Aucun." read on English pages).
                assert module.objectives and module.prerequisites != "Aucun.", module.code
