"""API authentication: tokens (issue, expiry, revocation), two-factor, throttling, CSRF, /me."""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from flask import Flask, session
from flask_login import FlaskLoginClient
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select, text, update

from relais_platform.accounts.models import ApiToken, Role, User
from relais_platform.audit.models import AuditEntry
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from tests.factories import (
    PASSWORD,
    bearer,
    make_relais,
    make_user,
    relais_data,
    sign_in_cookie,
    totp_now,
)
from tests.test_web_support import deliver_mail

TOKENS = "/api/v1/auth/tokens"


def assert_error(response, code: int) -> dict:
    """The response carries the API's JSON error format with this code."""
    assert response.status_code == code, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"code", "status", "message", "errors"}
    assert body["code"] == code and body["message"]
    return body


def cookie_client(app: Flask, user_id: str) -> FlaskLoginClient:
    """A client signed in through the browser session (no Bearer token)."""
    client = app.test_client()
    sign_in_cookie(app, client, user_id)
    return client


@pytest.fixture
def people(app: Flask) -> SimpleNamespace:
    with app.app_context():
        relais = make_relais(name="CCAS de Bordeaux")
        admin = make_user(Role.RELAIS_ADMIN, relais, email="admin@ccas-bordeaux.fr")
        worker = make_user(Role.RELAIS_WORKER, relais, email="worker@ccas-bordeaux.fr")
        national = make_user(Role.NATIONAL, email="national@emmaus-connect.org")
        coach = make_user(Role.COACH, email="coach@emmaus-connect.org")
        return SimpleNamespace(
            relais_id=relais.id,
            relais_name=relais.name,
            admin_id=admin.id,
            worker_id=worker.id,
            worker_session=worker.get_id(),
            national_id=national.id,
            national_session=national.get_id(),
            coach_id=coach.id,
        )


def _login(client, email: str, password: str = PASSWORD, **extra: str):
    return client.post(TOKENS, json={"email": email, "password": password, **extra})


# --- issuing tokens ------------------------------------------------------------------


def test_token_is_issued_and_authenticates_requests(client, people):
    response = _login(client, "Worker@CCAS-Bordeaux.fr")
    assert response.status_code == 201
    assert set(response.json) == {"token", "expires_at"}
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {response.json['token']}"})
    assert me.status_code == 200
    assert me.json["id"] == people.worker_id


def test_wrong_password_and_unknown_account_are_the_same_401(client, people):
    wrong = assert_error(_login(client, "worker@ccas-bordeaux.fr", "not-the-password"), 401)
    unknown = assert_error(_login(client, "nobody@example.org"), 401)
    assert wrong["message"] == unknown["message"]


def test_token_request_validation(client, people):
    body = assert_error(client.post(TOKENS, json={"email": "worker@ccas-bordeaux.fr"}), 422)
    assert list(body["errors"]) == ["password"]
    body = assert_error(client.post(TOKENS, json={"email": "a@b.fr", "password": "x", "role": "national"}),
                        422)
    assert "role" in body["errors"]


def test_deactivated_user_cannot_get_a_token(app, client, people):
    with app.app_context():
        db.session.get(User, people.worker_id).active = False
        db.session.commit()
    assert_error(_login(client, "worker@ccas-bordeaux.fr"), 401)


