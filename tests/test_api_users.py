"""Team API: listing, inviting (the e-mail goes out through the RQ mail queue), deactivation, roles."""

from __future__ import annotations

import re
from email import policy
from email.parser import BytesParser
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import Flask
from rq import SimpleWorker

from relais_platform.accounts.models import Role, User
from relais_platform.extensions import db
from relais_platform.tenants.models import RelaisStatus
from tests.factories import bearer, make_relais, make_user
from tests.test_api_auth import assert_error

USER_FIELDS = {
    "id", "email", "name", "role", "relais_id", "active", "two_factor", "invitation_pending",
    "created_at", "last_login_at",
}


@pytest.fixture
def team(app: Flask) -> SimpleNamespace:
    with app.app_context():
        relais = make_relais(name="Restos du Cœur Gap", kind="restos_du_coeur", postcode="05000")
        admin = make_user(Role.RELAIS_ADMIN, relais, name="Anne Admin")
        worker = make_user(Role.RELAIS_WORKER, relais, name="Bruno Bénévole")
        coach = make_user(Role.COACH)
        relais.coach_id = coach.id
        db.session.commit()
        return SimpleNamespace(
            relais=relais.id,
            admin_id=admin.id,
            worker_id=worker.id,
            national=bearer(make_user(Role.NATIONAL)),
            coach=bearer(coach),
            admin=bearer(admin),
            worker=bearer(worker),
        )


def users_url(team: SimpleNamespace, user_id: int | None = None) -> str:
    url = f"/api/v1/relais/{team.relais}/users"
    return url if user_id is None else f"{url}/{user_id}"


def run_mail_queue(app: Flask) -> list:
    """Deliver what the requests queued, as the RQ worker would; the parsed messages."""
    with app.app_context():
        queue = app.extensions["rq_queues"]["mail"]
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
    outbox = Path(app.config["MAIL_OUTBOX"])
    return [BytesParser(policy=policy.default).parsebytes(p.read_bytes())
            for p in sorted(outbox.glob("*.eml"))]


# --- listing -------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["national", "admin"])
def test_team_is_listed_for_national_and_admin(client, team, who):
    response = client.get(users_url(team), headers=getattr(team, who))
    assert response.status_code == 200
    assert [u["name"] for u in response.json] == ["Anne Admin", "Bruno Bénévole"]
    assert set(response.json[0]) == USER_FIELDS
    assert response.headers["X-Total-Count"] == "2"


def test_team_list_is_paginated(client, team):
    response = client.get(f"{users_url(team)}?per_page=1&page=2", headers=team.national)
    assert [u["name"] for u in response.json] == ["Bruno Bénévole"]
    assert '"last_page": 2' in response.headers["X-Pagination"]


@pytest.mark.parametrize("who", ["worker", "coach"])
def test_other_roles_are_403(client, team, who):
    headers = getattr(team, who)
    assert_error(client.get(users_url(team), headers=headers), 403)
    assert_error(client.post(users_url(team), headers=headers,
                             json={"email": "x@example.org", "name": "X", "role": "relais_worker"}), 403)
    assert_error(client.get(users_url(team, team.worker_id), headers=headers), 403)
    assert_error(client.patch(users_url(team, team.worker_id), headers=headers, json={"active": False}),
                 403)


def test_unknown_relais_or_member_is_404(client, team):
    assert_error(client.get("/api/v1/relais/999999/users", headers=team.national), 404)
    assert_error(client.get(users_url(team, 999999), headers=team.national), 404)


def test_member_is_read_one_by_one(client, team):
    response = client.get(users_url(team, team.worker_id), headers=team.admin)
    assert response.status_code == 200
    assert response.json["role"] == "relais_worker" and response.json["relais_id"] == team.relais


# --- invitations ---------------------------------------------------------------------


def test_admin_invites_a_worker_who_gets_the_link_by_email(app, client, team):
    response = client.post(users_url(team), headers=team.admin,
                           json={"email": "Chloe@Restos05.fr", "name": "Chloé", "role": "relais_worker"})
    assert response.status_code == 201, response.json
    body = response.json
    assert set(body) == USER_FIELDS
    assert body["email"] == "chloe@restos05.fr" and body["relais_id"] == team.relais
    assert body["invitation_pending"] is True and body["active"] is True

    [message] = run_mail_queue(app)
    assert message["To"] == "chloe@restos05.fr"
    text = message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"http://localhost/invitation/\S+", text)
    assert link, text
    # The link works: the invitation page answers for that token.
    assert client.get(link.group(0).removeprefix("http://localhost")).status_code == 200


