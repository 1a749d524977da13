"""Who looked at whom (issue 11, §7): the audit log in the app and the API, and two-factor
policies for relais staff.

- a relais admin reads its relais' log (views, exports, changes, erasures of a person's
  record; its team's sign-ins), filtered by person, user, action and date, exported as CSV
  with formulas neutralised; another relais' entries never show;
- national reads the network's entries (relais, roles, national and coach sign-ins), never
  an entry about a person nor a relais staff's sign-in;
- other roles: 403;
- a relais admin can require two-factor of its team, national of every relais staff: they
  must then enrol before anything else, and their API tokens stop working until they do.
"""

from __future__ import annotations

import csv
import io
from types import SimpleNamespace

import pytest

from relais_platform.accounts.models import Role, User
from relais_platform.audit import services as audit
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.tenancy import TenantScope, tenant_session
from tests.factories import PASSWORD, bearer, make_beneficiary, make_relais, make_user, totp_now


@pytest.fixture
def world(app) -> SimpleNamespace:
    with app.app_context():
        a, b = make_relais(name="Relais A"), make_relais(name="Relais B")
        a.terms_accepted_at = b.terms_accepted_at = utcnow()
        admin_a = make_user(Role.RELAIS_ADMIN, a, name="=HYPERLINK(\"http://evil\")")
        worker_a = make_user(Role.RELAIS_WORKER, a, name="Walid Worker")
        admin_b = make_user(Role.RELAIS_ADMIN, b)
        national = make_user(Role.NATIONAL, name="Nadia National")
        coach = make_user(Role.COACH)
        headers = SimpleNamespace(admin_a=bearer(admin_a), worker_a=bearer(worker_a), admin_b=bearer(admin_b),
                                  national=bearer(national), coach=bearer(coach))
        ids = SimpleNamespace(a=a.id, b=b.id, admin_a=admin_a.id, worker_a=worker_a.id, admin_b=admin_b.id,
                              national=national.id, coach=coach.id)
        ids.person = make_beneficiary(ids.a)
        ids.other = make_beneficiary(ids.a)
        ids.person_b = make_beneficiary(ids.b)
        db.session.remove()
    return SimpleNamespace(ids=ids, headers=headers)


def _entries(client, headers, **query) -> list[dict]:
    response = client.get("/api/v1/audit", headers=headers, query_string={"per_page": 200, **query})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def _view(client, world, person: int, who: str = "worker_a") -> None:
    response = client.get(f"/api/v1/beneficiaries/{person}", headers=getattr(world.headers, who))
    assert response.status_code == 200


def test_a_relais_admin_reads_who_looked_at_whom(app, client, world):
    ids = world.ids
    _view(client, world, ids.person)
    _view(client, world, ids.other, who="admin_a")
    exported = client.get(f"/api/v1/beneficiaries/{ids.person}/export", headers=world.headers.admin_a)
    assert exported.status_code == 200
    client.get(f"/api/v1/beneficiaries/{ids.person_b}", headers=world.headers.admin_b)

    entries = _entries(client, world.headers.admin_a)
    assert {e["relais_id"] for e in entries} == {ids.a}
    viewed = [e for e in entries if e["action"] == "beneficiary_viewed"]
    assert {(e["actor_id"], e["target_id"]) for e in viewed} == {(ids.worker_a, ids.person),
                                                                (ids.admin_a, ids.other)}
    assert all(e["target_id"] != ids.person_b for e in entries)

    about_person = _entries(client, world.headers.admin_a, beneficiary_id=ids.person)
    assert about_person and all(ids.person in (e["target_id"], e["details"].get("beneficiary_id"))
                                or ids.person in e["details"].get("ids", []) for e in about_person)
    assert {e["action"] for e in about_person} >= {"beneficiary_created", "beneficiary_viewed",
                                                   "beneficiary_exported"}
    by_user = _entries(client, world.headers.admin_a, user_id=ids.worker_a)
    assert by_user and {e["actor_id"] for e in by_user} == {ids.worker_a}
    by_action = _entries(client, world.headers.admin_a, action="beneficiary_viewed")
    assert {e["action"] for e in by_action} == {"beneficiary_viewed"}
    assert _entries(client, world.headers.admin_a, **{"from": "2000-01-01", "to": "2000-12-31"}) == []
    # Another relais' person: nothing, exactly as for an id nobody has.
    assert _entries(client, world.headers.admin_a, beneficiary_id=ids.person_b) == []
    assert _entries(client, world.headers.admin_a, beneficiary_id=10**12) == []


