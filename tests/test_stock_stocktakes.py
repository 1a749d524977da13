"""Stock counts: count sheets of a national location or of a relais' stock, counted lines,
finalisation into coded ledger adjustments with the units (lost, found, moved)."""

from __future__ import annotations

import pytest

from relais_platform.accounts.models import Role, User
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.stock.warehouse.cli import verify_command
from relais_platform.tenants.models import Relais
from tests.factories import bearer, deliver_to_relais, imeis, make_product, make_relais, make_user, receive
from tests.test_web_support import login_as, query
from tests.test_web_support import text as body


@pytest.fixture
def shelf(app):
    """A relais holding 3 phones and 10 recharges; national stock of both at the default location."""
    with app.app_context():
        relais = make_relais(name="CCAS de Gap")
        other = make_relais(name="CCAS de Digne")
        phones = make_product(sku="PHONE-ST", serial_kind="imei")
        recharge = make_product(sku="RECH-ST")
        receive(phones, serials=imeis(1, 8))
        receive(recharge, quantity=50)
        deliver_to_relais(relais.id, phones, serials=imeis(1, 3))
        deliver_to_relais(relais.id, recharge, quantity=10)
        return {
            "national": bearer(make_user(Role.NATIONAL)),
            "admin": bearer(make_user(Role.RELAIS_ADMIN, relais=relais)),
            "worker": bearer(make_user(Role.RELAIS_WORKER, relais=relais)),
            "other_admin": bearer(make_user(Role.RELAIS_ADMIN, relais=other)),
            "relais_id": relais.id,
        }


def _verify(app) -> None:
    result = app.test_cli_runner().invoke(verify_command)
    assert result.exit_code == 0, result.output


def _lines(sheet: dict) -> dict:
    return {line["sku"]: line for line in sheet["lines"]}


def test_relais_count_finds_a_missing_phone_which_becomes_lost_with_its_reason(app, client, shelf):
    sheet = client.post("/api/v1/stocktakes", headers=shelf["admin"], json={})
    assert sheet.status_code == 201, sheet.json
    lines = _lines(sheet.json)
    assert sheet.json["relais_id"] == shelf["relais_id"] and sheet.json["status"] == "open"
    assert (lines["PHONE-ST"]["expected"], lines["PHONE-ST"]["expected_serials"]) == (3, sorted(imeis(1, 3)))
    assert lines["RECH-ST"]["expected"] == 10
    stocktake = sheet.json["id"]
    counted = client.post(f"/api/v1/stocktakes/{stocktake}/lines", headers=shelf["admin"], json={"lines": [
        {"sku": "PHONE-ST", "serials": imeis(1, 2), "reason_code": "stolen", "comment": "vitrine forcée"},
        {"sku": "RECH-ST", "counted": 10}]})
    assert counted.status_code == 200, counted.json
    done = client.post(f"/api/v1/stocktakes/{stocktake}/finalise", headers=shelf["admin"])
    assert done.status_code == 200, done.json
    phone = _lines(done.json)["PHONE-ST"]
    assert phone["difference"] == -1 and phone["outcome"]["lost"] == [imeis(3, 1)[0]]
    unit = client.get(f"/api/v1/units/{imeis(3, 1)[0]}", headers=shelf["admin"]).json
    assert unit["status"] == "lost" and "vitrine forcée" in unit["history"][-1]["note"]
    movements = client.get("/api/v1/inventory/movements", headers=shelf["admin"]).json
    latest = movements[0]
    assert (latest["kind"], latest["quantity_delta"], latest["sku"]) == ("loss", -1, "PHONE-ST")
    inventory = {item["sku"]: item for item in client.get("/api/v1/inventory", headers=shelf["admin"]).json}
    assert inventory["PHONE-ST"]["on_hand"] == 2 and len(inventory["PHONE-ST"]["units"]) == 2
    assert client.post(f"/api/v1/stocktakes/{stocktake}/finalise", headers=shelf["admin"]).status_code == 409
    _verify(app)


