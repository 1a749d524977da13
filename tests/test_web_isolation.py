"""Tenant isolation on the web pages: a user of relais B never reaches relais A's objects.

Every web route taking the id of a relais or of a relais member answers 404 (never 403, which
would confirm the object exists), and B's lists never show A's rows.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from relais_platform.accounts.models import Role, User
from relais_platform.extensions import db
from relais_platform.tenants.models import Relais, RelaisStatus
from tests.factories import make_relais, make_user, relais_data
from tests.test_web_support import build, login_as, make_signed_relais, query, text

# (method, url template, form data): {a} is relais A, {b} relais B, {ua} a member of A.
ROUTES = [
    ("GET", "/relais/{a}", None),
    ("GET", "/relais/{a}/edit", None),
    ("POST", "/relais/{a}/edit", relais_data()),
    ("POST", "/relais/{a}/status", {"status": "suspended"}),
    ("POST", "/relais/{a}/approve", {}),
    ("POST", "/relais/{a}/team", {"invite-email": "x@example.org", "invite-name": "X",
                                  "invite-role": "relais_worker"}),
    ("POST", "/relais/{a}/team/{ua}/active", {"active": "0"}),
    ("POST", "/relais/{a}/team/{ua}/role", {"member-{ua}-role": "relais_admin"}),
    # A's member reached through B's own relais id.
    ("POST", "/relais/{b}/team/{ua}/active", {"active": "0"}),
    ("POST", "/relais/{b}/team/{ua}/role", {"member-{ua}-role": "relais_admin"}),
]


@pytest.fixture
def tenants(app):
    relais_a = build(app, make_signed_relais, name="Relais Alpha", city="Arcachon", postcode="33120")
    relais_b = build(app, make_signed_relais, name="Relais Beta", city="Bayonne", postcode="64100")
    admin_a = build(app, make_user, Role.RELAIS_ADMIN, relais_a, name="Anne Alpha",
                    email="anne@alpha.example.org")
    worker_a = build(app, make_user, Role.RELAIS_WORKER, relais_a, name="Arthur Alpha",
                     email="arthur@alpha.example.org")
    admin_b = build(app, make_user, Role.RELAIS_ADMIN, relais_b, name="Bea Beta")
    worker_b = build(app, make_user, Role.RELAIS_WORKER, relais_b, name="Bruno Beta")
    return {"a": relais_a, "b": relais_b, "admin_a": admin_a, "worker_a": worker_a,
            "admin_b": admin_b, "worker_b": worker_b}


def _url(template: str, ids: dict[str, int]) -> str:
    return template.format(**ids)


def test_every_web_route_with_a_tenant_id_is_in_the_matrix(app):
    covered = {template.replace("{a}", "<int:relais_id>").replace("{b}", "<int:relais_id>")
               .replace("{ua}", "<int:user_id>") for _method, template, _data in ROUTES}
    with_ids = {
        rule.rule for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith(("tenants.", "accounts."))
        and ({"relais_id", "user_id"} & set(rule.arguments))
    }
    assert with_ids <= covered


@pytest.mark.parametrize("who", ["admin_b", "worker_b"])
def test_user_of_relais_b_gets_404_for_relais_a(app, tenants, who):
    ids = {"a": tenants["a"].id, "b": tenants["b"].id, "ua": tenants["worker_a"].id}
    client = login_as(app, tenants[who])
    for method, template, data in ROUTES:
        url = _url(template, ids)
        form = {_url(key, ids): value for key, value in (data or {}).items()}
        response = client.open(url, method=method, data=form)
        assert response.status_code == 404, (method, url, response.status_code)

    def state() -> tuple:
        relais_a = db.session.get(Relais, ids["a"])
        worker_a = db.session.get(User, ids["ua"])
        invited = db.session.scalar(select(User).where(User.email == "x@example.org"))
        return relais_a.status, relais_a.name, worker_a.active, worker_a.role, invited

    assert query(app, state) == (RelaisStatus.ACTIVE, "Relais Alpha", True, Role.RELAIS_WORKER, None)


@pytest.mark.parametrize("who", ["admin_b", "worker_b"])
def test_lists_of_relais_b_never_show_relais_a(app, tenants, who):
    client = login_as(app, tenants[who])
    for path in ("/", f"/relais/{tenants['b'].id}", "/account"):
        html = text(client.get(path))
        assert "Relais Beta" in html
        for leak in ("Relais Alpha", "Arcachon", "Anne Alpha", "anne@alpha.example.org", "Arthur Alpha"):
            assert leak not in html, (path, leak)
    assert client.get("/outbox/").status_code == 403


def test_national_sees_every_relais_and_team(app, tenants):
    national = build(app, make_user, Role.NATIONAL)
    client = login_as(app, national)
    html = text(client.get("/"))
    assert "Relais Alpha" in html and "Relais Beta" in html
    assert "Anne Alpha" in text(client.get(f"/relais/{tenants['a'].id}"))


def test_applicant_relais_is_invisible_to_other_relais(app, tenants):
    applicant = build(app, make_relais, RelaisStatus.APPLIED, name="Candidat secret")
    client = login_as(app, tenants["admin_b"])
    assert client.get(f"/relais/{applicant.id}").status_code == 404
    assert "Candidat secret" not in text(client.get("/"))
