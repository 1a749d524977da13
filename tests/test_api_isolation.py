"""Tenant isolation matrix for the API: relais A's objects do not exist for relais B's users.

Every route taking the id of a tenant object answers 404 to B's admin and worker (and to a
coach whose portfolio is B) for A's ids, whatever the method; A's member is 404 even through
B's own team routes; lists never show A's rows.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from flask import Flask
from sqlalchemy import select

from relais_platform.accounts.models import Role, User
from relais_platform.extensions import db
from relais_platform.tenants.models import Relais
from tests.factories import bearer, make_relais, make_user
from tests.test_api_auth import assert_error


@pytest.fixture
def two(app: Flask) -> SimpleNamespace:
    with app.app_context():
        a = make_relais(name="Relais A")
        b = make_relais(name="Relais B")
        a_admin = make_user(Role.RELAIS_ADMIN, a, name="Admin A")
        a_worker = make_user(Role.RELAIS_WORKER, a, name="Worker A")
        b_admin = make_user(Role.RELAIS_ADMIN, b, name="Admin B")
        b_worker = make_user(Role.RELAIS_WORKER, b, name="Worker B")
        coach_b = make_user(Role.COACH)
        b.coach_id = coach_b.id
        db.session.commit()
        return SimpleNamespace(
            a=a.id, b=b.id, a_admin=a_admin.id, a_worker=a_worker.id,
            headers={
                "b_admin": bearer(b_admin),
                "b_worker": bearer(b_worker),
                "coach_b": bearer(coach_b),
            },
        )


# (method, url template, JSON body): every API route taking a tenant object's id.
ROUTES = [
    ("GET", "/api/v1/relais/{a}", None),
    ("PATCH", "/api/v1/relais/{a}", {"contact_phone": "0102030405"}),
    ("GET", "/api/v1/relais/{a}/users", None),
    ("POST", "/api/v1/relais/{a}/users",
     {"email": "intrus@example.org", "name": "I", "role": "relais_worker"}),
    ("GET", "/api/v1/relais/{a}/users/{a_worker}", None),
    ("PATCH", "/api/v1/relais/{a}/users/{a_worker}", {"active": False}),
    # A's member reached through B's own relais.
    ("GET", "/api/v1/relais/{b}/users/{a_worker}", None),
    ("PATCH", "/api/v1/relais/{b}/users/{a_worker}", {"role": "relais_admin"}),
]


CASES = [
    pytest.param(who, method, template, body, id=f"{who} {method} {template}")
    for who in ("b_admin", "b_worker", "coach_b")
    for method, template, body in ROUTES
    # Only B's admin manages B's team; for the others B's own team routes are 403 whatever
    # the member id (see test_api_users).
    if who == "b_admin" or not template.startswith("/api/v1/relais/{b}")
]


@pytest.mark.parametrize(("who", "method", "template", "body"), CASES)
def test_other_tenant_ids_are_404(app, client, two, who, method, template, body):
    url = template.format(a=two.a, b=two.b, a_worker=two.a_worker)
    response = client.open(url, method=method, json=body, headers=two.headers[who])
    assert_error(response, 404)
    # Nothing changed on A's side.
    with app.app_context():
        worker = db.session.get(User, two.a_worker)
        assert worker.active and worker.role == Role.RELAIS_WORKER
        assert db.session.get(Relais, two.a).contact_phone is None
        assert db.session.scalar(select(User).where(User.email == "intrus@example.org")) is None


@pytest.mark.parametrize("who", ["b_admin", "b_worker"])
def test_relais_list_shows_only_b(client, two, who):
    response = client.get("/api/v1/relais?q=Relais", headers=two.headers[who])
    assert [r["id"] for r in response.json] == [two.b]
    assert response.headers["X-Total-Count"] == "1"


def test_coach_list_shows_its_portfolio_only(client, two):
    response = client.get("/api/v1/relais", headers=two.headers["coach_b"])
    assert [r["id"] for r in response.json] == [two.b]


def test_team_list_shows_only_b(client, two):
    response = client.get(f"/api/v1/relais/{two.b}/users?per_page=200", headers=two.headers["b_admin"])
    assert sorted(u["name"] for u in response.json) == ["Admin B", "Worker B"]
    assert response.headers["X-Total-Count"] == "2"


def test_me_never_shows_another_relais(client, two):
    me = client.get("/api/v1/me", headers=two.headers["b_worker"]).json
    assert me["relais"]["id"] == two.b
