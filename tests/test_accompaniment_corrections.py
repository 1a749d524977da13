"""Activity that can be corrected: sessions patched, deleted (kept for the audit, counted
nowhere) and duplicated; the national list of themes; the relais' referring structures and
the figures counting people per kind of structure."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from relais_platform.accounts.models import Role
from tests.factories import bearer, make_beneficiary, make_relais, make_user
from tests.test_api_auth import assert_error

YEAR = datetime.now(ZoneInfo("Europe/Paris")).year


@pytest.fixture
def relais(app) -> dict[str, Any]:
    with app.app_context():
        relais = make_relais()
        other = make_relais(name="Relais Autre")
        relais_id = relais.id
        tokens = {
            "admin": bearer(make_user(Role.RELAIS_ADMIN, relais)),
            "worker": bearer(make_user(Role.RELAIS_WORKER, relais)),
            "other": bearer(make_user(Role.RELAIS_ADMIN, other)),
            "national": bearer(make_user(Role.NATIONAL)),
        }
        people = [make_beneficiary(relais_id, first_name=f"P{i}") for i in range(3)]
        return {"id": relais_id, "people": people, **tokens}


def _session(client, relais, **data) -> Any:
    body = {"kind": "atelier_thematique", "theme": "employment", "date": f"{YEAR}-01-10",
            "duration_minutes": 120, "beneficiary_ids": relais["people"][:2]} | data
    response = client.post("/api/v1/accompaniments", json=body, headers=relais["worker"])
    assert response.status_code == 201, response.json
    return response.json


def _hours(client, relais) -> str:
    return client.get(f"/api/v1/accompaniments/hours?start={YEAR}-01-01&end={YEAR + 1}-01-01",
                      headers=relais["worker"]).json["hours"]


def test_patch_any_field_under_the_creation_checks(client, relais, owner_engine):
    session = _session(client, relais)
    url = f"/api/v1/accompaniments/{session['id']}"
    patched = client.patch(url, headers=relais["worker"], json={
        "theme": "parenting", "duration_minutes": 90, "beneficiary_ids": [relais["people"][2]],
        "anonymous_count": 4})
    assert patched.status_code == 200, patched.json
    assert (patched.json["theme"], patched.json["duration_minutes"], patched.json["beneficiary_ids"],
            patched.json["participants"]) == ("parenting", 90, [relais["people"][2]], 5)
    assert "duration_minutes" in assert_error(
        client.patch(url, headers=relais["worker"], json={"duration_minutes": 0}), 422)["errors"]
    assert "date" in assert_error(client.patch(url, headers=relais["worker"], json={"date": "2999-01-01"}),
                                  422)["errors"]
    assert "theme" in assert_error(client.patch(url, headers=relais["worker"], json={"theme": "astrologie"}),
                                   422)["errors"]
    empty = client.patch(url, headers=relais["worker"], json={"beneficiary_ids": [], "anonymous_count": 0})
    assert "beneficiary_ids" in assert_error(empty, 422)["errors"]
    assert_error(client.patch(url, headers=relais["national"], json={"duration_minutes": 60}), 403)
    assert_error(client.patch(url, headers=relais["other"], json={"duration_minutes": 60}), 404)
    with owner_engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM audit_log WHERE action = 'accompaniment_updated'")) == 1


def test_delete_keeps_the_row_for_the_audit_and_counts_it_nowhere(client, relais, owner_engine):
    kept = _session(client, relais)
    gone = _session(client, relais, duration_minutes=60, anonymous_count=3)
    before_hours = _hours(client, relais)
    url = f"/api/v1/accompaniments/{gone['id']}"
    assert "reason" in assert_error(client.delete(url, headers=relais["worker"], json={}), 422)["errors"]
    assert_error(client.delete(url, headers=relais["other"], json={"reason": "x"}), 404)
    deleted = client.delete(url, headers=relais["worker"], json={"reason": "Saisie en double"})
    assert deleted.status_code == 204
    listed = client.get("/api/v1/accompaniments", headers=relais["worker"]).json
    assert [s["id"] for s in listed] == [kept["id"]]
    assert float(_hours(client, relais)) == float(before_hours) - 1 * 5
    # Gone for every later action too.
    assert_error(client.delete(url, headers=relais["worker"], json={"reason": "encore"}), 404)
    assert_error(client.patch(url, headers=relais["worker"], json={"duration_minutes": 30}), 404)
    bilan = client.get(f"/api/v1/reports/annual?year={YEAR}", headers=relais["admin"]).json
    assert bilan["accompaniment_sessions"] == 1 and bilan["accompaniment_hours"] == 4.0
    dashboard = client.get("/api/v1/dashboards/relais", headers=relais["admin"]).json
    assert sum(month["sessions"] for month in dashboard["activity"]) == 1
    with owner_engine.connect() as conn:
        row = conn.execute(text("SELECT deleted_at IS NOT NULL, delete_reason FROM accompaniment_sessions"
                                " WHERE id = :i"), {"i": gone["id"]}).one()
        assert tuple(row) == (True, "Saisie en double")
        assert conn.scalar(text("SELECT count(*) FROM audit_log WHERE action = 'accompaniment_deleted'")) == 1


def test_duplicate_is_the_weekly_workshop_with_the_same_participants(client, relais):
    session = _session(client, relais, anonymous_count=2)
    url = f"/api/v1/accompaniments/{session['id']}/duplicate"
    copy = client.post(url, headers=relais["worker"], json={"date": f"{YEAR}-01-17"})
    assert copy.status_code == 201, copy.json
    assert copy.json["id"] != session["id"] and copy.json["date"] == f"{YEAR}-01-17"
    assert (copy.json["beneficiary_ids"], copy.json["anonymous_count"], copy.json["theme"]) == (
        session["beneficiary_ids"], 2, "employment")
    assert "date" in assert_error(client.post(url, headers=relais["worker"], json={}), 422)["errors"]
    assert_error(client.post(url, headers=relais["other"], json={"date": f"{YEAR}-01-17"}), 404)


def test_themes_seeded_added_by_national_retired_when_in_use(client, relais):
    listed = client.get("/api/v1/themes", headers=relais["worker"]).json
    codes = {t["code"] for t in listed}
    assert {"health", "employment", "security", "administration", "shopping", "communication", "parenting",
            "responsible_digital", "culture_leisure", "digital_education"} <= codes
    body = {"code": "mobilite", "label": "Mobilité"}
    assert_error(client.post("/api/v1/themes", headers=relais["admin"], json=body), 403)
    created = client.post("/api/v1/themes", headers=relais["national"], json=body)
    assert created.status_code == 201 and created.json["code"] == "mobilite"
    assert_error(client.post("/api/v1/themes", headers=relais["national"], json=body), 422)
    session = _session(client, relais, theme="mobilite")
    theme_url = f"/api/v1/themes/{created.json['id']}"
    assert_error(client.delete(theme_url, headers=relais["national"]), 409)
    retired = client.patch(theme_url, headers=relais["national"], json={"retired": True})
    assert retired.status_code == 200 and retired.json["retired"] is True
    # Refused for new sessions, kept on the sessions that carry it (even when corrected).
    refused = client.post("/api/v1/accompaniments", headers=relais["worker"], json={
        "kind": "atelier_thematique", "theme": "mobilite", "date": f"{YEAR}-01-10", "duration_minutes": 60,
        "anonymous_count": 1})
    assert "theme" in assert_error(refused, 422)["errors"]
    kept = client.patch(f"/api/v1/accompaniments/{session['id']}", headers=relais["worker"],
                        json={"duration_minutes": 30})
    assert kept.status_code == 200 and kept.json["theme"] == "mobilite"
    unused = client.post("/api/v1/themes", headers=relais["national"], json={"code": "jeux", "label": "Jeux"})
    assert client.delete(f"/api/v1/themes/{unused.json['id']}", headers=relais["national"]).status_code == 204


def test_referrers_per_relais_and_counted_by_kind(client, relais):
    assert_error(client.post("/api/v1/referrers", headers=relais["worker"],
                             json={"name": "France Travail Mérignac", "kind": "embassy"}), 422)
    made = client.post("/api/v1/referrers", headers=relais["worker"],
                       json={"name": "France Travail Mérignac", "kind": "pole_emploi"})
    assert made.status_code == 201 and made.json["kind"] == "pole_emploi"
    assert_error(client.post("/api/v1/referrers", headers=relais["worker"],
                             json={"name": "France Travail Mérignac", "kind": "caf"}), 409)
    ccas = client.post("/api/v1/referrers", headers=relais["worker"],
                       json={"name": "CCAS", "kind": "ccas"}).json
    assert [r["name"] for r in client.get("/api/v1/referrers", headers=relais["worker"]).json] == [
        "CCAS", "France Travail Mérignac"]
    assert client.get("/api/v1/referrers", headers=relais["other"]).json == []
    assert_error(client.get("/api/v1/referrers", headers=relais["national"]), 403)
    person = relais["people"][0]
    patched = client.patch(f"/api/v1/beneficiaries/{person}", headers=relais["worker"],
                           json={"referrer_id": made.json["id"]})
    assert patched.status_code == 200 and patched.json["referrer_id"] == made.json["id"]
    for other_person in relais["people"][1:]:
        client.patch(f"/api/v1/beneficiaries/{other_person}", headers=relais["worker"],
                     json={"referrer_id": ccas["id"]})
    # Another relais' structure reads like a missing one.
    other_ref = client.post("/api/v1/referrers", headers=relais["other"],
                            json={"name": "X", "kind": "caf"}).json
    foreign = client.patch(f"/api/v1/beneficiaries/{person}", headers=relais["worker"],
                           json={"referrer_id": other_ref["id"]})
    missing = client.patch(f"/api/v1/beneficiaries/{person}", headers=relais["worker"],
                           json={"referrer_id": 987_654})
    assert foreign.status_code == missing.status_code == 422
    assert foreign.json["errors"] == missing.json["errors"]
    bilan = client.get(f"/api/v1/reports/annual?year={YEAR}", headers=relais["admin"]).json
    assert bilan["referrers"] == 2
    assert bilan["new_beneficiaries_by_referrer_kind"] == {"pole_emploi": 1, "ccas": 2}
    dashboard = client.get("/api/v1/dashboards/relais", headers=relais["worker"]).json
    assert dashboard["referred"] == [{"kind": "ccas", "people": 2}, {"kind": "pole_emploi", "people": 1}]
    national = client.get(f"/api/v1/reports/annual?year={YEAR}", headers=relais["national"]).json
    assert national["new_beneficiaries_by_referrer_kind"] == {"pole_emploi": 1, "ccas": 2}
    assert "France Travail" not in str(national)


def test_people_registered_this_year_without_a_referrer_count_as_none(client, relais):
    assert client.get(f"/api/v1/reports/annual?year={YEAR}", headers=relais["admin"]
                      ).json["new_beneficiaries_by_referrer_kind"] == {"none": 3}


def test_deleted_sessions_leave_the_parcours_count(client, relais):
    parcours = client.post("/api/v1/parcours", headers=relais["admin"],
                           json={"name": "Initiation", "kind": "initiation", "sessions_required": 2}).json
    first = _session(client, relais, kind="initiation", theme=None, parcours_id=parcours["id"])
    _session(client, relais, kind="initiation", theme=None, parcours_id=parcours["id"], date=f"{YEAR}-01-12")
    person = relais["people"][0]
    progress = client.get(f"/api/v1/beneficiaries/{person}/parcours", headers=relais["worker"]).json
    assert progress[0]["attended"] == 2
    client.delete(f"/api/v1/accompaniments/{first['id']}", headers=relais["worker"],
                  json={"reason": "erreur"})
    progress = client.get(f"/api/v1/beneficiaries/{person}/parcours", headers=relais["worker"]).json
    assert progress[0]["attended"] == 1




def test_a_deleted_session_is_no_first_accompaniment_milestone(client, relais):
    session = _session(client, relais)
    url = f"/api/v1/relais/{relais['id']}/progress"

    def done() -> bool:
        milestones = client.get(url, headers=relais["national"]).json["milestones"]
        return next(m for m in milestones if m["code"] == "first_accompaniment")["done_at"] is not None

    assert done()
    client.delete(f"/api/v1/accompaniments/{session['id']}", headers=relais["worker"],
                  json={"reason": "erreur"})
    assert not done()
