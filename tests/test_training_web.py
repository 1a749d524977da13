"""Training and coaching pages: forms come back filled in with their errors, and who may use them."""

from __future__ import annotations

import pytest

from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.tenancy import TenantScope, tenant_session
from relais_platform.tenants.models import Relais
from relais_platform.training.models import CoachingSession, CustomMilestone, TrainingModule
from tests.training_helpers import login_as, training_world


@pytest.fixture
def w(app):
    with app.app_context():
        world = training_world()
        db.session.remove()
    return world


def _signed_terms(app, w) -> None:
    """A relais admin signs the terms before anything else (or is sent to them)."""
    with app.app_context():
        db.session.get(Relais, w.relais_a).terms_accepted_at = utcnow()
        db.session.commit()


def _count(app, model) -> int:
    with app.app_context(), tenant_session(db.session, TenantScope(all_relais=True)) as session:
        return session.query(model).count()


def _required(client, w, relais_id=None) -> list[str]:
    body = client.get(f"/api/v1/relais/{relais_id or w.relais_a}/progress", headers=w.h["national"])
    return body.get_json()["training"]["required"]


def test_national_manages_modules(app, w):
    web = login_as(app, w.national)
    assert web.get("/training/modules/").status_code == 200
    refused = web.post("/training/modules/", data={"code": "M4-SECU", "title": "", "duration_hours": "0",
                                                   "format": "remote", "objectives": "Sécurité en ligne"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "error-summary" in html and 'value="M4-SECU"' in html and "Sécurité en ligne" in html
    before = _count(app, TrainingModule)
    created = web.post("/training/modules/", data={
        "code": "M4-SECU", "title": "Sécurité numérique", "duration_hours": "3.5", "format": "remote",
        "objectives": "Sécurité en ligne", "prerequisites": "Module 1", "active": "y"})
    assert created.status_code == 302
    assert _count(app, TrainingModule) == before + 1
    edit = web.get("/training/modules/?code=M4-SECU").get_data(as_text=True)
    assert 'value="Sécurité numérique"' in edit and "Module 1" in edit
    _signed_terms(app, w)
    for who in ("coach", "admin_a", "worker_a"):
        assert login_as(app, getattr(w, who)).get("/training/modules/").status_code == 403


def test_session_form_is_redisplayed_on_bad_input(app, w):
    web = login_as(app, w.national)
    response = web.post("/training/", data={"module_code": "M1", "starts_at": "2031-03-02T09:00",
                                            "ends_at": "2031-03-02T17:00", "capacity": "12",
                                            "location": "", "online_url": "", "trainer": "Awa Diallo"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Indiquez un lieu ou un lien de connexion." in html and 'value="Awa Diallo"' in html
    bad_url = web.post("/training/", data={"module_code": "M1", "starts_at": "2031-03-02T09:00",
                                           "ends_at": "2031-03-02T17:00", "capacity": "12",
                                           "online_url": "ftp://example.org"})
    assert bad_url.status_code == 422 and "https://" in bad_url.get_data(as_text=True)


def test_coaching_session_form_is_redisplayed_on_bad_input(app, w):
    web = login_as(app, w.coach)
    url = f"/training/relais/{w.relais_a}/coaching-sessions"
    before = _count(app, CoachingSession)
    refused = web.post(url, data={"date": "", "kind": "visit", "topics": "Premier stock",
                                  "notes": "Bonne dynamique", "step_text": "Relancer la mairie"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "error-summary" in html and "Premier stock" in html and 'value="Relancer la mairie"' in html
    missing_text = web.post(url, data={"date": "2026-01-20", "kind": "visit", "step_due_date": "2026-02-01"})
    assert missing_text.status_code == 422
    assert _count(app, CoachingSession) == before
    done = web.post(url, data={"date": "2026-01-20", "kind": "phone", "step_text": "Commander",
                               "step_owner": "La référente", "step_due_date": "2026-02-01"})
    assert done.status_code == 302 and _count(app, CoachingSession) == before + 1
    assert "Commander" in web.get(f"/training/relais/{w.relais_a}").get_data(as_text=True)
    # Other coaches do not reach the relais; its staff do not write coaching rows.
    _signed_terms(app, w)
    visit = {"date": "2026-01-20", "kind": "visit"}
    assert login_as(app, w.other_coach).post(url, data=visit).status_code == 404
    assert login_as(app, w.admin_a).post(url, data=visit).status_code == 403


def test_milestone_form_is_redisplayed_on_bad_input(app, w):
    web = login_as(app, w.coach)
    url = f"/training/relais/{w.relais_a}/milestones"
    refused = web.post(url, data={"title": "", "due_date": "2026-02-30"})
    assert refused.status_code == 422 and "error-summary" in refused.get_data(as_text=True)
    assert _count(app, CustomMilestone) == 0
    assert web.post(url, data={"title": "Atelier inaugural", "due_date": "2031-02-01"}).status_code == 302
    assert "Atelier inaugural" in web.get(f"/training/relais/{w.relais_a}").get_data(as_text=True)


def test_training_path_form(client, app, w):
    web = login_as(app, w.coach)
    url = f"/training/relais/{w.relais_a}/path"
    assert _required(client, w) == ["M1", "M2", "M3"]
    assert web.post(url, data={"module_codes": ["M1", "OPT"]}).status_code == 302
    assert _required(client, w) == ["M1", "OPT"]
    unknown = web.post(url, data={"module_codes": ["M1", "NOPE"]})
    assert unknown.status_code == 422 and _required(client, w) == ["M1", "OPT"]
    assert web.post(url, data={}).status_code == 302
    assert _required(client, w) == ["M1", "M2", "M3"]  # back to the network's modules
    assert login_as(app, w.worker_a).post(url, data={"module_codes": ["M1"]}).status_code == 403
    assert login_as(app, w.other_coach).post(url, data={"module_codes": ["M1"]}).status_code == 404
    page = web.get(f"/training/relais/{w.relais_a}").get_data(as_text=True)
    assert 'name="module_codes"' in page


def test_coach_assignment_form(app, w):
    web = login_as(app, w.national)
    url = f"/training/relais/{w.relais_b}/coach"
    assert web.post(url, data={"coach_id": str(w.worker_a)}).status_code == 422
    assert web.post(url, data={"coach_id": "abc"}).status_code == 422
    assert web.post(url, data={"coach_id": str(w.other_coach)}).status_code == 302
    with app.app_context():
        assert db.session.get(Relais, w.relais_b).coach_id == w.other_coach
    assert login_as(app, w.coach).post(url, data={"coach_id": str(w.coach)}).status_code == 403


def test_survey_form_is_redisplayed_on_bad_input(client, app, w):
    session_id = w.session
    client.post(f"/api/v1/training/sessions/{session_id}/enrollments", json={"user_id": w.worker_a},
                headers=w.h["worker_a"])
    client.post(f"/api/v1/training/sessions/{session_id}/attendance",
                json={"user_id": w.worker_a, "present": True}, headers=w.h["national"])
    web = login_as(app, w.worker_a)
    refused = web.post("/training/me", data={"session_id": session_id, "rating": "9",
                                             "comment": "Très concret"})
    assert refused.status_code == 422 and "Très concret" in refused.get_data(as_text=True)
    assert web.post("/training/me", data={"session_id": session_id, "rating": "5"}).status_code == 302


def test_national_edits_a_session_on_its_page(app, w):
    web = login_as(app, w.national)
    url = f"/training/sessions/{w.session}/edit"
    page = web.get(f"/training/sessions/{w.session}")
    assert page.status_code == 200 and f'action="{url}"' in page.get_data(as_text=True)
    refused = web.post(url, data={"starts_at": "2031-03-02T09:00", "ends_at": "2031-03-02T08:00",
                                  "capacity": "6", "location": "Gap", "trainer": "Awa Diallo",
                                  "trainer_id": "0"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "La fin doit suivre le début." in html and 'value="Awa Diallo"' in html
    done = web.post(url, data={"starts_at": "2031-03-02T09:00", "ends_at": "2031-03-02T17:00",
                               "capacity": "6", "location": "Gap", "trainer_id": str(w.coach)})
    assert done.status_code == 302
    from relais_platform.training.models import TrainingSession

    with app.app_context(), tenant_session(db.session, TenantScope(all_relais=True)) as session:
        changed = session.get(TrainingSession, w.session)
        assert (changed.capacity, changed.location, changed.trainer_id) == (6, "Gap", w.coach)
        assert changed.starts_at.isoformat() == "2031-03-02T08:00:00+00:00"  # 9:00 in Paris
    assert login_as(app, w.coach).post(url, data={"capacity": "9"}).status_code == 403