def test_a_difference_needs_a_coded_reason_and_other_needs_a_comment(client, shelf):
    stocktake = client.post("/api/v1/stocktakes", headers=shelf["admin"], json={}).json["id"]
    client.post(f"/api/v1/stocktakes/{stocktake}/lines", headers=shelf["admin"], json={"lines": [
        {"sku": "PHONE-ST", "serials": imeis(1, 3)}, {"sku": "RECH-ST", "counted": 8}]})
    refused = client.post(f"/api/v1/stocktakes/{stocktake}/finalise", headers=shelf["admin"])
    assert refused.status_code == 422 and list(refused.json["errors"]) == ["RECH-ST"]
    client.post(f"/api/v1/stocktakes/{stocktake}/lines", headers=shelf["admin"], json={"lines": [
        {"sku": "RECH-ST", "counted": 8, "reason_code": "other"}]})
    assert client.post(f"/api/v1/stocktakes/{stocktake}/finalise", headers=shelf["admin"]).status_code == 422
    bad = client.post(f"/api/v1/stocktakes/{stocktake}/lines", headers=shelf["admin"], json={"lines": [
        {"sku": "RECH-ST", "counted": 8, "reason_code": "eaten"}]})
    assert bad.status_code == 422
    client.post(f"/api/v1/stocktakes/{stocktake}/lines", headers=shelf["admin"], json={"lines": [
        {"sku": "RECH-ST", "counted": 8, "reason_code": "count_error", "comment": "recompté"}]})
    done = client.post(f"/api/v1/stocktakes/{stocktake}/finalise", headers=shelf["admin"])
    assert done.status_code == 200
    movement = client.get("/api/v1/inventory/movements", headers=shelf["admin"]).json[0]
    assert (movement["kind"], movement["quantity_delta"]) == ("adjustment", -2)


def test_every_line_must_be_counted_and_one_count_at_a_time(client, shelf):
    stocktake = client.post("/api/v1/stocktakes", headers=shelf["admin"], json={}).json["id"]
    assert client.post("/api/v1/stocktakes", headers=shelf["admin"], json={}).status_code == 409
    client.post(f"/api/v1/stocktakes/{stocktake}/lines", headers=shelf["admin"],
                json={"lines": [{"sku": "RECH-ST", "counted": 10}]})
    refused = client.post(f"/api/v1/stocktakes/{stocktake}/finalise", headers=shelf["admin"])
    assert refused.status_code == 422 and "PHONE-ST" in refused.json["errors"]


def test_counting_is_for_relais_admins_and_national_and_stays_in_its_relais(client, shelf):
    assert client.post("/api/v1/stocktakes", headers=shelf["worker"], json={}).status_code == 403
    stocktake = client.post("/api/v1/stocktakes", headers=shelf["admin"], json={}).json["id"]
    assert client.get(f"/api/v1/stocktakes/{stocktake}", headers=shelf["other_admin"]).status_code == 404
    assert client.get("/api/v1/stocktakes", headers=shelf["other_admin"]).json == []
    assert client.get(f"/api/v1/stocktakes/{stocktake}", headers=shelf["national"]).status_code == 200
    # The national team names the location it counts.
    missing = client.post("/api/v1/stocktakes", headers=shelf["national"], json={})
    assert missing.status_code == 422 and "location_id" in missing.json["errors"]