def test_national_invites_the_first_admin(app, client, team):
    response = client.post(users_url(team), headers=team.national,
                           json={"email": "referent@restos05.fr", "name": "Réf", "role": "relais_admin"})
    assert response.status_code == 201
    assert response.json["role"] == "relais_admin"
    assert [m["To"] for m in run_mail_queue(app)] == ["referent@restos05.fr"]


def test_refused_invitation_sends_nothing(app, client, team):
    assert_error(client.post(users_url(team), headers=team.admin,
                             json={"email": "x@example.org", "name": "X", "role": "national"}), 422)
    assert run_mail_queue(app) == []


@pytest.mark.parametrize(("data", "field"), [
    ({"email": "not-an-email", "name": "X", "role": "relais_worker"}, "email"),
    ({"email": "x@example.org", "name": "", "role": "relais_worker"}, "name"),
    ({"email": "x@example.org", "name": "X", "role": "boss"}, "role"),
    ({"email": "x@example.org", "name": "X", "role": "coach"}, "role"),
    ({"email": "x@example.org", "name": "X"}, "role"),
    ({"email": "x@example.org", "name": "X", "role": "relais_worker", "password": "p"}, "password"),
])
def test_invalid_invitation_is_422_on_the_field(client, team, data, field):
    body = assert_error(client.post(users_url(team), headers=team.admin, json=data), 422)
    assert list(body["errors"]) == [field]


def test_email_already_used_is_422(client, team):
    data = {"email": "dup@example.org", "name": "Dup", "role": "relais_worker"}
    assert client.post(users_url(team), headers=team.admin, json=data).status_code == 201
    data["email"] = "DUP@example.org"
    body = assert_error(client.post(users_url(team), headers=team.admin, json=data), 422)
    assert list(body["errors"]) == ["email"]


def test_no_invitation_into_a_closed_relais(app, client, team):
    with app.app_context():
        closed = make_relais(status=RelaisStatus.CLOSED)
        closed_id = closed.id
    body = assert_error(client.post(f"/api/v1/relais/{closed_id}/users", headers=team.national,
                                    json={"email": "x@example.org", "name": "X", "role": "relais_admin"}),
                        422)
    assert list(body["errors"]) == ["relais_id"]


# --- deactivation and roles ----------------------------------------------------------


def test_deactivation_stops_the_members_tokens_and_reactivation(app, client, team):
    response = client.patch(users_url(team, team.worker_id), headers=team.admin, json={"active": False})
    assert response.status_code == 200
    assert response.json["active"] is False
    assert_error(client.get("/api/v1/me", headers=team.worker), 401)

    response = client.patch(users_url(team, team.worker_id), headers=team.national, json={"active": True})
    assert response.json["active"] is True
    # Revoked tokens stay revoked: the member signs in again.
    assert_error(client.get("/api/v1/me", headers=team.worker), 401)
    with app.app_context():
        assert db.session.get(User, team.worker_id).active


def test_role_change(client, team):
    response = client.patch(users_url(team, team.worker_id), headers=team.admin,
                            json={"role": "relais_admin"})
    assert response.status_code == 200
    assert response.json["role"] == "relais_admin"


@pytest.mark.parametrize(("change", "field"), [
    ({"role": "national"}, "role"),
    ({"role": "sorcerer"}, "role"),
    ({"active": "maybe"}, "active"),
    ({"email": "new@example.org"}, "email"),
])
def test_invalid_change_is_422(client, team, change, field):
    body = assert_error(client.patch(users_url(team, team.worker_id), headers=team.admin, json=change),
                        422)
    assert list(body["errors"]) == [field]


def test_admin_cannot_deactivate_or_demote_itself(client, team):
    for change, field in (({"active": False}, "active"), ({"role": "relais_worker"}, "role")):
        body = assert_error(client.patch(users_url(team, team.admin_id), headers=team.admin, json=change),
                            422)
        assert list(body["errors"]) == [field]
    assert client.get("/api/v1/me", headers=team.admin).json["role"] == "relais_admin"
