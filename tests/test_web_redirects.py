"""Every redirect that follows a user-supplied address stays on this site (issue 11, §3).

The entry points: `next` after the password, `next` kept across the TOTP step, and the
language switch's return address. Each is fed the same attack strings, as they arrive in
the raw query string or form (percent-encoded the way an attacker would send them).
"""

from __future__ import annotations

import pytest

from relais_platform.accounts.models import Role
from relais_platform.security import safe_redirect_target
from tests.factories import PASSWORD, make_user, totp_now
from tests.test_web_support import build, make_signed_relais

# Raw, as they appear in a URL's query string.
ATTACKS_RAW = [
    "/%09/evil.example/phish",
    "/%0d%0a/evil.example",
    "/%2509/evil.example",  # a tab once decoded twice
    "//evil.example/phish",
    "///evil.example",
    "/%5Cevil.example",
    "/%5C%5Cevil.example",
    "%2F%2Fevil.example",
    "/%2F/evil.example",
    "https://evil.example/",
    "https:evil.example",
    "javascript:alert(1)",
    "%20//evil.example",
    "evil.example",
    "/%00/evil.example",
    "/%7F/evil.example",
]
# Decoded, as they reach the application in a form field or an argument.
ATTACKS = [
    "/\t/evil.example/phish", "/\r\n/evil.example", "/\n/evil.example", "//evil.example",
    "/\\evil.example", "\\\\evil.example", "/\\/evil.example", "/%09/evil.example",
    "/%2509/evil.example", "/%5C/evil.example", "https://evil.example", "HTTPS://evil.example",
    "javascript:alert(1)", " //evil.example", "\t//evil.example", "//evil.example\t",
    "/\x00/evil.example", "/\x7f/evil.example", "evil.example/path", "", "?next=//evil",
]
SAFE = ["/", "/account", "/stock?page=2&q=a%20b", "/training/sessions/3#seats", "/a:b"]


@pytest.mark.parametrize("target", ATTACKS)
def test_the_helper_refuses_every_way_off_the_site(target):
    assert safe_redirect_target(target) is None


@pytest.mark.parametrize("target", SAFE)
def test_the_helper_keeps_local_paths(target):
    assert safe_redirect_target(target) == target


@pytest.fixture
def relais(app):
    return build(app, make_signed_relais)


@pytest.mark.parametrize("raw", ATTACKS_RAW)
def test_next_after_the_password(app, client, relais, raw):
    worker = build(app, make_user, Role.RELAIS_WORKER, relais)
    response = client.post(f"/login?next={raw}", data={"email": worker.email, "password": PASSWORD})
    # A NUL is refused before any view runs (400); anything else signs in and goes home.
    assert response.headers.get("Location", "/") == "/"


@pytest.mark.parametrize("raw", ["/%09/evil.example/phish", "//evil.example", "/%5Cevil.example",
                                 "/%2509/evil.example", "https://evil.example/"])
def test_next_after_password_and_totp(app, client, raw):
    """The full sign-in, two-factor included: the code step must not follow a bad `next`."""
    national = build(app, make_user, Role.NATIONAL)
    step = client.post(f"/login?next={raw}", data={"email": national.email, "password": PASSWORD})
    assert step.headers["Location"] == "/login/code"
    # Even a `next` slipped into the pending step itself is checked again when it is followed.
    with client.session_transaction() as session:
        assert session["pending_login"]["next"] is None
        session["pending_login"] = {**session["pending_login"], "next": "/\t/evil.example/phish"}
    done = client.post("/login/code", data={"code": totp_now(national)})
    assert done.status_code == 302 and done.headers["Location"] == "/"
    assert client.get("/").status_code == 200


def test_a_local_next_survives_the_totp_step(app, client):
    national = build(app, make_user, Role.NATIONAL)
    client.post("/login?next=/account", data={"email": national.email, "password": PASSWORD})
    done = client.post("/login/code", data={"code": totp_now(national)})
    assert done.headers["Location"] == "/account"


@pytest.mark.parametrize("target", ATTACKS)
def test_language_switch_return_address(client, target):
    response = client.post("/lang/en", data={"next": target})
    assert response.headers.get("Location", "/") == "/"


def test_language_switch_keeps_a_local_return_address(client):
    response = client.post("/lang/en", data={"next": "/terms?x=1"})
    assert response.headers["Location"] == "/terms?x=1"