def test_a_relais_admin_sees_its_teams_sign_ins(app, client, world):
    with app.app_context():
        worker_email = db.session.get(User, world.ids.worker_a).email
    client.post("/login", data={"email": worker_email, "password": PASSWORD})
    app.test_client().post("/login", data={"email": worker_email, "password": "not-the-password-1"})
    actions = {e["action"] for e in _entries(client, world.headers.admin_a, user_id=world.ids.worker_a)}
    assert "login_success" in actions
    failures = _entries(client, world.headers.admin_a, action="login_failure")
    assert failures and failures[0]["target_id"] == world.ids.worker_a


def test_national_reads_network_entries_only(app, client, world):
    ids = world.ids
    _view(client, world, ids.person)
    with app.app_context():
        national_email = db.session.get(User, ids.national).email
        worker_email = db.session.get(User, ids.worker_a).email
        national = db.session.get(User, ids.national)
        db.session.remove()
    client.post("/login", data={"email": worker_email, "password": PASSWORD})
    client.post("/logout")
    client.post("/login", data={"email": national_email, "password": PASSWORD})
    client.post("/login/code", data={"code": totp_now(national)})
    response = client.patch(f"/api/v1/relais/{ids.a}/users/{ids.worker_a}", headers=world.headers.admin_a,
                            json={"role": "relais_admin"})
    assert response.status_code == 200

    entries = _entries(client, world.headers.national)
    actions = {e["action"] for e in entries}
    assert "role_changed" in actions
    assert any(e["action"] == "login_success" and e["actor_id"] == ids.national for e in entries)
    # Nothing about a person, no relais staff sign-in.
    assert not any(e["action"].startswith("beneficiar") or e["target_type"] == "beneficiaries"
                   for e in entries)
    assert not any(e["action"] == "login_success" and e["relais_id"] is not None for e in entries)
    assert _entries(client, world.headers.national, beneficiary_id=ids.person) == []


@pytest.mark.parametrize("who", ["worker_a", "coach"])
def test_other_roles_may_not_read_the_log(client, world, who):
    headers = getattr(world.headers, who)
    assert client.get("/api/v1/audit", headers=headers).status_code == 403
    assert client.get("/api/v1/audit/export", headers=headers).status_code == 403


def test_bad_filters_are_422_naming_the_field(client, world):
    # An id beyond bigint is refused up front by the platform's input guard, naming it.
    response = client.get("/api/v1/audit", headers=world.headers.admin_a,
                          query_string={"beneficiary_id": "9" * 30})
    assert response.status_code == 422 and "beneficiary_id" in response.json["errors"]
    response = client.get("/api/v1/audit", headers=world.headers.admin_a,
                          query_string={"beneficiary_id": "9", "from": "0001-01-01", "action": "x" * 65})
    assert response.status_code == 422
    assert {"from", "action"} <= set(response.json["errors"])


