"""End-to-end at 360 px: every role walks its main pages and forms on the demo data.

On each page: nothing wider than the screen (no sideways scrolling of the whole page, so no
input hides off-screen), no serious or critical axe-core violation, nothing refused by the
CSP. Uses Debian's /usr/bin/chromium (see test_browser.py).
"""

from __future__ import annotations

from typing import Any

import pyotp
import pytest
from flask import Flask
from sqlalchemy import text

from relais_platform.demo import DEMO_PASSWORD, DEMO_TOTP, load_demo
from relais_platform.extensions import db
from tests.e2e.test_browser import CHROMIUM, _open, _serious_violations, browser, live_server  # noqa: F401

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="Debian's chromium package is not installed (/usr/bin/chromium)"),
]

PHONE_360 = {"width": 360, "height": 760}
# The tables (or their scrolling wrappers) wider than their place on the page.
CUT_TABLES = ("[...document.querySelectorAll('.table-wrap, table')]"
              ".filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.id || e.className)")


def _ids(owner_engine: Any) -> dict[str, Any]:
    """Ids of the demo's objects the walk opens (read as the owner)."""
    queries = {
        "bordeaux": "SELECT id FROM relais WHERE siret = '26330041200016'",
        "briancon": "SELECT id FROM relais WHERE siret = '44719082600019'",
        "submitted": "SELECT id FROM orders WHERE status = 'submitted' ORDER BY id LIMIT 1",
        "draft": "SELECT o.id FROM orders o JOIN relais r ON r.id = o.relais_id"
                 " WHERE o.status = 'draft' AND r.siret = '26330041200016' LIMIT 1",
        "shipped": "SELECT o.id FROM orders o JOIN relais r ON r.id = o.relais_id"
                   " WHERE o.status = 'shipped' AND r.siret = '44719082600019' LIMIT 1",
        "person": "SELECT b.id FROM beneficiaries b JOIN relais r ON r.id = b.relais_id"
                  " WHERE r.siret = '26330041200016' ORDER BY b.id LIMIT 1",
        "distribution": "SELECT d.id FROM distributions d JOIN relais r ON r.id = d.relais_id"
                        " WHERE r.siret = '26330041200016' AND d.warranty_ends_on IS NOT NULL LIMIT 1",
        "gap_person": "SELECT b.id FROM beneficiaries b JOIN relais r ON r.id = b.relais_id"
                      " WHERE r.siret = '78235513100023' ORDER BY b.id LIMIT 1",
        "gap_distribution": "SELECT d.id FROM distributions d JOIN relais r ON r.id = d.relais_id"
                            " WHERE r.siret = '78235513100023' ORDER BY d.id LIMIT 1",
        "session": "SELECT id FROM training_sessions WHERE starts_at > now() ORDER BY starts_at LIMIT 1",
    }
    with owner_engine.connect() as conn:
        return {key: conn.scalar(text(sql)) for key, sql in queries.items()}


def _walks(ids: dict[str, Any]) -> list[tuple[str, list[str]]]:
    def relais_pages(person: int, distribution: int) -> list[str]:
        return [
            "/", "/dashboards/relais", "/beneficiaires/", "/beneficiaires/nouveau",
            f"/beneficiaires/{person}", "/beneficiaires/accompagnement",
            "/beneficiaires/accompagnement/nouvelle-seance", "/distributions/", "/distributions/new",
            f"/distributions/{distribution}", "/distributions/reports", "/stock/inventory",
            "/stock/orders", "/rapports/evenements", "/rapports/evenements/nouveau", "/rapports/bilan",
            "/training/", "/training/me", "/training/relais/", "/account",
        ]

    return [
        ("national@demo.relais-numerique.fr", [
            "/", "/dashboards/national", "/relais/new", f"/relais/{ids['bordeaux']}", "/stock/orders",
            f"/stock/orders/{ids['submitted']}", "/stock/national", "/stock/fair-split/SIM-SOLIDAIRE",
            "/stock/catalogue", "/stock/orders/new", "/distributions/national", "/training/",
            "/training/modules/", f"/training/sessions/{ids['session']}", "/coaching/network",
            f"/training/relais/{ids['bordeaux']}", "/rapports/bilan", "/outbox/", "/account",
        ]),
        ("coach@demo.relais-numerique.fr", [
            "/", "/dashboards/coach", f"/relais/{ids['bordeaux']}", f"/training/relais/{ids['bordeaux']}",
            "/coaching/", "/rapports/bilan", "/training/",
        ]),
        ("admin.bordeaux@demo.relais-numerique.fr", [
            *relais_pages(ids["person"], ids["distribution"]), f"/relais/{ids['bordeaux']}",
            "/stock/orders/new", f"/stock/orders/{ids['draft']}",
        ]),
        ("admin.briancon@demo.relais-numerique.fr", [f"/stock/orders/{ids['shipped']}/receipt"]),
        ("equipe.gap@demo.relais-numerique.fr", relais_pages(ids["gap_person"], ids["gap_distribution"])),
    ]


