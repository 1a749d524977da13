"""End-to-end: the real app in Debian's headless Chromium, driven by Playwright, checked by axe-core.

Never downloads a browser: it uses /usr/bin/chromium (the `chromium` package).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from relais_platform.accounts.models import Role
from tests.factories import PASSWORD, make_user, totp_now
from tests.test_web_support import build, make_signed_relais

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
PHONE = {"width": 390, "height": 844}

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="Debian's chromium package is not installed (/usr/bin/chromium)"),
]


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The test app on a free loopback port; each request gets its own app context and session."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _serious_violations(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} — "
        + "; ".join(node["target"][0] for node in violation["nodes"][:3])
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


def _open(browser: Any, viewport: dict[str, int] | None = None) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900}, locale="fr-FR")
    page = context.new_page()
    blocked: list[str] = []
    # Anything the CSP refuses (an inline script or style) shows up as a console error.
    page.on("console",
            lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None)
    return context, page, blocked


def _sign_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{base}/")


@pytest.fixture
def relais_admin(app: Flask) -> Any:
    relais = build(app, make_signed_relais, name="CCAS de Bordeaux", postcode="33000", city="Bordeaux",
                   kind="ccas")
    build(app, make_user, Role.RELAIS_WORKER, relais, name="Walid Intervenant")
    return build(app, make_user, Role.RELAIS_ADMIN, relais, name="Claire Martin")


def test_relais_admin_signs_in_and_sees_its_relais(live_server: str, browser: Any, relais_admin: Any):
    context, page, blocked = _open(browser)
    page.goto(f"{live_server}/login")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert _serious_violations(page) == []

    _sign_in(page, live_server, relais_admin.email)
    assert page.get_by_role("heading", level=1).inner_text() == "CCAS de Bordeaux"
    assert page.get_by_role("rowheader", name="Claire Martin").is_visible()
    assert page.get_by_role("rowheader", name="Walid Intervenant").is_visible()
    assert page.get_by_role("navigation", name="Navigation principale").get_by_text("Mon relais").is_visible()
    assert _serious_violations(page) == []

    # The error summary of a refused invitation is announced and accessible too.
    page.get_by_role("button", name="Envoyer l'invitation").click()
    assert page.locator("[data-error-summary]").is_visible()
    # The page's script moves the focus once it has run: wait for it rather than race it.
    page.wait_for_function(
        "document.activeElement && document.activeElement.hasAttribute('data-error-summary')",
        timeout=10_000)
    assert _serious_violations(page) == []

    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(f"{live_server}/login")
    assert blocked == []
    context.close()


def test_phone_viewport(live_server: str, browser: Any, relais_admin: Any):
    context, page, blocked = _open(browser, PHONE)
    page.goto(f"{live_server}/login")
    assert _serious_violations(page) == []
    # Nothing wider than the screen: no sideways scrolling of the whole page.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    _sign_in(page, live_server, relais_admin.email)
    assert page.get_by_role("heading", level=1).inner_text() == "CCAS de Bordeaux"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert _serious_violations(page) == []

    page.goto(f"{live_server}/relais/candidature")
    assert _serious_violations(page) == []
    assert blocked == []
    context.close()


def test_national_pages_are_accessible(app: Flask, live_server: str, browser: Any):
    national = build(app, make_user, Role.NATIONAL)
    relais = build(app, make_signed_relais, name="Secours Populaire — antenne de Gap", postcode="05000",
                   city="Gap")
    context, page, blocked = _open(browser)
    page.goto(f"{live_server}/login")
    page.get_by_label("Adresse e-mail").fill(national.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{live_server}/login/code")
    assert _serious_violations(page) == []
    page.get_by_label("Code à 6 chiffres").fill(totp_now(national))
    page.get_by_role("button", name="Valider").click()
    page.wait_for_url(f"{live_server}/")
    assert page.get_by_role("link", name="Secours Populaire — antenne de Gap").is_visible()
    assert _serious_violations(page) == []

    for path in (f"/relais/{relais.id}", "/relais/new", "/account"):
        page.goto(f"{live_server}{path}")
        assert _serious_violations(page) == [], path
    page.goto(f"{live_server}/relais/new")
    page.get_by_role("button", name="Créer le relais").click()
    assert page.locator("[data-error-summary]").is_visible()
    assert _serious_violations(page) == []
    assert blocked == []
    context.close()
