"""Web sign-in, two-factor, throttling, invitations, password resets, account page, terms."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select, update

from relais_platform.accounts.models import Role, TokenPurpose, User, UserToken
from relais_platform.audit.models import AuditEntry
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.tenants.models import Relais
from tests.factories import PASSWORD, make_relais, make_user, totp_now
from tests.test_web_support import build, deliver_mail, login_as, make_signed_relais, query, text

NEW_PASSWORD = "Un-jardin-sous-la-pluie-42"


def _login(client, email: str, password: str = PASSWORD, **params):
    return client.post("/login", data={"email": email, "password": password}, query_string=params)


def _link(body: str, path: str) -> str:
    match = re.search(rf"http://localhost(/{path}/[A-Za-z0-9_\-]+)", body)
    assert match, body
    return match.group(1)


@pytest.fixture
def relais(app):
    return build(app, make_signed_relais, name="CCAS de Pessac", postcode="33600", city="Pessac")


@pytest.fixture
def worker(app, relais):
    return build(app, make_user, Role.RELAIS_WORKER, relais, name="Léa Worker")


# --- sign-in -------------------------------------------------------------------------


def test_login_page_is_french_and_accessible(client):
    response = client.get("/login")
    assert response.status_code == 200
    html = text(response)
    assert '<html lang="fr">' in html
    assert 'href="#main"' in html and '<main id="main"' in html
    assert '<label for="email">' in html and '<label for="password">' in html


def test_login_success_lands_on_home(app, client, worker):
    response = _login(client, worker.email)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "CCAS de Pessac" in text(home)
    assert "Léa Worker" in text(home)


def test_login_keeps_a_safe_next_only(client, worker):
    assert _login(client, worker.email, next="/account").headers["Location"] == "/account"
    client.post("/logout")
    assert _login(client, worker.email, next="https://evil.example/").headers["Location"] == "/"


def test_login_failure_redisplays_the_form(app, client, worker, owner_engine):
    response = _login(client, worker.email, "wrong-password-123")
    assert response.status_code == 401
    assert "Adresse e-mail ou mot de passe incorrect." in text(response)
    assert 'role="alert"' in text(response)
    assert client.get("/").headers["Location"].startswith("/login")
    with owner_engine.connect() as conn:  # the audit log is readable per relais only
        failures = conn.scalars(select(AuditEntry.target_id).where(AuditEntry.action == "login_failure"))
        assert list(failures) == [worker.id]


def test_empty_login_form_shows_field_errors(client):
    response = client.post("/login", data={})
    assert response.status_code == 422
    html = text(response)
    assert "Saisissez votre adresse e-mail." in html
    assert 'aria-describedby="email-error"' in html and 'aria-invalid="true"' in html
    assert 'href="#email"' in html  # the summary links to the field


def test_two_factor_second_step(app, client):
    national = build(app, make_user, Role.NATIONAL)
    response = _login(client, national.email)
    assert response.headers["Location"] == "/login/code"
    # Not signed in until the code is right.
    assert client.get("/").headers["Location"].startswith("/login")
    page = client.get("/login/code")
    assert page.status_code == 200 and 'autocomplete="one-time-code"' in text(page)

    wrong = client.post("/login/code", data={"code": "000000"})
    assert wrong.status_code == 401
    assert "Code incorrect" in text(wrong)

    right = client.post("/login/code", data={"code": totp_now(national)})
    assert right.headers["Location"] == "/"
    assert client.get("/").status_code == 200


def test_two_factor_step_without_password_goes_back_to_login(client):
    response = client.get("/login/code")
    assert response.headers["Location"] == "/login"


def test_two_factor_step_expires(app, client):
    national = build(app, make_user, Role.NATIONAL)
    _login(client, national.email)
    with client.session_transaction() as session:
        session["pending_login"] = {**session["pending_login"], "expires": 0}
    response = client.post("/login/code", data={"code": totp_now(national)})
    assert response.headers["Location"] == "/login"


def test_national_without_two_factor_is_forced_to_enrol(app, client):
    national = build(app, make_user, Role.NATIONAL, two_factor=False)
    assert _login(client, national.email).headers["Location"] == "/"
    for path in ("/", "/relais/new", "/account", "/outbox/"):
        assert client.get(path).headers["Location"] == "/account/two-factor", path
    page = client.get("/account/two-factor")
    html = text(page)
    assert 'src="data:image/svg+xml;base64,' in html
    secret = query(app, lambda: db.session.get(User, national.id).totp_secret)
    assert secret in html
    # Reloading keeps the same secret (the phone may already have scanned it).
    client.get("/account/two-factor")
    assert query(app, lambda: db.session.get(User, national.id).totp_secret) == secret

    assert client.post("/account/two-factor", data={"code": "123456"}).status_code == 422
    response = client.post("/account/two-factor", data={"code": pyotp.TOTP(secret).now()})
    assert response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    assert query(app, lambda: db.session.get(User, national.id).has_two_factor)


def test_throttling_after_five_failures(app, client, worker):
    for _ in range(5):
        assert _login(client, worker.email, "wrong-password-123").status_code == 401
    response = _login(client, worker.email)  # even the right password
    assert response.status_code == 429
    assert "Trop de tentatives" in text(response)
    assert '<form method="post"' in text(response)


def test_logout(client, worker):
    _login(client, worker.email)
    response = client.post("/logout")
    assert response.headers["Location"] == "/login"
    assert client.get("/").headers["Location"].startswith("/login")


def test_logout_requires_post(client, worker):
    _login(client, worker.email)
    assert client.get("/logout").status_code == 405


# --- invitations ---------------------------------------------------------------------


@pytest.fixture
def invitation_link(app, relais):
    admin = build(app, make_user, Role.RELAIS_ADMIN, relais)
    client = login_as(app, admin)
    response = client.post(f"/relais/{relais.id}/team", data={
        "invite-email": "nouvelle@example.org", "invite-name": "Nora Nouvelle",
        "invite-role": "relais_worker"})
    assert response.status_code == 302
    [message] = deliver_mail(app)
    assert message["to"] == "nouvelle@example.org"
    assert "CCAS de Pessac" in message["body"] and "7 jours" in message["body"]
    return _link(message["body"], "invitation")


def test_invitation_acceptance(app, client, invitation_link):
    page = client.get(invitation_link)
    assert page.status_code == 200
    assert "Nora Nouvelle" in text(page) and "au moins 12 caractères" in text(page)
    response = client.post(invitation_link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.headers["Location"] == "/"
    assert "CCAS de Pessac" in text(client.get("/"))
    # Single use.
    assert client.get(invitation_link).status_code == 404
    client.post("/logout")
    assert _login(client, "nouvelle@example.org", NEW_PASSWORD).headers["Location"] == "/"


def test_invitation_refuses_weak_and_common_passwords(client, invitation_link):
    short = client.post(invitation_link, data={"password": "court", "confirm": "court"})
    assert short.status_code == 422
    assert "au moins 12 caractères" in text(short)
    assert 'id="password-error"' in text(short)
    common = client.post(invitation_link, data={"password": "012345678910", "confirm": "012345678910"})
    assert common.status_code == 422
    assert "trop courant" in text(common)
    mismatch = client.post(invitation_link, data={"password": NEW_PASSWORD, "confirm": "autre chose"})
    assert mismatch.status_code == 422
    assert "ne sont pas identiques" in text(mismatch)
    # The link still works after refusals.
    assert client.get(invitation_link).status_code == 200


def test_expired_invitation(app, client, invitation_link):
    def expire() -> None:
        db.session.execute(update(UserToken).where(UserToken.purpose == TokenPurpose.INVITATION)
                           .values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()

    query(app, expire)
    response = client.get(invitation_link)
    assert response.status_code == 404
    assert "plus valide" in text(response)
    posted = client.post(invitation_link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert posted.status_code == 404


def test_invitation_lasts_seven_days(app, invitation_link):
    expires = query(app, lambda: db.session.scalar(select(UserToken.expires_at)))
    assert timedelta(days=6, hours=23) < expires - utcnow() <= timedelta(days=7)


# --- password reset ------------------------------------------------------------------


def test_forgotten_password_answers_the_same(app, client, worker):
    known = client.post("/password/forgot", data={"email": worker.email}, follow_redirects=True)
    unknown = client.post("/password/forgot", data={"email": "nobody@example.org"},
                          follow_redirects=True)
    assert known.status_code == unknown.status_code == 200
    # The CSRF tokens carry a timestamp: two requests a second apart differ there only.
    assert _without_csrf(text(known)) == _without_csrf(text(unknown))
    [message] = deliver_mail(app)
    assert message["to"] == worker.email


def _without_csrf(page: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', page)


def _reset_link(app, client, email: str) -> str:
    client.post("/password/forgot", data={"email": email})
    [message] = deliver_mail(app)
    assert "une heure" in message["body"]
    return _link(message["body"], "reset")


def test_password_reset_and_reuse(app, client, worker):
    link = _reset_link(app, client, worker.email)
    assert client.get(link).status_code == 200
    response = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.headers["Location"] == "/login"
    assert client.get(link).status_code == 404
    assert _login(client, worker.email).status_code == 401
    assert _login(client, worker.email, NEW_PASSWORD).status_code == 302


def test_password_reset_expires_after_an_hour(app, client, worker):
    link = _reset_link(app, client, worker.email)

    def age() -> None:
        db.session.execute(update(UserToken).values(expires_at=UserToken.expires_at - timedelta(hours=1)))
        db.session.commit()

    query(app, age)
    assert client.get(link).status_code == 404


def test_password_reset_refuses_common_password(app, client, worker):
    link = _reset_link(app, client, worker.email)
    response = client.post(link, data={"password": "motdepasse", "confirm": "motdepasse"})
    assert response.status_code == 422
    assert "au moins 12 caractères" in text(response) and "trop courant" in text(response)


# --- account page and terms ----------------------------------------------------------


def test_change_password_keeps_this_session_only(app, worker):
    client = login_as(app, worker)
    other = login_as(app, worker)
    wrong = client.post("/account", data={"current_password": "nope-nope-nope",
                                          "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert wrong.status_code == 422 and "Mot de passe actuel incorrect." in text(wrong)
    response = client.post("/account", data={"current_password": PASSWORD,
                                              "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.headers["Location"] == "/account"
    assert client.get("/account").status_code == 200
    assert other.get("/account").headers["Location"].startswith("/login")


def test_relais_user_enables_and_disables_two_factor(app, worker):
    client = login_as(app, worker)
    assert "Activer la double authentification" in text(client.get("/account"))
    client.get("/account/two-factor")
    secret = query(app, lambda: db.session.get(User, worker.id).totp_secret)
    client.post("/account/two-factor", data={"code": pyotp.TOTP(secret).now()})
    assert query(app, lambda: db.session.get(User, worker.id).has_two_factor)
    assert client.post("/account/two-factor/disable").headers["Location"] == "/account"
    assert not query(app, lambda: db.session.get(User, worker.id).has_two_factor)


def test_national_cannot_disable_two_factor(app):
    national = build(app, make_user, Role.NATIONAL)
    assert login_as(app, national).post("/account/two-factor/disable").status_code == 403


def test_relais_admin_must_accept_terms_first(app):
    relais = build(app, make_relais)
    admin = build(app, make_user, Role.RELAIS_ADMIN, relais)
    worker = build(app, make_user, Role.RELAIS_WORKER, relais)
    client = login_as(app, admin)
    assert client.get("/").headers["Location"] == "/terms"
    assert client.get("/account").headers["Location"] == "/terms"
    page = client.get("/terms")
    assert "Données des personnes accompagnées" in text(page)
    refused = client.post("/terms", data={})
    assert refused.status_code == 422 and "Cochez la case" in text(refused)
    assert client.post("/terms", data={"accept": "y"}).headers["Location"] == "/"
    assert client.get("/").status_code == 200
    accepted_by = query(app, lambda: db.session.get(Relais, relais.id).terms_accepted_by_id)
    assert accepted_by == admin.id
    assert login_as(app, worker).get("/").status_code == 200
    assert login_as(app, worker).post("/terms", data={"accept": "y"}).status_code == 403


def test_terms_are_public(client):
    response = client.get("/terms")
    assert response.status_code == 200
    assert "Conservation et droits des personnes" in text(response)
    assert "<form" not in text(response).split("<main")[1].split("</main>")[0]
