"""Sessions, tokens and one-time codes (issue 11, §4 and the TOTP part of §5).

- a password change or reset revokes every API token and ends the other browser sessions;
- signing out ends the session on the server: a copy of the cookie is refused afterwards;
- a TOTP code is accepted once, and never one older than the last accepted;
- TOTP secrets are stored encrypted under a key from the environment.
"""

from __future__ import annotations

import threading
import time

import pyotp
import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import text

from relais_platform.accounts import services as accounts
from relais_platform.accounts.models import Role, User
from relais_platform.extensions import db
from tests.factories import PASSWORD, api_token, make_user, totp_now
from tests.test_web_accounts import _reset_link
from tests.test_web_support import build, login_as, make_signed_relais, query

NEW_PASSWORD = "Un-jardin-sous-la-pluie-42"
TOKENS = "/api/v1/auth/tokens"


@pytest.fixture
def worker(app):
    relais = build(app, make_signed_relais)
    return build(app, make_user, Role.RELAIS_WORKER, relais)


def _token(app, user) -> dict[str, str]:
    with app.app_context():
        token = api_token(db.session.get(User, user.id))
        db.session.remove()
    return {"Authorization": f"Bearer {token}"}


def _copy_cookie(source, target) -> None:
    target.set_cookie("session", source.get_cookie("session").value)


# --- password change and reset ----------------------------------------------------------


def test_password_change_revokes_tokens_and_other_sessions(app, worker):
    first, second = _token(app, worker), _token(app, worker)
    browser, other_browser = login_as(app, worker), login_as(app, worker)
    assert browser.get("/api/v1/me", headers=first).status_code == 200

    response = browser.post("/account", data={"current_password": PASSWORD, "password": NEW_PASSWORD,
                                              "confirm": NEW_PASSWORD})
    assert response.headers["Location"] == "/account"

    for headers in (first, second):
        assert browser.get("/api/v1/me", headers=headers).status_code == 401
    assert other_browser.get("/account").headers["Location"].startswith("/login")
    assert browser.get("/account").status_code == 200  # the session that changed it goes on


