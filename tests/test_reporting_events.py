"""Events and governance participations: API and web pages, relais staff of their own relais only."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from relais_platform.accounts.models import Role
from relais_platform.extensions import db
from relais_platform.reporting.models import ReportingEvent
from relais_platform.tenancy import TenantScope, tenant_session
from tests.factories import bearer, make_relais, make_user

URL = "/api/v1/events"


@pytest.fixture
def world(app_ctx):
    a, b = make_relais(name="Relais Garonne"), make_relais(name="Relais Dordogne")
    a.terms_accepted_at = b.terms_accepted_at = func.now()
    db.session.commit()
    admin, worker = make_user(Role.RELAIS_ADMIN, a), make_user(Role.RELAIS_WORKER, a)
    w = SimpleNamespace(a=a.id, b=b.id, admin=bearer(admin), worker=bearer(worker),
                        b_admin=bearer(make_user(Role.RELAIS_ADMIN, b)),
                        national=bearer(make_user(Role.NATIONAL)), coach=bearer(make_user(Role.COACH)),
                        worker_id=worker.id)
    db.session.remove()
    return w


def count_events(relais_id: int) -> int:
    with tenant_session(db.session, TenantScope(relais_id=relais_id)):
        return db.session.scalar(select(func.count()).select_from(ReportingEvent))


def post(client, headers, **payload):
    return client.post(URL, json=payload, headers=headers)


def test_post_an_event_and_a_governance_participation(client, world):
    response = post(client, world.worker, kind="event", title="Journée portes ouvertes", date="2026-03-14",
                    participants=35)
    assert response.status_code == 201
    body = response.get_json()
    assert body["kind"] == "event" and body["date"] == "2026-03-14" and body["participants"] == 35
    response = post(client, world.admin, kind="governance", title="Comité de pilotage",
                    date="2026-02-01", body="Comité départemental d'inclusion numérique")
    assert response.status_code == 201 and response.get_json()["participants"] is None
    assert count_events(world.a) == 2 and count_events(world.b) == 0


@pytest.mark.parametrize(("payload", "field"), [
    ({"kind": "party", "title": "x", "date": "2026-01-01"}, "kind"),
    ({"kind": "event", "title": "", "date": "2026-01-01"}, "title"),
    ({"kind": "event", "date": "2026-01-01"}, "title"),
    ({"kind": "event", "title": "x", "date": "hier"}, "date"),
    ({"kind": "event", "title": "x", "date": "1990-01-01"}, "date"),
    ({"kind": "event", "title": "x", "date": "2026-01-01", "participants": -1}, "participants"),
    ({"kind": "event", "title": "x", "date": "2026-01-01", "participants": "12"}, "participants"),
    ({"kind": "event", "title": "x" * 201, "date": "2026-01-01"}, "title"),
    ({"kind": "event", "title": "x", "date": "2026-01-01", "names": ["Jean"]}, "names"),
])
def test_bad_input_is_422_with_field_messages_and_nothing_written(client, world, payload, field):
    response = client.post(URL, json=payload, headers=world.worker)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]
    assert count_events(world.a) == 0


def test_far_future_date_is_refused_by_the_service(client, world):
    far = (date.today() + timedelta(days=800)).isoformat()
    response = post(client, world.worker, kind="event", title="Plus tard", date=far)
    assert response.status_code == 422 and "date" in response.get_json()["errors"]


def test_list_is_paginated_newest_first_and_own_relais_only(client, world):
    for day in range(1, 6):
        post(client, world.worker, kind="event", title=f"Atelier {day}", date=f"2026-01-0{day}")
    post(client, world.b_admin, kind="event", title="Ailleurs", date="2026-01-09")
    response = client.get(URL, query_string={"per_page": 2}, headers=world.admin)
    assert response.status_code == 200
    assert response.headers["X-Total-Count"] == "5"
    assert [e["title"] for e in response.get_json()] == ["Atelier 5", "Atelier 4"]
    governance = client.get(URL, query_string={"kind": "governance"}, headers=world.admin)
    assert governance.get_json() == []
    assert client.get(URL, query_string={"year": 2025}, headers=world.admin).get_json() == []


def test_another_relais_event_is_404(client, world):
    event_id = post(client, world.worker, kind="event", title="Atelier", date="2026-01-05").get_json()["id"]
    item = f"{URL}/{event_id}"
    assert client.get(item, headers=world.b_admin).status_code == 404
    assert client.patch(item, json={"title": "Pris"}, headers=world.b_admin).status_code == 404
    assert client.delete(item, headers=world.b_admin).status_code == 404
    assert client.get(item, headers=world.admin).get_json()["title"] == "Atelier"


def test_patch_and_delete(client, world):
    event_id = post(client, world.worker, kind="event", title="Atelier", date="2026-01-05").get_json()["id"]
    item = f"{URL}/{event_id}"
    response = client.patch(item, json={"participants": 12, "title": "Atelier santé"}, headers=world.worker)
    assert response.status_code == 200
    assert response.get_json()["participants"] == 12 and response.get_json()["title"] == "Atelier santé"
    bad = client.patch(item, json={"title": "  "}, headers=world.worker)
    assert bad.status_code == 422 and "title" in bad.get_json()["errors"]
    assert client.get(item, headers=world.worker).get_json()["title"] == "Atelier santé"
    assert client.delete(item, headers=world.worker).status_code == 204
    assert client.get(item, headers=world.worker).status_code == 404


@pytest.mark.parametrize("who", ["national", "coach"])
def test_national_and_coach_cannot_log_events(client, world, who):
    headers = getattr(world, who)
    assert post(client, headers, kind="event", title="x", date="2026-01-01").status_code == 403
    assert client.get(URL, headers=headers).status_code == 403


def test_signed_out_is_401(client, world):
    assert client.post(URL, json={}).status_code == 401


# --- web pages ----------------------------------------------------------------------------


def web(app, world):
    from relais_platform.accounts.models import User

    return app.test_client(user=db.session.get(User, world.worker_id))


def test_web_create_list_edit_delete(app, world):
    client = web(app, world)
    assert client.get("/rapports/evenements/nouveau").status_code == 200
    response = client.post("/rapports/evenements/nouveau", data={
        "kind": "governance", "title": "Groupe de travail numérique", "date": "2026-02-03",
        "participants": "", "body": "CDIN"})
    assert response.status_code == 302
    page = client.get("/rapports/evenements").get_data(as_text=True)
    assert "Groupe de travail numérique" in page and "CDIN" in page
    with tenant_session(db.session, TenantScope(relais_id=world.a)):
        event_id = db.session.scalar(select(ReportingEvent.id))
    edit = f"/rapports/evenements/{event_id}/modifier"
    assert "Groupe de travail numérique" in client.get(edit).get_data(as_text=True)
    assert client.post(edit, data={"kind": "governance", "title": "GT numérique", "date": "2026-02-03",
                                   "participants": "8", "body": ""}).status_code == 302
    assert "GT numérique" in client.get("/rapports/evenements").get_data(as_text=True)
    delete = f"/rapports/evenements/{event_id}/supprimer"
    assert "GT numérique" in client.get(delete).get_data(as_text=True)
    assert client.post(delete).status_code == 302
    assert count_events(world.a) == 0


def test_web_form_is_redisplayed_with_messages(app, world):
    client = web(app, world)
    response = client.post("/rapports/evenements/nouveau", data={
        "kind": "event", "title": "", "date": "1990-01-01", "participants": "-3"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Indiquez un intitulé." in page and 'class="error-summary"' in page
    response = client.post("/rapports/evenements/nouveau", data={
        "kind": "event", "title": "Atelier", "date": "1990-01-01", "participants": "-3"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Indiquez une date entre" in page and "Un nombre entier entre 0" in page
    assert 'value="Atelier"' in page
    assert count_events(world.a) == 0


def test_web_pages_of_another_relais_event_are_404(app, client, world):
    event_id = post(client, world.b_admin, kind="event", title="Ailleurs", date="2026-01-05").get_json()["id"]
    browser = web(app, world)
    assert browser.get(f"/rapports/evenements/{event_id}/modifier").status_code == 404
    assert browser.post(f"/rapports/evenements/{event_id}/supprimer").status_code == 404
    assert "Ailleurs" not in browser.get("/rapports/evenements").get_data(as_text=True)
    assert count_events(world.b) == 1
