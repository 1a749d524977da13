"""Emergency campaigns: eligible relais declare needs until the closing date, then the national
team confirms a fair split that becomes one allocated (free) order per relais."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from relais_platform.accounts.models import Role, User
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.stock.scope import local_today
from relais_platform.stock.warehouse.cli import verify_command
from relais_platform.tenants.models import Relais
from tests.factories import bearer, make_product, make_relais, make_user, receive
from tests.test_web_support import login_as, query
from tests.test_web_support import text as body

NEEDS = 30


@pytest.fixture
def w(app):
    """30 associations in Gironde (33), one in the Landes (40); 600 kits in national stock."""
    with app.app_context():
        kit = make_product(sku="KIT-URG", name="Kit d'urgence numérique", unit_price_cents=1500,
                           max_resale_price_cents=0)
        receive(kit, quantity=600)
        admins = []
        for n in range(NEEDS):
            relais = make_relais(name=f"Association {n:02d}", kind="association", postcode="33000",
                                 dimensions=["connexion"])
            relais.terms_accepted_at = utcnow()
            admins.append(make_user(Role.RELAIS_ADMIN, relais))
        outsider = make_relais(name="Association des Landes", kind="association", postcode="40000",
                               dimensions=["connexion"])
        world = {"national": bearer(make_user(Role.NATIONAL)), "admins": [bearer(a) for a in admins],
                 "admin_ids": [a.id for a in admins],
                 "outsider": bearer(make_user(Role.RELAIS_ADMIN, outsider)),
                 "today": local_today()}
        db.session.commit()
        db.session.remove()
        return world


def _campaign(client, w, **extra) -> dict:
    today = w["today"]
    response = client.post("/api/v1/campaigns", headers=w["national"], json={
        "name": "Kits d'urgence réfugiés", "products": [{"sku": "KIT-URG", "quantity": 600}],
        "opens_on": (today - timedelta(days=1)).isoformat(), "closes_on": today.isoformat(),
        "eligible": {"kinds": ["association"], "departements": ["33"]}, **extra})
    assert response.status_code == 201, response.json
    return response.json


def _close(owner_engine, campaign_id: int) -> None:
    """The closing date passes."""
    with owner_engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.relais_ids', '*', true)"))
        conn.execute(text("UPDATE campaigns SET opens_on = opens_on - 3, closes_on = closes_on - 1"
                          " WHERE id = :id"), {"id": campaign_id})


def test_a_campaign_turns_30_needs_into_30_orders(app, client, w, owner_engine):
    campaign = _campaign(client, w)
    for headers in w["admins"]:
        declared = client.post(f"/api/v1/campaigns/{campaign['id']}/needs", headers=headers,
                               json={"lines": [{"sku": "KIT-URG", "quantity": 25}], "comment": "familles"})
        assert declared.status_code == 200, declared.json
    # Editable until closing.
    again = client.post(f"/api/v1/campaigns/{campaign['id']}/needs", headers=w["admins"][0],
                        json={"lines": [{"sku": "KIT-URG", "quantity": 30}], "comment": None})
    assert again.json["lines"] == [{"sku": "KIT-URG", "quantity": 30}]
    url = f"/api/v1/campaigns/{campaign['id']}"
    assert client.get(f"{url}/proposal", headers=w["national"]).status_code == 409
    _close(owner_engine, campaign["id"])
    late = client.post(f"/api/v1/campaigns/{campaign['id']}/needs", headers=w["admins"][1],
                       json={"lines": [{"sku": "KIT-URG", "quantity": 1}]})
    assert late.status_code == 409
    proposal = client.get(f"/api/v1/campaigns/{campaign['id']}/proposal", headers=w["national"]).json
    assert len(proposal) == NEEDS and sum(line["proposed"] for line in proposal) == 600
    assert {line["proposed"] for line in proposal} == {20}  # 600 kits, 31 asked 25 or 30: 20 each
    confirmed = client.post(f"/api/v1/campaigns/{campaign['id']}/confirm", headers=w["national"])
    assert confirmed.status_code == 200, confirmed.json
    order_ids = confirmed.json["order_ids"]
    assert len(order_ids) == NEEDS
    for order_id in order_ids[:3]:
        order = client.get(f"/api/v1/orders/{order_id}", headers=w["national"]).json
        assert order["status"] == "allocated" and order["total_cents"] == 0
        assert [(line["sku"], line["allocated"]) for line in order["lines"]] == [("KIT-URG", 20)]
    stock = {row["sku"]: row for row in client.get("/api/v1/stock", headers=w["national"]).json}
    assert stock["KIT-URG"]["reserved"] == 600
    assert client.post(f"{url}/confirm", headers=w["national"]).status_code == 409
    mine = client.get(f"/api/v1/campaigns/{campaign['id']}", headers=w["admins"][2]).json
    assert mine["need"]["order_id"] in order_ids
    result = app.test_cli_runner().invoke(verify_command)
    assert result.exit_code == 0, result.output


def test_only_eligible_relais_see_and_declare(client, w):
    campaign = _campaign(client, w)
    assert client.get("/api/v1/campaigns", headers=w["outsider"]).json == []
    assert client.get(f"/api/v1/campaigns/{campaign['id']}", headers=w["outsider"]).status_code == 404
    refused = client.post(f"/api/v1/campaigns/{campaign['id']}/needs", headers=w["outsider"],
                          json={"lines": [{"sku": "KIT-URG", "quantity": 5}]})
    assert refused.status_code == 404
    assert [c["id"] for c in client.get("/api/v1/campaigns", headers=w["admins"][0]).json] == [campaign["id"]]
    other_product = client.post(f"/api/v1/campaigns/{campaign['id']}/needs", headers=w["admins"][0],
                                json={"lines": [{"sku": "AUTRE", "quantity": 5}]})
    assert other_product.status_code == 422
    assert client.post("/api/v1/campaigns", headers=w["admins"][0], json={}).status_code == 403


def test_campaign_input_is_checked(client, w):
    today = w["today"].isoformat()
    bad = client.post("/api/v1/campaigns", headers=w["national"], json={
        "name": "X", "products": [{"sku": "NOPE", "quantity": 0}], "opens_on": today,
        "closes_on": (w["today"] - timedelta(days=2)).isoformat(), "eligible": {"kinds": ["martian"]}})
    assert bad.status_code == 422
    assert {"products", "closes_on", "eligible"} <= set(bad.json["errors"])


def test_relais_see_open_campaigns_on_their_home_page(app, client, w):
    _campaign(client, w)
    home = body(login_as(app, query(app, lambda: db.session.get(User, w["admin_ids"][0]))).get("/"))
    assert "Kits d'urgence réfugiés" in home or "Kits d&#39;urgence réfugiés" in home
    national = login_as(app, query(app, lambda: db.session.scalar(
        db.select(User).where(User.role == Role.NATIONAL))))
    assert "Kits d" in body(national.get("/stock/campaigns"))
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Relais)) == NEEDS + 1
