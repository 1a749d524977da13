"""The dashboards in headless Chromium, checked by axe-core, on a desktop and a phone screen."""

from __future__ import annotations

from typing import Any

import pyotp
import pytest

from relais_platform.accounts.models import User
from relais_platform.accounts.passwords import hash_password
from relais_platform.extensions import db
from tests.e2e.test_browser import PHONE, _open, _serious_violations, browser, live_server  # noqa: F401
from tests.factories import PASSWORD
from tests.test_reporting_dashboards import fixed_today, w  # noqa: F401

pytestmark = pytest.mark.e2e


def _sign_in(app, page: Any, base: str, user_id: int) -> None:
    with app.app_context():
        user = db.session.get(User, user_id)
        user.password_hash = hash_password(PASSWORD)
        secret = user.totp_secret
        email = user.email
        db.session.commit()
        db.session.remove()
    page.goto(f"{base}/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    if secret:
        page.wait_for_url(f"{base}/login/code")
        page.get_by_label("Code à 6 chiffres").fill(pyotp.TOTP(secret).now())
        page.get_by_role("button", name="Valider").click()
    page.wait_for_url(f"{base}/")


@pytest.mark.parametrize("who,path", [("national", "/dashboards/national"), ("coach", "/dashboards/coach"),
                                      ("admin_a", "/dashboards/relais")])
@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_dashboards_are_accessible_and_fit_a_phone(app, w, live_server, browser, who, path, viewport):  # noqa: F811
    context, page, blocked = _open(browser, viewport)
    _sign_in(app, page, live_server, w.users[who])
    page.get_by_role("link", name="Tableau de bord").first.click()
    page.wait_for_url(f"{live_server}{path}")
    for summary in page.locator("main details > summary").all():
        summary.click()  # the data tables are checked open too
    assert _serious_violations(page) == [], path
    charts = page.get_by_role("img").all()
    assert charts and all(chart.bounding_box()["width"] > 100 for chart in charts)
    if viewport:
        # Nothing wider than the screen but the tables' own scrolling regions.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width
        assert all(chart.bounding_box()["width"] <= PHONE["width"] for chart in charts)
    assert blocked == []
    context.close()
