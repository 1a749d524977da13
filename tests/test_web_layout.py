"""The layout's promises: security headers, cookies, CSRF, no inline code, languages, errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from relais_platform.accounts.models import Role
from relais_platform.config import Config
from tests.factories import PASSWORD, make_user
from tests.test_web_support import build, login_as, make_signed_relais, text

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def admin(app):
    return build(app, make_user, Role.RELAIS_ADMIN, build(app, make_signed_relais))


def test_security_headers_on_html_pages(app, client, admin):
    for response in (client.get("/login"), client.get("/nowhere"), login_as(app, admin).get("/")):
        assert response.mimetype == "text/html"
        headers = response.headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_security_headers_on_every_response(client):
    """JSON errors, the health check, static files and the API documentation too."""
    for path in ("/api/v1/me", "/healthz", "/static/css/app.css", "/api/v1/openapi.json",
                 "/api/v1/docs"):
        headers = client.get(path).headers
        directives = dict(part.strip().partition(" ")[::2]
                          for part in headers.get("Content-Security-Policy", "").split(";"))
        # Swagger UI (/api/v1/docs) sets style attributes; scripts are never inline.
        assert directives["script-src"] == "'self'", path
        assert directives["default-src"] == "'self'", path
        assert directives["frame-ancestors"] == "'none'", path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin", path


@pytest.mark.parametrize(("env_name", "secure"), [("production", True), ("staging", True),
                                                  ("development", False), ("test", False)])
def test_cookies_are_secure_outside_local_development(env_name, secure):
    settings = {key: getattr(Config, key) for key in dir(Config) if key.isupper()}
    settings.update(ENV_NAME=env_name, SECRET_KEY="s", DATABASE_URL="postgresql://db/relais",
                    TOTP_ENCRYPTION_KEY="k")
    Config.finalize(settings)
    assert settings["SESSION_COOKIE_SECURE"] is secure
    assert settings["REMEMBER_COOKIE_SECURE"] is secure
    assert settings["SESSION_COOKIE_HTTPONLY"] and settings["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_session_cookie_flags(client, admin):
    response = client.post("/login", data={"email": admin.email, "password": PASSWORD})
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # Local HTTP in tests; Secure everywhere else.
    assert Config.SESSION_COOKIE_SECURE is True


def test_csrf_token_is_required(app, client, admin):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post("/login", data={"email": admin.email, "password": PASSWORD})
        assert response.status_code == 400
        assert client.get("/").headers["Location"].startswith("/login")
        page = text(client.get("/login"))
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
        ok = client.post("/login", data={"email": admin.email, "password": PASSWORD, "csrf_token": token})
        assert ok.status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_pages_have_no_inline_script_or_style(app, client, admin):
    national = build(app, make_user, Role.NATIONAL)
    pages = [client.get(path) for path in ("/login", "/relais/candidature", "/terms", "/password/forgot")]
    relais_client = login_as(app, admin)
    pages += [relais_client.get(path) for path in ("/", "/account", "/account/two-factor")]
    national_client = login_as(app, national)
    pages += [national_client.get(path) for path in ("/", "/relais/new", f"/relais/{admin.relais_id}",
                                                     "/outbox/", "/missing")]
    for response in pages:
        html = text(response)
        assert "<main id=\"main\"" in html and 'class="skip-link"' in html
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), response.request.path
        assert " style=" not in html and "<style" not in html, response.request.path
        assert "cdn" not in html.lower()


def test_nav_depends_on_the_role(app, admin):
    national = build(app, make_user, Role.NATIONAL)
    national_nav = text(login_as(app, national).get("/")).split("</nav>")[0]
    relais_nav = text(login_as(app, admin).get("/")).split("</nav>")[0]
    assert "Créer un relais" in national_nav and 'href="/outbox/"' in national_nav
    assert "Mon relais" in relais_nav and "Créer un relais" not in relais_nav


def test_language_switch(client):
    response = client.post("/lang/en", data={"next": "/login"})
    assert response.headers["Location"] == "/login"
    english = text(client.get("/login"))
    assert '<html lang="en">' in english
    if (ROOT / "relais_platform/translations/en/LC_MESSAGES/messages.mo").exists():  # compiled at install
        assert "Forgotten password?" in english and "Mot de passe" not in english
    client.post("/lang/fr", data={"next": "/login"})
    assert '<html lang="fr">' in text(client.get("/login"))


def test_error_page_uses_the_layout(client):
    missing = client.get("/no/such/page")
    assert missing.status_code == 404
    assert "Ressource introuvable." in text(missing) and 'href="#main"' in text(missing)


def test_static_assets_are_served_by_the_app(client):
    for path in ("/static/css/app.css", "/static/js/app.js", "/static/img/favicon.svg"):
        assert client.get(path).status_code == 200, path


def test_english_catalogue_translates_every_message():
    """Every msgid in the code and templates has an English translation (none fuzzy)."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None,
                "ngettext": (1, 2), "lazy_ngettext": (1, 2)}
    extracted = {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, *_rest in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=keywords)
    }
    with (ROOT / "relais_platform/translations/en/LC_MESSAGES/messages.po").open("rb") as po:
        catalog = read_po(po)
    def translated(msgid: str) -> bool:
        message = catalog.get(msgid)
        if message is None or message.fuzzy:
            return False
        strings = message.string if isinstance(message.string, tuple | list) else [message.string]
        return all(strings)

    missing = sorted(msgid for msgid in extracted if not translated(msgid))
    assert not missing, (
        "untranslated messages — run pybabel extract/update (see babel.cfg) and translate:\n"
        + "\n".join(missing[:20])
    )


def test_nul_characters_are_refused_naming_the_field(app, client):
    """PostgreSQL text cannot store NUL: a clear 422 (API) or 400 (web), never a 500."""
    response = client.post("/api/v1/auth/tokens", json={"email": "a\x00@b.fr", "password": "x",
                                                        "extra": [{"note": "n\x00"}]})
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"email", "extra.0.note"}
    assert client.get("/api/v1/products?q=%00").status_code == 422
    page = client.get("/login?next=%00")
    assert page.status_code == 400


def test_nul_characters_in_a_path_never_reach_the_database(app, admin):
    """A NUL in the path names nothing (PostgreSQL text cannot hold one): 404, never a 500."""
    national = login_as(app, build(app, make_user, Role.NATIONAL))
    relais = login_as(app, admin)
    paths = ["/stock/fair-split/SIM%00", "/api/v1/units/89%00", "/api/v1/stock-reports/2026%0001",
             "/distributions/reports/2026%0001", "/api/v1/training/exports/rec%00ords",
             "/training/exports/rec%00ords.csv", "/outbox/a%00b", "/invitation/t%00k", "/reset/t%00k"]
    for path in paths:
        for client in (national, relais):
            assert client.get(path).status_code == 404, path


def test_nul_in_a_json_key_or_a_top_level_list_is_named(client):
    response = client.post("/api/v1/auth/tokens", json={"e\x00mail": "x", "password": "x"})
    assert response.status_code == 422 and set(response.json["errors"]) == {"e\x00mail"}
    response = client.post("/api/v1/auth/tokens", json=["ok", "n\x00"])
    assert response.status_code == 422 and set(response.json["errors"]) == {"1"}