def _sign_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    if email in DEMO_TOTP:
        page.wait_for_url(f"{base}/login/code")
        page.get_by_label("Code à 6 chiffres").fill(pyotp.TOTP(DEMO_TOTP[email]).now())
        page.get_by_role("button", name="Valider").click()
    page.wait_for_url(f"{base}/")


def _problems(page: Any, path: str) -> list[str]:
    found = []
    width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    if width[0] > width[1]:
        found.append(f"{path}: {width[0]} px wide for a {width[1]} px screen")
    page.click("[data-menu-toggle]")  # the menu and the header's tools are checked too
    found += [f"{path}: {violation}" for violation in _serious_violations(page)]
    return found


def test_every_role_walks_its_forms_at_360_px(app: Flask, owner_engine: Any, live_server: str,  # noqa: F811
                                              browser: Any):  # noqa: F811
    with app.app_context():
        load_demo()
        db.session.commit()
        db.session.remove()
    ids = _ids(owner_engine)
    assert all(value is not None for value in ids.values()), ids
    problems: list[str] = []
    for email, paths in _walks(ids):
        context, page, blocked = _open(browser, PHONE_360)
        _sign_in(page, live_server, email)
        # The menu folds behind its button on a phone, and opens with it.
        menu = page.get_by_role("navigation", name="Navigation principale")
        toggle = page.get_by_role("button", name="Menu")
        assert toggle.is_visible() and not menu.is_visible()
        toggle.click()
        assert menu.is_visible() and toggle.get_attribute("aria-expanded") == "true"
        assert menu.get_by_role("link", name="Sessions de formation").count() + menu.get_by_text(
            "Formation").count() > 0  # training is in every role's menu
        for path in paths:
            response = page.goto(f"{live_server}{path}")
            if response is None or response.status != 200:
                problems.append(f"{email} {path}: HTTP {response.status if response else '—'}")
                continue
            problems += _problems(page, f"{email} {path}")
        problems += [f"{email}: CSP refused {message}" for message in blocked]
        context.close()
    assert problems == [], "\n".join(problems)

    # At a desk (1280 px) the dashboards' tables fit the page: none scrolls sideways.
    context, page, _blocked = _open(browser)
    _sign_in(page, live_server, "national@demo.relais-numerique.fr")
    for path in ("/dashboards/national", "/rapports/bilan", "/coaching/network"):
        page.goto(f"{live_server}{path}")
        assert page.evaluate(CUT_TABLES) == [], path
    context.close()


def test_people_search_updates_as_you_type(app: Flask, live_server: str, browser: Any):  # noqa: F811
    """Without reloading the page: typing a name refreshes the list in place."""
    with app.app_context():
        load_demo()
        db.session.commit()
        db.session.remove()
    context, page, blocked = _open(browser, PHONE_360)
    _sign_in(page, live_server, "admin.bordeaux@demo.relais-numerique.fr")
    page.goto(f"{live_server}/beneficiaires/accompagnement/nouvelle-seance")
    page.evaluate("window.notReloaded = true")
    page.get_by_label("Trouver une personne par son nom").type("Marchand", delay=30)
    page.get_by_label("Élodie Marchand", exact=False).wait_for()
    page.get_by_label("Élodie Marchand", exact=False).check()
    assert page.evaluate("window.notReloaded") is True
    page.goto(f"{live_server}/beneficiaires/")
    page.evaluate("window.notReloaded = true")
    people = page.locator("#search-results tbody tr").count()
    page.get_by_label("Rechercher par nom").type("Sissoko", delay=30)
    page.wait_for_url("**q=Sissoko")
    page.wait_for_function(f"document.querySelectorAll('#search-results tbody tr').length < {people}")
    assert page.get_by_role("link", name="Sissoko Mamadou").is_visible()
    assert page.evaluate("window.notReloaded") is True
    assert blocked == []
    context.close()