def test_national_count_writes_off_finds_and_moves_units(app, client, shelf):
    central = client.get("/api/v1/locations", headers=shelf["national"]).json[0]["id"]
    hub = client.post("/api/v1/locations", headers=shelf["national"], json={"name": "Bordeaux"}).json["id"]
    # One phone sits at Bordeaux in the books, one was written off earlier.
    client.post("/api/v1/transfers", headers=shelf["national"], json={
        "from_location_id": central, "to_location_id": hub,
        "lines": [{"sku": "PHONE-ST", "serials": imeis(8, 1)}]})
    transfer = client.get("/api/v1/transfers", headers=shelf["national"]).json[0]["id"]
    client.post(f"/api/v1/transfers/{transfer}/receipt", headers=shelf["national"])
    client.post("/api/v1/stock/adjustments", headers=shelf["national"], json={
        "sku": "PHONE-ST", "serials": imeis(7, 1), "reason": "introuvable", "reason_code": "lost"})
    sheet = client.post("/api/v1/stocktakes", headers=shelf["national"], json={"location_id": central}).json
    assert _lines(sheet)["PHONE-ST"]["expected_serials"] == sorted(imeis(4, 3))
    assert _lines(sheet)["RECH-ST"]["expected"] == 40
    # Counted: 4 and 5 (6 is missing), 7 (written off, found) and 8 (recorded at Bordeaux).
    scanned = imeis(4, 2) + imeis(7, 2)
    client.post(f"/api/v1/stocktakes/{sheet['id']}/lines", headers=shelf["national"], json={"lines": [
        {"sku": "PHONE-ST", "serials": scanned, "reason_code": "count_error", "comment": "rangement"},
        {"sku": "RECH-ST", "counted": 43, "reason_code": "found"}]})
    done = client.post(f"/api/v1/stocktakes/{sheet['id']}/finalise", headers=shelf["national"])
    assert done.status_code == 200, done.json
    outcome = _lines(done.json)["PHONE-ST"]["outcome"]
    assert outcome == {"lost": imeis(6, 1), "found": imeis(7, 1), "moved": imeis(8, 1)}
    rows = {row["sku"]: row for row in client.get("/api/v1/stock", headers=shelf["national"]).json}
    phones = rows["PHONE-ST"]["locations"]
    assert [(loc["name"], loc["on_hand"]) for loc in phones] == [("Entrepôt central", 4)]
    assert rows["RECH-ST"]["on_hand"] == 43
    for serial, status in zip(imeis(6, 3), ("lost", "in_stock", "in_stock"), strict=True):
        assert client.get(f"/api/v1/units/{serial}", headers=shelf["national"]).json["status"] == status
    ledger = client.get(f"/api/v1/locations/{central}/movements", headers=shelf["national"]).json
    assert ("RECH-ST", "adjustment", 3, "found") in {
        (m["sku"], m["kind"], m["on_hand_delta"], m["reason_code"]) for m in ledger}
    _verify(app)


def test_relais_admin_counts_through_the_pages(app, client, shelf):
    with app.app_context():
        db.session.get(Relais, shelf["relais_id"]).terms_accepted_at = utcnow()
        admin_id = make_user(Role.RELAIS_ADMIN, relais=db.session.get(Relais, shelf["relais_id"])).id
        db.session.commit()
        db.session.remove()
    web = login_as(app, query(app, lambda: db.session.get(User, admin_id)))
    assert 'href="/stock/stocktakes"' in body(web.get("/stock/inventory"))
    started = web.post("/stock/stocktakes")
    assert started.status_code == 302
    sheet_url = started.headers["Location"]
    sheet = body(web.get(sheet_url))
    assert all(serial in sheet for serial in imeis(1, 3))
    stocktake = int(sheet_url.rstrip("/").rsplit("/", 1)[1])
    refused = web.post(f"/stock/stocktakes/{stocktake}/lines", data={
        "counted-RECH-ST": "dix", "serials-PHONE-ST": "\n".join(imeis(1, 2))})
    assert refused.status_code == 422 and "RECH-ST" in body(refused)
    saved = web.post(f"/stock/stocktakes/{stocktake}/lines", data={
        "counted-RECH-ST": "10", "serials-PHONE-ST": "\n".join(imeis(1, 2)), "reason-PHONE-ST": "lost",
        "comment-PHONE-ST": "introuvable en rayon"})
    assert saved.status_code == 302
    assert web.post(f"/stock/stocktakes/{stocktake}/finalise").status_code == 302
    assert "Perdues" in body(web.get(sheet_url))
    unit = client.get(f"/api/v1/units/{imeis(3, 1)[0]}", headers=shelf["admin"]).json
    assert unit["status"] == "lost"