def test_the_csv_export_is_filtered_and_formula_safe(app, client, world):
    _view(client, world, world.ids.other, who="admin_a")
    response = client.get("/api/v1/audit/export", headers=world.headers.admin_a,
                          query_string={"action": "beneficiary_viewed"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert len(rows) == 2 and rows[1][2] == "beneficiary_viewed"
    assert rows[1][1] == "'=HYPERLINK(\"http://evil\")"  # the admin's name, neutralised
    exported = _entries(client, world.headers.admin_a, action="audit_log_exported")
    assert exported and exported[0]["actor_id"] == world.ids.admin_a


def test_the_pages_are_in_the_menu_and_filterable(app, world):
    from tests.test_web_support import login_as

    with app.app_context():
        admin, worker, national = (db.session.get(User, i) for i in
                                   (world.ids.admin_a, world.ids.worker_a, world.ids.national))
        admin_client, worker_client, national_client = [login_as(app, u) for u in (admin, worker, national)]
        with tenant_session(db.session, TenantScope(relais_id=world.ids.a)):
            audit.record("beneficiary_viewed", target_type="beneficiaries", target_id=world.ids.person,
                         actor_id=world.ids.worker_a, relais_id=world.ids.a)
            db.session.commit()
        db.session.remove()
    home = admin_client.get("/").get_data(as_text=True)
    assert 'href="/audit"' in home
    page = admin_client.get("/audit", query_string={"beneficiary_id": world.ids.person})
    assert page.status_code == 200
    assert f"Personne n° {world.ids.person}" in page.get_data(as_text=True)
    assert admin_client.get("/audit", query_string={"from": "nope"}).status_code == 422
    csv_page = admin_client.get("/audit/export.csv", query_string={"beneficiary_id": world.ids.person})
    assert csv_page.status_code == 200 and "beneficiary_viewed" in csv_page.get_data(as_text=True)
    assert 'href="/audit"' not in worker_client.get("/").get_data(as_text=True)
    assert worker_client.get("/audit").status_code == 403
    national_page = national_client.get("/audit")
    assert national_page.status_code == 200 and "Personne n°" not in national_page.get_data(as_text=True)
    assert 'href="/audit"' in national_client.get("/").get_data(as_text=True)


# --- two-factor policies ----------------------------------------------------------------


def test_a_relais_admin_requires_two_factor_of_its_team(app, client, world):
    ids = world.ids
    assert client.get("/api/v1/me", headers=world.headers.worker_a).status_code == 200
    response = client.patch(f"/api/v1/relais/{ids.a}/security", headers=world.headers.admin_a,
                            json={"require_two_factor": True})
    assert response.status_code == 200 and response.json == {"require_two_factor": True}

    # The token issued before stops working; a new one is refused until enrolment.
    assert client.get("/api/v1/me", headers=world.headers.worker_a).status_code == 401
    with app.app_context():
        worker_email = db.session.get(User, ids.worker_a).email
    refused = client.post("/api/v1/auth/tokens", json={"email": worker_email, "password": PASSWORD})
    assert refused.status_code == 401
    # On the web, the next sign-in leads to enrolment before anything else.
    assert client.post("/login", data={"email": worker_email, "password": PASSWORD}).status_code == 302
    assert client.get("/").headers["Location"] == "/account/two-factor"
    # Relais B is not concerned.
    assert client.get("/api/v1/me", headers=world.headers.admin_b).status_code == 200


def test_only_the_relais_admin_or_national_sets_the_team_policy(client, world):
    ids = world.ids
    body = {"require_two_factor": True}
    assert client.patch(f"/api/v1/relais/{ids.a}/security", headers=world.headers.worker_a,
                        json=body).status_code == 403
    assert client.patch(f"/api/v1/relais/{ids.a}/security", headers=world.headers.admin_b,
                        json=body).status_code == 404
    assert client.patch(f"/api/v1/relais/{ids.a}/security", headers=world.headers.admin_a,
                        json={"require_two_factor": "peut-être"}).status_code == 422


def test_national_requires_two_factor_network_wide(app, client, world):
    assert client.patch("/api/v1/network/security", headers=world.headers.admin_a,
                        json={"staff_two_factor_required": True}).status_code == 403
    response = client.patch("/api/v1/network/security", headers=world.headers.national,
                            json={"staff_two_factor_required": True})
    assert response.status_code == 200 and response.json == {"staff_two_factor_required": True}
    for who in ("admin_a", "worker_a", "admin_b"):
        assert client.get("/api/v1/me", headers=getattr(world.headers, who)).status_code == 401
    # National and coaches are enrolled already (mandatory for them): unaffected.
    assert client.get("/api/v1/me", headers=world.headers.coach).status_code == 200
    entries = _entries(client, world.headers.national, action="network_two_factor_required")
    assert entries and entries[0]["actor_id"] == world.ids.national


def test_a_required_two_factor_cannot_be_switched_off_by_the_member(app, world):
    from tests.test_web_support import login_as

    with app.app_context():
        relais = db.session.get(User, world.ids.worker_a).relais
        relais.require_two_factor = True
        worker = db.session.get(User, world.ids.worker_a)
        worker.totp_secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
        worker.totp_confirmed_at = utcnow()
        db.session.commit()
        browser = login_as(app, worker)
        db.session.remove()
    browser.post("/account/two-factor/disable")
    with app.app_context():
        assert db.session.get(User, world.ids.worker_a).has_two_factor


def test_the_web_toggles(app, world):
    from tests.test_web_support import login_as

    with app.app_context():
        admin = db.session.get(User, world.ids.admin_a)
        national = db.session.get(User, world.ids.national)
        admin_client, national_client = login_as(app, admin), login_as(app, national)
        db.session.remove()
    page = admin_client.get("/account").get_data(as_text=True)
    assert "Double authentification de l" in page, page
    assert admin_client.post(f"/relais/{world.ids.b}/two-factor", data={"required": "1"}).status_code == 404
    assert admin_client.post("/network/two-factor", data={"required": "0"}).status_code == 403
    done = admin_client.post(f"/relais/{world.ids.a}/two-factor", data={"required": "1"})
    assert done.headers["Location"] == "/account"
    # The admin is part of the team: enrolment first, like everyone in it.
    assert admin_client.get("/account").headers["Location"] == "/account/two-factor"
    assert national_client.post("/network/two-factor", data={"required": "1"}).status_code == 302
    with app.app_context():
        from relais_platform.accounts import services as accounts

        assert db.session.get(User, world.ids.admin_a).relais.require_two_factor
        assert accounts.network_policy().staff_two_factor_required
