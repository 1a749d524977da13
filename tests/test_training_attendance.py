"""Attendance → training records → progress; surveys, certificates, exports, paths, the catalogue API."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from relais_platform.accounts.models import User
from relais_platform.extensions import db
from tests.factories import make_training_session
from tests.training_helpers import login_as, outbox, training_world

ENROL = "/api/v1/training/sessions/{}/enrollments"
ATTEND = "/api/v1/training/sessions/{}/attendance"


@pytest.fixture
def w(app):
    with app.app_context():
        world = training_world(capacity=5)
        world.sessions = {code: make_training_session(mid, capacity=5) for code, mid in world.modules.items()}
        db.session.remove()
    return world


def _complete(client, w, who: str, user_id: int, code: str, present: bool = True):
    session_id = w.sessions[code]
    assert client.post(ENROL.format(session_id), json={"user_id": user_id},
                       headers=w.h[who]).status_code == 201
    response = client.post(ATTEND.format(session_id), json={"user_id": user_id, "present": present},
                           headers=w.h["national"])
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _progress(client, w, who="national", relais_id=None):
    response = client.get(f"/api/v1/relais/{relais_id or w.relais_a}/progress", headers=w.h[who])
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_modules_api_lists_the_catalogue(client, w):
    modules = client.get("/api/v1/training/modules", headers=w.h["worker_a"]).get_json()
    assert {m["code"] for m in modules} == {"M1", "M2", "M3", "OPT"}
    assert set(modules[0]) >= {"code", "title", "duration_hours", "format"}
    assert modules[0]["format"] == "in_person" and modules[0]["duration_hours"] == 7.0


def test_only_national_publishes_sessions(client, w):
    body = {"module_code": "M2", "starts_at": "2031-03-02T09:00:00+01:00",
            "ends_at": "2031-03-02T17:00:00+01:00", "capacity": 12, "online_url": "https://visio.example.org/m2",
            "trainer": "Lina"}
    assert client.post("/api/v1/training/sessions", json=body, headers=w.h["admin_a"]).status_code == 403
    created = client.post("/api/v1/training/sessions", json=body, headers=w.h["national"])
    assert created.status_code == 201
    assert created.get_json()["module_code"] == "M2" and created.get_json()["seats_left"] == 12
    listed = client.get("/api/v1/training/sessions", headers=w.h["worker_a"]).get_json()
    assert created.get_json()["id"] in [s["id"] for s in listed]


def test_session_validation_reports_each_field(client, w):
    body = {"module_code": "NOPE", "starts_at": "2031-03-02T17:00:00+01:00",
            "ends_at": "2031-03-02T09:00:00+01:00", "capacity": 0}
    response = client.post("/api/v1/training/sessions", json=body, headers=w.h["national"])
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) >= {"module_code", "ends_at", "capacity", "location"}


def test_attendance_gives_records_and_progress(client, w):
    _complete(client, w, "worker_a", w.worker_a, "M1")
    _complete(client, w, "worker_a2", w.worker_a2, "M2")
    _complete(client, w, "worker_a", w.worker_a, "OPT")  # not on the path: does not count
    training = _progress(client, w)["training"]
    assert training == {"required": ["M1", "M2", "M3"], "completed": ["M1", "M2"], "percent": 67}
    records = client.get("/api/v1/training/records", headers=w.h["worker_a"]).get_json()
    assert {r["module_code"] for r in records} == {"M1", "OPT"}


def test_absent_person_gets_no_record(client, w):
    _complete(client, w, "worker_a", w.worker_a, "M1", present=False)
    assert _progress(client, w)["training"]["completed"] == []
    # Corrected before sign-off: now present.
    client.post(ATTEND.format(w.sessions["M1"]), json={"user_id": w.worker_a, "present": True},
                headers=w.h["national"])
    assert _progress(client, w)["training"]["completed"] == ["M1"]


def test_inactive_staff_do_not_count_for_the_relais(client, app, w):
    _complete(client, w, "worker_a2", w.worker_a2, "M1")
    assert _progress(client, w)["training"]["percent"] == 33
    with app.app_context():
        db.session.get(User, w.worker_a2).active = False
        db.session.commit()
    assert _progress(client, w)["training"]["percent"] == 0


def test_attendance_is_national_only_and_needs_an_enrolment(client, w):
    url = ATTEND.format(w.sessions["M1"])
    body = {"user_id": w.worker_a, "present": True}
    assert client.post(url, json=body, headers=w.h["admin_a"]).status_code == 403
    assert client.post(url, json=body, headers=w.h["national"]).status_code == 404


def test_signed_sheet_is_frozen_and_survey_invitations_go_out(client, w):
    _complete(client, w, "worker_a", w.worker_a, "M1")
    client.post(ENROL.format(w.sessions["M1"]), json={"user_id": w.worker_b}, headers=w.h["worker_b"])
    sign = f"/api/v1/training/sessions/{w.sessions['M1']}/sign-off"
    unmarked = client.post(sign, json={"trainer": "Lina"}, headers=w.h["national"])
    assert unmarked.status_code == 422
    client.post(ATTEND.format(w.sessions["M1"]), json={"user_id": w.worker_b, "present": False},
                headers=w.h["national"])
    signed = client.post(sign, json={"trainer": "Lina"}, headers=w.h["national"])
    assert signed.status_code == 200 and signed.get_json()["signed_off_at"]
    again = client.post(ATTEND.format(w.sessions["M1"]), json={"user_id": w.worker_b, "present": True},
                        headers=w.h["national"])
    assert again.status_code == 409
    surveys = [m for m in outbox(client.application) if m["Subject"].startswith("Votre avis")]
    assert len(surveys) == 1


def test_the_sessions_trainer_keeps_and_signs_the_sheet(client, app, w):
    sessions = "/api/v1/training/sessions"
    body = {"module_code": "M2", "starts_at": "2031-03-02T09:00:00+01:00",
            "ends_at": "2031-03-02T17:00:00+01:00", "capacity": 8, "location": "Gap"}
    assert client.post(sessions, json={**body, "trainer_id": w.worker_a},
                       headers=w.h["national"]).status_code == 422
    created = client.post(sessions, json={**body, "trainer_id": w.other_coach}, headers=w.h["national"])
    assert created.status_code == 201
    session = created.get_json()
    with app.app_context():
        trainer_name = db.session.get(User, w.other_coach).name
    assert session["trainer_id"] == w.other_coach and session["trainer"] == trainer_name
    session_id = session["id"]
    client.post(ENROL.format(session_id), json={"user_id": w.worker_a}, headers=w.h["worker_a"])
    line = {"user_id": w.worker_a, "present": True}
    # Another coach, or relais staff, do not keep this sheet.
    for who in ("coach", "admin_a"):
        assert client.get(ATTEND.format(session_id), headers=w.h[who]).status_code == 403, who
        assert client.post(ATTEND.format(session_id), json=line, headers=w.h[who]).status_code == 403, who
    # The trainer (a coach following none of these relais) does.
    assert [e["user_id"] for e in client.get(ATTEND.format(session_id),
                                             headers=w.h["other_coach"]).get_json()] == [w.worker_a]
    assert client.post(ATTEND.format(session_id), json=line, headers=w.h["other_coach"]).status_code == 200
    page = login_as(app, w.other_coach).get(f"/training/sessions/{session_id}").get_data(as_text=True)
    assert "Feuille d'émargement" in page
    assert "Feuille d'émargement" not in login_as(app, w.coach).get(
        f"/training/sessions/{session_id}").get_data(as_text=True)
    sign = f"/api/v1/training/sessions/{session_id}/sign-off"
    assert client.post(sign, json={}, headers=w.h["coach"]).status_code == 403
    signed = client.post(sign, json={}, headers=w.h["other_coach"])
    assert signed.status_code == 200 and signed.get_json()["signed_off_at"]
    assert "M2" in _progress(client, w)["training"]["completed"]
    export = client.get("/api/v1/training/exports/attendance", headers=w.h["national"])
    assert trainer_name in export.get_data(as_text=True)


def test_survey_only_after_completion_and_once(client, w):
    url = f"/api/v1/training/sessions/{w.sessions['M1']}/survey"
    client.post(ENROL.format(w.sessions["M1"]), json={"user_id": w.worker_a}, headers=w.h["worker_a"])
    assert client.post(url, json={"rating": 5}, headers=w.h["worker_a"]).status_code == 422
    client.post(ATTEND.format(w.sessions["M1"]), json={"user_id": w.worker_a, "present": True},
                headers=w.h["national"])
    assert client.post(url, json={"rating": 6}, headers=w.h["worker_a"]).status_code == 422
    answered = client.post(url, json={"rating": 4, "comment": "Très concret"}, headers=w.h["worker_a"])
    assert answered.status_code == 201 and answered.get_json()["rating"] == 4
    assert client.post(url, json={"rating": 3}, headers=w.h["worker_a"]).status_code == 409
    # Someone who did not attend cannot answer.
    assert client.post(url, json={"rating": 1}, headers=w.h["worker_a2"]).status_code == 422
    # Once answered, the attendance cannot be withdrawn (the survey is evidence).
    withdrawn = client.post(ATTEND.format(w.sessions["M1"]), json={"user_id": w.worker_a, "present": False},
                            headers=w.h["national"])
    assert withdrawn.status_code == 409


def test_certificate_is_a_pdf_for_the_trainee_their_admin_and_national(client, w):
    _complete(client, w, "worker_a", w.worker_a, "M1")
    record_id = client.get("/api/v1/training/records", headers=w.h["worker_a"]).get_json()[0]["id"]
    url = f"/api/v1/training/records/{record_id}/certificate"
    for who in ("worker_a", "admin_a", "national"):
        response = client.get(url, headers=w.h[who])
        assert response.status_code == 200, who
        assert response.mimetype == "application/pdf"
        assert response.data.startswith(b"%PDF")
    assert client.get(url, headers=w.h["worker_a2"]).status_code == 404
    assert client.get(url, headers=w.h["admin_b"]).status_code == 404
    assert client.get(url, headers=w.h["coach"]).status_code == 403


def test_exports_for_the_quality_audit(client, w):
    _complete(client, w, "worker_a", w.worker_a, "M1")
    client.post(f"/api/v1/training/sessions/{w.sessions['M1']}/survey",
                json={"rating": 5, "comment": "=HYPERLINK(\"http://x\")"}, headers=w.h["worker_a"])
    assert client.get("/api/v1/training/exports/records", headers=w.h["coach"]).status_code == 403
    records = client.get("/api/v1/training/exports/records?format=csv", headers=w.h["national"])
    assert records.status_code == 200
    rows = list(csv.reader(io.StringIO(records.data.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 2 and rows[1][4] == "M1"
    surveys = client.get("/api/v1/training/exports/surveys?format=csv", headers=w.h["national"])
    row = list(csv.reader(io.StringIO(surveys.data.decode("utf-8-sig")), delimiter=";"))[1]
    assert row[4] == "5" and row[5].startswith("'=")  # no formula injection
    sheet = client.get("/api/v1/training/exports/attendance?format=xlsx", headers=w.h["national"])
    book = load_workbook(io.BytesIO(sheet.data))
    values = list(book.active.iter_rows(values_only=True))
    assert values[1][1] == "M1" and values[1][8] == "présent·e"
    assert client.get("/api/v1/training/exports/nope", headers=w.h["national"]).status_code == 404


def test_training_path_can_be_changed_by_the_coach(client, w):
    url = f"/api/v1/relais/{w.relais_a}/training-path"
    assert client.put(url, json={"module_codes": ["M1", "OPT"]}, headers=w.h["admin_a"]).status_code == 403
    assert client.put(url, json={"module_codes": ["M1", "NOPE"]}, headers=w.h["coach"]).status_code == 422
    assert client.put(url, json={"module_codes": ["M1", "OPT"]}, headers=w.h["coach"]).get_json() == {
        "module_codes": ["M1", "OPT"]}
    _complete(client, w, "worker_a", w.worker_a, "OPT")
    assert _progress(client, w, "admin_a")["training"]["percent"] == 50
    # Back to the network's modules.
    client.put(url, json={"module_codes": []}, headers=w.h["national"])
    assert _progress(client, w, "admin_a")["training"]["required"] == ["M1", "M2", "M3"]


def test_progress_per_person(client, w):
    _complete(client, w, "worker_a", w.worker_a, "M1")
    _complete(client, w, "worker_a", w.worker_a, "M3")
    people = client.get(f"/api/v1/relais/{w.relais_a}/training", headers=w.h["admin_a"]).get_json()
    mine = next(p for p in people if p["user_id"] == w.worker_a)
    assert mine["completed"] == ["M1", "M3"]
    assert client.get(f"/api/v1/relais/{w.relais_a}/training", headers=w.h["admin_b"]).status_code == 404


def test_pages_of_my_training(client, app, w):
    _complete(client, w, "worker_a", w.worker_a, "M1")
    web = login_as(app, w.worker_a)
    page = web.get("/training/me")
    assert page.status_code == 200
    assert "certificate.pdf" in page.get_data(as_text=True)
    assert web.get("/training/").status_code == 200
    assert web.get(f"/training/sessions/{w.sessions['M1']}").status_code == 200


def test_web_enrolment_and_survey_forms(client, app, w):
    web = login_as(app, w.worker_a)
    response = web.post(f"/training/sessions/{w.sessions['M2']}/enrol")
    assert response.status_code == 302
    client.post(ATTEND.format(w.sessions["M2"]), json={"user_id": w.worker_a, "present": True},
                headers=w.h["national"])
    web.post("/training/me", data={"session_id": w.sessions["M2"], "rating": "4", "comment": "Bien"})
    assert "Vous avez répondu" in web.get("/training/me").get_data(as_text=True)


def test_old_session_lookups_still_work(client, app, w):
    with app.app_context():
        past = make_training_session(w.modules["M3"], starts_at=w.now - timedelta(days=3))
    upcoming = client.get("/api/v1/training/sessions?upcoming=true", headers=w.h["worker_a"]).get_json()
    assert past not in [s["id"] for s in upcoming]