def audit_actions(owner_engine) -> list[str]:
    # Read as the owner: the audit log is not readable outside an explicit scope.
    with owner_engine.connect() as conn:
        return list(conn.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_failed_and_successful_logins_are_audited(client, people, owner_engine):
    _login(client, "worker@ccas-bordeaux.fr", "wrong-password-here")
    _login(client, "worker@ccas-bordeaux.fr")
    assert audit_actions(owner_engine)[-3:] == ["login_failure", "login_success", "api_token_issued"]


# --- two-factor ----------------------------------------------------------------------


class TestTwoFactor:
    def test_national_needs_the_totp_code(self, client, people):
        body = assert_error(_login(client, "national@emmaus-connect.org"), 401)
        assert "deux facteurs" in body["message"]

    def test_wrong_totp_code_is_refused(self, client, people):
        assert_error(_login(client, "national@emmaus-connect.org", totp="000000"), 401)

    def test_right_totp_code_gives_a_token(self, app, client, people):
        with app.app_context():
            code = totp_now(db.session.get(User, people.national_id))
        assert _login(client, "national@emmaus-connect.org", totp=code).status_code == 201

    def test_coach_with_totp_gets_a_token(self, app, client, people):
        with app.app_context():
            code = totp_now(db.session.get(User, people.coach_id))
        assert _login(client, "coach@emmaus-connect.org", totp=code).status_code == 201

    def test_national_without_enrolment_is_sent_to_the_web(self, app, client):
        with app.app_context():
            make_user(Role.NATIONAL, email="new.national@emmaus-connect.org", two_factor=False)
        body = assert_error(_login(client, "new.national@emmaus-connect.org"), 401)
        assert "interface web" in body["message"]

    def test_relais_user_with_optional_two_factor_needs_the_code(self, app, client):
        with app.app_context():
            user = make_user(Role.RELAIS_ADMIN, make_relais(), email="careful@ccas.fr", two_factor=True)
            careful_id = user.id
        assert_error(_login(client, "careful@ccas.fr"), 401)
        with app.app_context():
            code = totp_now(db.session.get(User, careful_id))
        assert _login(client, "careful@ccas.fr", totp=code).status_code == 201


# --- throttling ----------------------------------------------------------------------


def test_five_failures_lock_the_account_even_for_the_right_password(client, people):
    for _ in range(5):
        assert_error(_login(client, "worker@ccas-bordeaux.fr", "wrong-password-here"), 401)
    body = assert_error(_login(client, "worker@ccas-bordeaux.fr"), 429)
    assert "tentatives" in body["message"]
    # Another account is not affected.
    assert _login(client, "admin@ccas-bordeaux.fr").status_code == 201


def test_lock_ends_when_the_window_passes(app, client, people, monkeypatch):
    # A few seconds rather than one: five argon2 checks can take longer than a second on a
    # loaded machine, and failures older than the window no longer count.
    window = 4
    monkeypatch.setitem(app.config, "LOGIN_FAILURE_WINDOW", timedelta(seconds=window))
    _login(client, "worker@ccas-bordeaux.fr", "wrong-password-here")
    first_failure_counted = time.monotonic()
    for _ in range(4):
        _login(client, "worker@ccas-bordeaux.fr", "wrong-password-here")
    assert_error(_login(client, "worker@ccas-bordeaux.fr"), 429)
    # Once the first failure leaves the moving window, four remain: below the limit.
    time.sleep(max(0.0, first_failure_counted + window + 0.2 - time.monotonic()))
    assert _login(client, "worker@ccas-bordeaux.fr").status_code == 201


def test_token_endpoint_is_rate_limited_per_ip(app, client, people, monkeypatch):
    monkeypatch.setitem(app.config, "API_TOKEN_RATE_LIMIT", "3 per minute")
    for email in ("a@example.org", "b@example.org", "c@example.org"):
        assert_error(_login(client, email), 401)
    assert_error(_login(client, "worker@ccas-bordeaux.fr"), 429)


# --- using and revoking tokens -------------------------------------------------------


def test_missing_or_unknown_token_is_401(client, people):
    body = assert_error(client.get("/api/v1/me"), 401)
    assert client.get("/api/v1/me").headers["WWW-Authenticate"].startswith("Bearer")
    assert body["status"] == "Unauthorized"
    assert_error(client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"}), 401)


def test_expired_token_is_refused(app, client, people):
    with app.app_context():
        headers = bearer(db.session.get(User, people.worker_id))
        db.session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert_error(client.get("/api/v1/me", headers=headers), 401)


def test_token_of_a_deactivated_user_is_refused(app, client, people):
    with app.app_context():
        worker = db.session.get(User, people.worker_id)
        headers = bearer(worker)
        worker.active = False
        db.session.commit()
    assert_error(client.get("/api/v1/me", headers=headers), 401)


def test_revoking_the_current_token(app, client, people, owner_engine):
    with app.app_context():
        worker = db.session.get(User, people.worker_id)
        headers, other = bearer(worker), bearer(worker)
    response = client.delete(f"{TOKENS}/current", headers=headers)
    assert response.status_code == 204
    assert response.data == b""
    assert_error(client.get("/api/v1/me", headers=headers), 401)
    # Only the token used is revoked.
    assert client.get("/api/v1/me", headers=other).status_code == 200
    assert audit_actions(owner_engine)[-1] == "api_token_revoked"


def test_revoking_needs_a_token(app, people):
    assert_error(app.test_client().delete(f"{TOKENS}/current"), 401)
    body = assert_error(cookie_client(app, people.worker_session).delete(f"{TOKENS}/current"), 400)
    assert "jeton" in body["message"]


# --- /me -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["national", "coach", "admin", "worker"])
def test_me_for_each_role(app, client, people, role):
    with app.app_context():
        user = db.session.get(User, getattr(people, f"{role}_id"))
        headers = bearer(user)
        expected = {"id": user.id, "email": user.email, "name": user.name, "role": user.role.value}
    expected["relais"] = (
        {"id": people.relais_id, "name": people.relais_name} if role in ("admin", "worker") else None
    )
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 200
    assert response.json == expected


def test_me_with_the_browser_session(app, people):
    response = cookie_client(app, people.national_session).get("/api/v1/me")
    assert response.status_code == 200
    assert response.json["role"] == "national"


# --- CSRF ----------------------------------------------------------------------------


def test_cookie_session_needs_the_csrf_token_on_unsafe_methods(app, people, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    client = cookie_client(app, people.national_session)
    assert_error(client.post("/api/v1/relais", json=relais_data()), 400)
    # Safe methods need none.
    assert client.get("/api/v1/relais").status_code == 200

    with app.test_request_context():
        token = generate_csrf()
        raw = session["csrf_token"]
    with client.session_transaction() as sess:
        sess["csrf_token"] = raw
    response = client.post("/api/v1/relais", json=relais_data(), headers={"X-CSRFToken": token})
    assert response.status_code == 201


def test_bearer_requests_need_no_csrf_token(app, client, people, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    with app.app_context():
        headers = bearer(db.session.get(User, people.national_id))
    assert client.post("/api/v1/relais", json=relais_data(), headers=headers).status_code == 201
    assert client.delete(f"{TOKENS}/current", headers=headers).status_code == 204


def test_lockout_is_per_account_across_web_and_api(client, people):
    """Failures on the sign-in page and on the token endpoint count together."""
    for _ in range(3):
        client.post("/login", data={"email": "worker@ccas-bordeaux.fr", "password": "wrong-password-here"})
    for _ in range(2):
        assert_error(_login(client, "worker@ccas-bordeaux.fr", "wrong-password-here"), 401)
    assert_error(_login(client, "worker@ccas-bordeaux.fr"), 429)
    page = client.post("/login", data={"email": "worker@ccas-bordeaux.fr", "password": PASSWORD})
    assert page.status_code == 429


def test_tokens_are_stored_hashed(client, people, owner_engine):
    token = _login(client, "worker@ccas-bordeaux.fr").json["token"]
    client.post("/password/forgot", data={"email": "worker@ccas-bordeaux.fr"})
    with owner_engine.connect() as conn:
        api_hashes = conn.scalars(text("SELECT token_hash FROM api_tokens")).all()
        link_hashes = conn.scalars(text("SELECT token_hash FROM user_tokens")).all()
    assert api_hashes == [hashlib.sha256(token.encode()).hexdigest()]
    assert len(link_hashes) == 1 and len(link_hashes[0]) == 64
    # The reset link's token is in the e-mail only: what is stored is its SHA-256.
    body = next(m for m in deliver_mail(client.application) if "/reset/" in m["body"])["body"]
    link_token = body.split("/reset/")[1].split()[0]
    assert link_hashes == [hashlib.sha256(link_token.encode()).hexdigest()]


def test_passwords_are_hashed_with_argon2id(people, owner_engine):
    with owner_engine.connect() as conn:
        hashes = conn.scalars(text("SELECT password_hash FROM users WHERE password_hash IS NOT NULL"))
        assert {h.split("$")[1] for h in hashes} == {"argon2id"}


def test_bearer_requests_ignore_and_never_set_the_cookie_session(app, client, people):
    """A client that keeps cookies (requests.Session, say) keeps working with its token."""
    token = _login(client, "worker@ccas-bordeaux.fr").json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    page = client.get("/", headers=headers)
    assert page.status_code in (200, 302)
    assert "Set-Cookie" not in page.headers or "session=" not in page.headers["Set-Cookie"]
    # A stale cookie session of someone else is not read either.
    with client.session_transaction() as sess:
        sess.update({"_user_id": people.national_session, "_fresh": True, "_id": "elsewhere"})
    me = client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200 and me.json["id"] == people.worker_id
