"""Stock locations and transfers: receipts by location, per-location levels and ledger, transfers
shipped then received (in transit in between), `stock verify` per location."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from relais_platform.accounts.models import Role, User
from relais_platform.extensions import db
from relais_platform.stock.warehouse.cli import verify_command
from tests.factories import bearer, iccids, make_product, make_relais, make_user
from tests.test_web_support import login_as, make_signed_relais, query
from tests.test_web_support import text as body


@pytest.fixture
def hq(app):
    with app.app_context():
        national = make_user(Role.NATIONAL)
        relais = make_relais()
        admin = make_user(Role.RELAIS_ADMIN, relais=relais)
        make_product(sku="RECH-LOC")
        make_product(sku="SIM-LOC", serial_kind="iccid")
        return {"national": bearer(national), "admin": bearer(admin)}


def _location(client, headers, name: str, **extra) -> int:
    response = client.post("/api/v1/locations", headers=headers, json={"name": name, **extra})
    assert response.status_code == 201, response.json
    return response.json["id"]


def _row(client, headers, sku: str) -> dict:
    rows = client.get("/api/v1/stock", headers=headers).json
    return next(row for row in rows if row["sku"] == sku)


def _verify(app) -> str:
    result = app.test_cli_runner().invoke(verify_command)
    assert result.exit_code == 0, result.output
    return result.output


def test_locations_are_national_and_the_default_comes_first(client, hq):
    assert client.get("/api/v1/locations", headers=hq["admin"]).status_code == 403
    assert client.post("/api/v1/locations", headers=hq["admin"], json={"name": "X"}).status_code == 403
    bordeaux = _location(client, hq["national"], "Plateforme Bordeaux")
    listed = client.get("/api/v1/locations", headers=hq["national"]).json
    assert [loc["name"] for loc in listed] == ["Entrepôt central", "Plateforme Bordeaux"]
    assert listed[0]["is_default"] and not listed[1]["is_default"]
    assert listed[1]["id"] == bordeaux


def test_location_names_are_unique_and_required(client, hq):
    _location(client, hq["national"], "Marseille")
    again = client.post("/api/v1/locations", headers=hq["national"], json={"name": "marseille"})
    assert again.status_code == 422 and "name" in again.json["errors"]
    empty = client.post("/api/v1/locations", headers=hq["national"], json={"name": "  "})
    assert empty.status_code == 422 and "name" in empty.json["errors"]


def test_a_new_default_location_replaces_the_old_one(client, hq):
    lyon = _location(client, hq["national"], "Lyon", is_default=True)
    listed = client.get("/api/v1/locations", headers=hq["national"]).json
    assert [loc["id"] for loc in listed if loc["is_default"]] == [lyon]
    receipt = client.post("/api/v1/stock/receipts", headers=hq["national"],
                          json={"sku": "RECH-LOC", "quantity": 3})
    assert receipt.status_code == 201, receipt.json
    assert _row(client, hq["national"], "RECH-LOC")["locations"] == [
        {"location_id": lyon, "name": "Lyon", "on_hand": 3}]


def test_receipt_without_location_goes_to_the_default_one(client, hq):
    response = client.post("/api/v1/stock/receipts", headers=hq["national"],
                           json={"sku": "RECH-LOC", "quantity": 40})
    assert response.status_code == 201
    row = _row(client, hq["national"], "RECH-LOC")
    # Every existing field is kept; the breakdown is added inside the row.
    assert {key: row[key] for key in ("on_hand", "reserved", "available")} == {
        "on_hand": 40, "reserved": 0, "available": 40}
    assert [(loc["name"], loc["on_hand"]) for loc in row["locations"]] == [("Entrepôt central", 40)]
    assert row["in_transit"] == 0


def test_receipt_at_a_named_location_and_unknown_location(client, hq):
    bordeaux = _location(client, hq["national"], "Bordeaux")
    client.post("/api/v1/stock/receipts", headers=hq["national"],
                json={"sku": "SIM-LOC", "serials": iccids(1, 5), "location_id": bordeaux})
    levels = client.get(f"/api/v1/locations/{bordeaux}/stock", headers=hq["national"]).json
    assert [(lv["sku"], lv["on_hand"]) for lv in levels] == [("SIM-LOC", 5)]
    unknown = client.post("/api/v1/stock/receipts", headers=hq["national"],
                          json={"sku": "RECH-LOC", "quantity": 1, "location_id": 999999})
    assert unknown.status_code == 422 and "location_id" in unknown.json["errors"]
    assert client.get("/api/v1/locations/999999/stock", headers=hq["national"]).status_code == 404


def test_transfer_is_in_transit_until_received(app, client, hq):
    central = client.get("/api/v1/locations", headers=hq["national"]).json[0]["id"]
    marseille = _location(client, hq["national"], "Marseille")
    client.post("/api/v1/stock/receipts", headers=hq["national"], json={"sku": "RECH-LOC", "quantity": 50})
    client.post("/api/v1/stock/receipts", headers=hq["national"], json={"sku": "SIM-LOC",
                                                                         "serials": iccids(1, 10)})
    sent = client.post("/api/v1/transfers", headers=hq["national"], json={
        "from_location_id": central, "to_location_id": marseille,
        "lines": [{"sku": "RECH-LOC", "quantity": 20}, {"sku": "SIM-LOC", "serials": iccids(3, 4)}]})
    assert sent.status_code == 201, sent.json
    assert sent.json["status"] == "shipped"
    row = _row(client, hq["national"], "RECH-LOC")
    assert row["on_hand"] == 50 and row["in_transit"] == 20
    assert [(loc["name"], loc["on_hand"]) for loc in row["locations"]] == [("Entrepôt central", 30)]
    sims = _row(client, hq["national"], "SIM-LOC")
    assert sims["in_transit"] == 4
    unit = client.get(f"/api/v1/units/{iccids(3, 1)[0]}", headers=hq["national"]).json
    assert unit["status"] == "in_transit"
    in_transit = client.get("/api/v1/transfers?status=shipped", headers=hq["national"]).json
    assert [t["id"] for t in in_transit] == [sent.json["id"]]
    _verify(app)

    received = client.post(f"/api/v1/transfers/{sent.json['id']}/receipt", headers=hq["national"])
    assert received.status_code == 200 and received.json["status"] == "received"
    row = _row(client, hq["national"], "RECH-LOC")
    assert row["in_transit"] == 0
    assert sorted((loc["name"], loc["on_hand"]) for loc in row["locations"]) == [
        ("Entrepôt central", 30), ("Marseille", 20)]
    unit = client.get(f"/api/v1/units/{iccids(3, 1)[0]}", headers=hq["national"]).json
    assert unit["status"] == "in_stock"
    again = client.post(f"/api/v1/transfers/{sent.json['id']}/receipt", headers=hq["national"])
    assert again.status_code == 409
    ledger = client.get(f"/api/v1/locations/{marseille}/movements", headers=hq["national"]).json
    assert sorted((m["sku"], m["kind"], m["on_hand_delta"]) for m in ledger) == [
        ("RECH-LOC", "transfer_in", 20), ("SIM-LOC", "transfer_in", 4)]
    _verify(app)


def test_transfer_refuses_more_than_the_location_holds(client, hq):
    central = client.get("/api/v1/locations", headers=hq["national"]).json[0]["id"]
    bordeaux = _location(client, hq["national"], "Bordeaux")
    client.post("/api/v1/stock/receipts", headers=hq["national"], json={"sku": "RECH-LOC", "quantity": 5})
    client.post("/api/v1/stock/receipts", headers=hq["national"],
                json={"sku": "SIM-LOC", "serials": iccids(20, 2), "location_id": bordeaux})
    too_many = client.post("/api/v1/transfers", headers=hq["national"], json={
        "from_location_id": central, "to_location_id": bordeaux,
        "lines": [{"sku": "RECH-LOC", "quantity": 6}]})
    assert too_many.status_code == 409 and "RECH-LOC" in too_many.json["message"]
    # The SIM cards are at Bordeaux, not at the departure.
    elsewhere = client.post("/api/v1/transfers", headers=hq["national"], json={
        "from_location_id": central, "to_location_id": bordeaux,
        "lines": [{"sku": "SIM-LOC", "serials": iccids(20, 1)}]})
    assert elsewhere.status_code == 422 and "SIM-LOC" in elsewhere.json["errors"]
    same = client.post("/api/v1/transfers", headers=hq["national"], json={
        "from_location_id": central, "to_location_id": central,
        "lines": [{"sku": "RECH-LOC", "quantity": 1}]})
    assert same.status_code == 422 and "to_location_id" in same.json["errors"]
    assert client.get("/api/v1/transfers", headers=hq["national"]).json == []
    assert client.post("/api/v1/transfers", headers=hq["admin"], json={
        "from_location_id": central, "to_location_id": bordeaux,
        "lines": [{"sku": "RECH-LOC", "quantity": 1}]}).status_code == 403


def test_adjustment_takes_a_location_and_a_reason_code(client, hq):
    bordeaux = _location(client, hq["national"], "Bordeaux")
    client.post("/api/v1/stock/receipts", headers=hq["national"],
                json={"sku": "RECH-LOC", "quantity": 10, "location_id": bordeaux})
    adjusted = client.post("/api/v1/stock/adjustments", headers=hq["national"], json={
        "sku": "RECH-LOC", "quantity": -2, "reason": "carton abîmé", "reason_code": "damaged",
        "location_id": bordeaux})
    assert adjusted.status_code == 201, adjusted.json
    # The old input (free text only) is still accepted: coded `other`, the text a comment.
    old = client.post("/api/v1/stock/adjustments", headers=hq["national"], json={
        "sku": "RECH-LOC", "quantity": -1, "reason": "écart", "location_id": bordeaux})
    assert old.status_code == 201
    ledger = client.get(f"/api/v1/locations/{bordeaux}/movements", headers=hq["national"]).json
    assert [(m["kind"], m["on_hand_delta"], m["reason_code"], m["reason"]) for m in ledger[:2]] == [
        ("adjustment", -1, "other", "écart"), ("adjustment", -2, "damaged", "carton abîmé")]
    bad = client.post("/api/v1/stock/adjustments", headers=hq["national"], json={
        "sku": "RECH-LOC", "quantity": -1, "reason": "x", "reason_code": "vanished"})
    assert bad.status_code == 422 and "reason_code" in bad.json["errors"]


def test_verify_finds_a_location_drift(app, client, owner_engine, hq):
    client.post("/api/v1/stock/receipts", headers=hq["national"], json={"sku": "RECH-LOC", "quantity": 8})
    with owner_engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.relais_ids', '*', true)"))
        conn.execute(text("UPDATE location_stock SET on_hand = on_hand + 1"))
    result = app.test_cli_runner().invoke(verify_command)
    assert result.exit_code == 1
    assert any("Entrepôt central" in line and "RECH-LOC" in line for line in result.output.splitlines())



# --- web pages -------------------------------------------------------------------------


def _web(app, role: Role):
    """A browser signed in as a new user of this role (relais roles: of a new relais)."""
    with app.app_context():
        user_id = make_user(role, relais=None if role == Role.NATIONAL else make_signed_relais()).id
        db.session.remove()
    return login_as(app, query(app, lambda: db.session.get(User, user_id)))


def test_locations_pages_create_transfer_and_receive(app, client, hq):
    web = _web(app, Role.NATIONAL)
    page = web.get("/stock/locations")
    assert page.status_code == 200 and "Entrepôt central" in body(page)
    assert 'href="/stock/locations"' in body(web.get("/stock/national"))
    created = web.post("/stock/locations", data={"location-name": "Plateforme Lyon"})
    assert created.status_code == 302
    refused = web.post("/stock/locations", data={"location-name": "plateforme lyon"})
    assert refused.status_code == 422 and "déjà ce nom" in body(refused)
    places = client.get("/api/v1/locations", headers=hq["national"]).json
    central, lyon = places[0]["id"], places[1]["id"]
    client.post("/api/v1/stock/receipts", headers=hq["national"], json={"sku": "RECH-LOC", "quantity": 9})
    too_many = web.post("/stock/transfers", data={
        "transfer-from_location_id": central, "transfer-to_location_id": lyon, "transfer-sku": "RECH-LOC",
        "transfer-quantity": "10"})
    assert too_many.status_code == 409 and "RECH-LOC" in body(too_many)
    sent = web.post("/stock/transfers", data={
        "transfer-from_location_id": central, "transfer-to_location_id": lyon, "transfer-sku": "RECH-LOC",
        "transfer-quantity": "4"})
    assert sent.status_code == 302
    transfer_id = client.get("/api/v1/transfers", headers=hq["national"]).json[0]["id"]
    assert "En transit" in body(web.get("/stock/locations"))
    assert web.post(f"/stock/transfers/{transfer_id}/receipt").status_code == 302
    detail = body(web.get(f"/stock/locations/{lyon}"))
    assert "RECH-LOC" in detail and "+4" in detail
    assert web.get("/stock/locations/999999").status_code == 404
    assert _web(app, Role.RELAIS_ADMIN).get("/stock/locations").status_code == 403