def test_password_reset_revokes_tokens_and_every_session(app, client, worker):
    headers = _token(app, worker)
    browser = login_as(app, worker)
    done = client.post(_reset_link(app, client, worker.email),
                       data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.headers["Location"] == "/login"
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert browser.get("/account").headers["Location"].startswith("/login")


def test_a_token_issued_after_the_change_works(app, client, worker):
    with app.app_context():
        user = db.session.get(User, worker.id)
        accounts.change_password(user, PASSWORD, NEW_PASSWORD)
        db.session.commit()
    response = client.post(TOKENS, json={"email": worker.email, "password": NEW_PASSWORD})
    token = response.json["token"]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


# --- sign-out ---------------------------------------------------------------------------


def test_a_copied_cookie_is_refused_after_sign_out(app, client, worker):
    client.post("/login", data={"email": worker.email, "password": PASSWORD})
    thief = app.test_client()
    _copy_cookie(client, thief)
    assert thief.get("/account").status_code == 200  # the copy works while the session lives

    client.post("/logout")
    assert thief.get("/account").headers["Location"].startswith("/login")
    assert thief.get("/api/v1/me").status_code == 401


def test_signing_out_ends_this_browser_only(app, worker):
    one, two = login_as(app, worker), login_as(app, worker)
    one.post("/logout")
    assert one.get("/account").headers["Location"].startswith("/login")
    assert two.get("/account").status_code == 200


def test_a_cookie_without_a_server_session_is_refused(app, worker):
    forged = app.test_client()
    with app.test_request_context(environ_base=forged.environ_base):
        identifier = app.login_manager._session_identifier_generator()
    with forged.session_transaction() as session:
        session.update({"_user_id": worker.get_id(), "_fresh": True, "_id": identifier, "sid": "made-up"})
    assert forged.get("/account").headers["Location"].startswith("/login")


# --- one-time codes ---------------------------------------------------------------------


def test_an_api_totp_code_is_accepted_once(app, client):
    national = build(app, make_user, Role.NATIONAL)
    code = totp_now(national)
    first = client.post(TOKENS, json={"email": national.email, "password": PASSWORD, "totp": code})
    assert first.status_code == 201
    replay = client.post(TOKENS, json={"email": national.email, "password": PASSWORD, "totp": code})
    assert replay.status_code == 401


def test_no_code_older_than_the_last_used(app, client):
    national = build(app, make_user, Role.NATIONAL)
    totp = pyotp.TOTP(national.totp_secret)
    now = time.time()
    current = client.post(TOKENS, json={"email": national.email, "password": PASSWORD,
                                        "totp": totp.at(now)})
    assert current.status_code == 201
    # The previous step's code is still inside the ±30 s window, but older than the one used.
    older = totp.at(now - 30)
    if older != totp.at(now):
        stale = client.post(TOKENS, json={"email": national.email, "password": PASSWORD, "totp": older})
        assert stale.status_code == 401


def test_a_web_totp_code_is_accepted_once(app, client):
    national = build(app, make_user, Role.NATIONAL)
    code = totp_now(national)
    client.post("/login", data={"email": national.email, "password": PASSWORD})
    assert client.post("/login/code", data={"code": code}).headers["Location"] == "/"
    client.post("/logout")
    client.post("/login", data={"email": national.email, "password": PASSWORD})
    replay = client.post("/login/code", data={"code": code})
    assert replay.status_code == 401
    assert client.get("/").headers["Location"].startswith("/login")


def test_the_same_code_raced_twice_is_accepted_once(app):
    """Two sign-ins carrying one code at the same moment: the conditional UPDATE lets one in."""
    national = build(app, make_user, Role.NATIONAL)
    code = totp_now(national)
    results: list[bool] = []

    def sign_in(hold: float) -> None:
        with app.app_context():
            results.append(accounts.verify_totp(db.session.get(User, national.id), code))
            time.sleep(hold)  # the first keeps its row lock a moment before committing
            db.session.commit()
            db.session.remove()

    first = threading.Thread(target=sign_in, args=(0.5,))
    first.start()
    time.sleep(0.1)
    second = threading.Thread(target=sign_in, args=(0,))
    second.start()
    first.join(10)
    second.join(10)
    assert sorted(results) == [False, True]


# --- TOTP secrets at rest ---------------------------------------------------------------


def test_totp_secrets_are_encrypted_at_rest(app, owner_engine):
    national = build(app, make_user, Role.NATIONAL)
    with owner_engine.connect() as conn:
        stored = conn.scalar(text("SELECT totp_secret FROM users WHERE id = :i"), {"i": national.id})
    assert national.totp_secret not in stored
    key = app.config["TOTP_ENCRYPTION_KEY"]
    assert Fernet(key.encode()).decrypt(stored.encode()).decode() == national.totp_secret
    with pytest.raises(InvalidToken):
        Fernet(Fernet.generate_key()).decrypt(stored.encode())
    assert query(app, lambda: db.session.get(User, national.id).totp_secret) == national.totp_secret


def test_the_key_comes_from_the_environment_and_is_required_in_production():
    from relais_platform.config import Config

    config = {"DATABASE_URL": "postgresql://x@localhost/x", "REDIS_URL": "redis://localhost",
              "APP_DB_ROLE": "relais_app", "APP_DB_PASSWORD": None, "SECRET_KEY": "s",
              "ENV_NAME": "production", "TOTP_ENCRYPTION_KEY": ""}
    with pytest.raises(RuntimeError, match="TOTP_ENCRYPTION_KEY"):
        Config.finalize(dict(config))


def test_rotating_the_key_re_encrypts_every_secret(app, owner_engine):
    national = build(app, make_user, Role.NATIONAL)
    old_key = app.config["TOTP_ENCRYPTION_KEY"]
    new_key = Fernet.generate_key().decode()
    app.config["TOTP_ENCRYPTION_KEY"] = f"{new_key},{old_key}"
    try:
        result = app.test_cli_runner().invoke(args=["users", "rotate-totp-key"])
        assert result.exit_code == 0, result.output
        with owner_engine.connect() as conn:
            stored = conn.scalar(text("SELECT totp_secret FROM users WHERE id = :i"), {"i": national.id})
        assert Fernet(new_key.encode()).decrypt(stored.encode()).decode() == national.totp_secret
    finally:
        app.config["TOTP_ENCRYPTION_KEY"] = old_key
