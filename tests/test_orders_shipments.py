"""Pick lists and partial shipments: parcels from a location with a carrier and tracking
number, what is not shipped stays allocated, each parcel confirmed by the relais."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from relais_platform.accounts.models import Role, User
from relais_platform.extensions import db
from relais_platform.stock.warehouse.cli import verify_command
from tests.factories import (
    bearer,
    iccids,
    make_order,
    make_product,
    make_relais,
    make_user,
    national_level,
    receive,
)
from tests.test_web_support import login_as, query
from tests.test_web_support import text as body


@pytest.fixture
def w(app) -> SimpleNamespace:
    """A relais ordering 4 free SIM cards and 20 free recharges (allocated), national stock of
    6 SIMs and 30 recharges at the central warehouse."""
    with app.app_context():
        relais = make_relais(name="Relais Bastide", dimensions=["connexion"])
        other = make_relais(name="Relais Capucins", dimensions=["connexion"])
        sim = make_product(sku="SIM-P", serial_kind="iccid", unit_price_cents=0, max_resale_price_cents=0)
        recharge = make_product(sku="REC-P", unit_price_cents=0, max_resale_price_cents=0)
        receive(sim, serials=iccids(1, 6))
        receive(recharge, quantity=30)
        world = SimpleNamespace(relais_id=relais.id, recharge_id=recharge.id,
                                national=bearer(make_user(Role.NATIONAL)),
                                admin=bearer(make_user(Role.RELAIS_ADMIN, relais)),
                                other_admin=bearer(make_user(Role.RELAIS_ADMIN, other)))
        world.order = make_order(world.relais_id, [("SIM-P", 4), ("REC-P", 20)])
        world.second = make_order(world.relais_id, [("REC-P", 5)])
        db.session.remove()
        return world


def _allocate(client, w, order_id, lines):
    response = client.post(f"/api/v1/orders/{order_id}/allocation", headers=w.national, json={"lines": lines})
    assert response.status_code == 200, response.json
    return response.json


def _central(client, w) -> int:
    return client.get("/api/v1/locations", headers=w.national).json[0]["id"]


def _verify(app) -> None:
    result = app.test_cli_runner().invoke(verify_command)
    assert result.exit_code == 0, result.output


def test_a_partial_shipment_with_tracking_is_received_in_two_parts(app, client, w):
    allocated = _allocate(client, w, w.order, [{"sku": "SIM-P", "quantity": 4},
                                               {"sku": "REC-P", "quantity": 20}])
    assert allocated["status"] == "allocated"
    central = _central(client, w)
    picking = client.get(f"/api/v1/orders/{w.order}/pick-list", headers=w.national).json
    lines = {line["sku"]: line for line in picking["lines"]}
    assert (lines["SIM-P"]["quantity"], lines["SIM-P"]["location_id"]) == (4, central)
    assert lines["SIM-P"]["serials"] == iccids(1, 4) and lines["REC-P"]["quantity"] == 20

    first = client.post(f"/api/v1/orders/{w.order}/shipments", headers=w.national, json={
        "location_id": central, "carrier": "Colissimo", "tracking_number": "6A12345678901",
        "lines": [{"sku": "SIM-P", "serials": iccids(1, 2)}, {"sku": "REC-P", "quantity": 12}]})
    assert first.status_code == 201, first.json
    assert (first.json["carrier"], first.json["tracking_number"]) == ("Colissimo", "6A12345678901")
    order = client.get(f"/api/v1/orders/{w.order}", headers=w.national).json
    assert order["status"] == "allocated"  # the rest stays allocated
    assert national_level(app, w.recharge_id) == (18, 8)
    left = {line["sku"]: line["quantity"] for line in
            client.get(f"/api/v1/orders/{w.order}/pick-list", headers=w.national).json["lines"]}
    assert left == {"SIM-P": 2, "REC-P": 8}
    too_many = client.post(f"/api/v1/orders/{w.order}/shipments", headers=w.national, json={
        "location_id": central, "lines": [{"sku": "REC-P", "quantity": 9}]})
    assert too_many.status_code == 422 and "REC-P" in too_many.json["errors"]
    second = client.post(f"/api/v1/orders/{w.order}/shipments", headers=w.national, json={
        "location_id": central, "carrier": "Colissimo", "tracking_number": "6A12345678902",
        "lines": [{"sku": "SIM-P", "quantity": 2}, {"sku": "REC-P", "quantity": 8}]})
    assert second.status_code == 201, second.json
    assert client.get(f"/api/v1/orders/{w.order}", headers=w.national).json["status"] == "shipped"
    parcels = client.get(f"/api/v1/orders/{w.order}/shipments", headers=w.admin).json
    assert [(p["tracking_number"], p["status"]) for p in parcels] == [
        ("6A12345678901", "shipped"), ("6A12345678902", "shipped")]

    wrong = client.post(f"/api/v1/orders/{w.order}/shipments/{first.json['id']}/receipt", headers=w.admin,
                        json={"lines": [{"sku": "SIM-P", "received": 2, "serials": iccids(1, 2)},
                                        {"sku": "REC-P", "received": 11}]})
    assert wrong.status_code == 422 and "REC-P" in wrong.json["errors"]
    got_first = client.post(f"/api/v1/orders/{w.order}/shipments/{first.json['id']}/receipt", headers=w.admin,
                            json={"lines": [{"sku": "SIM-P", "received": 2, "serials": iccids(1, 2)},
                                            {"sku": "REC-P", "received": 12}]})
    assert got_first.status_code == 200, got_first.json
    assert client.get(f"/api/v1/orders/{w.order}", headers=w.admin).json["status"] == "shipped"
    # The whole-order receipt no longer applies once parcels are confirmed one by one.
    whole = client.post(f"/api/v1/orders/{w.order}/receipt", headers=w.admin,
                        json={"lines": [{"sku": "SIM-P", "received": 4}, {"sku": "REC-P", "received": 20}]})
    assert whole.status_code == 409
    again = client.post(f"/api/v1/orders/{w.order}/shipments/{first.json['id']}/receipt", headers=w.admin,
                        json={"lines": [{"sku": "SIM-P", "received": 2}, {"sku": "REC-P", "received": 12}]})
    assert again.status_code == 409
    got_second = client.post(f"/api/v1/orders/{w.order}/shipments/{second.json['id']}/receipt",
                             headers=w.admin, json={"lines": [{"sku": "SIM-P", "received": 2},
                                                              {"sku": "REC-P", "received": 8}]})
    assert got_second.status_code == 200, got_second.json
    assert client.get(f"/api/v1/orders/{w.order}", headers=w.admin).json["status"] == "received"
    inventory = {item["sku"]: item for item in client.get("/api/v1/inventory", headers=w.admin).json}
    assert (inventory["SIM-P"]["on_hand"], inventory["REC-P"]["on_hand"]) == (4, 20)
    assert len(inventory["SIM-P"]["units"]) == 4
    _verify(app)


def test_shipments_are_national_and_parcels_stay_in_their_relais(client, w):
    _allocate(client, w, w.order, [{"sku": "SIM-P", "quantity": 4}, {"sku": "REC-P", "quantity": 20}])
    central = _central(client, w)
    refused = client.post(f"/api/v1/orders/{w.order}/shipments", headers=w.admin, json={
        "location_id": central, "lines": [{"sku": "REC-P", "quantity": 1}]})
    assert refused.status_code == 403
    hub = client.post("/api/v1/locations", headers=w.national, json={"name": "Marseille"}).json["id"]
    empty = client.post(f"/api/v1/orders/{w.order}/shipments", headers=w.national, json={
        "location_id": hub, "lines": [{"sku": "REC-P", "quantity": 1}]})
    assert empty.status_code == 409 and "Marseille" in empty.json["message"]
    parcel = client.post(f"/api/v1/orders/{w.order}/shipments", headers=w.national, json={
        "location_id": central, "lines": [{"sku": "REC-P", "quantity": 1}]}).json
    url = f"/api/v1/orders/{w.order}/shipments/{parcel['id']}/receipt"
    assert client.post(url, headers=w.other_admin, json={"lines": [{"sku": "REC-P", "received": 1}]}
                       ).status_code == 404
    assert client.get(f"/api/v1/orders/{w.order}/shipments", headers=w.other_admin).status_code == 404
    assert client.get(f"/api/v1/orders/{w.order}/pick-list", headers=w.admin).status_code == 403


def test_batch_pick_list_and_pdf(client, w):
    _allocate(client, w, w.order, [{"sku": "SIM-P", "quantity": 4}, {"sku": "REC-P", "quantity": 20}])
    _allocate(client, w, w.second, [{"sku": "REC-P", "quantity": 5}])
    batch = client.get(f"/api/v1/pick-lists?order_ids={w.order},{w.second}", headers=w.national)
    assert batch.status_code == 200, batch.json
    assert [(entry["order_id"], len(entry["lines"])) for entry in batch.json] == [(w.order, 2), (w.second, 1)]
    unknown = client.get(f"/api/v1/pick-lists?order_ids={w.order},999999", headers=w.national)
    assert unknown.status_code == 422
    pdf = client.get(f"/api/v1/orders/{w.order}/pick-list?format=pdf", headers=w.national)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")


def test_the_single_shipment_route_ships_what_remains_in_one_parcel(client, w):
    _allocate(client, w, w.order, [{"sku": "SIM-P", "quantity": 4}, {"sku": "REC-P", "quantity": 20}])
    central = _central(client, w)
    client.post(f"/api/v1/orders/{w.order}/shipments", headers=w.national, json={
        "location_id": central, "lines": [{"sku": "REC-P", "quantity": 5}]})
    rest = client.post(f"/api/v1/orders/{w.order}/shipment", headers=w.national, json={})
    assert rest.status_code == 200, rest.json
    assert rest.json["status"] == "shipped"
    parcels = client.get(f"/api/v1/orders/{w.order}/shipments", headers=w.national).json
    assert [sorted((line["sku"], line["quantity"]) for line in p["lines"]) for p in parcels] == [
        [("REC-P", 5)], [("REC-P", 15), ("SIM-P", 4)]]


def test_parcels_through_the_pages(app, client, w):
    _allocate(client, w, w.order, [{"sku": "SIM-P", "quantity": 4}, {"sku": "REC-P", "quantity": 20}])
    with app.app_context():
        national_id = make_user(Role.NATIONAL).id
        db.session.remove()
    web = login_as(app, query(app, lambda: db.session.get(User, national_id)))
    detail = body(web.get(f"/stock/orders/{w.order}"))
    assert "Expédier un colis" in detail and f"/stock/orders/{w.order}/pick-list" in detail
    assert "SIM-P" in body(web.get(f"/stock/orders/{w.order}/pick-list"))
    assert f"Commande n° {w.order}" in body(web.get("/stock/pick-list"))
    central = _central(client, w)
    refused = web.post(f"/stock/orders/{w.order}/shipments", data={"location_id": central,
                                                                  "quantity-REC-P": "21"})
    assert refused.status_code == 422
    sent = web.post(f"/stock/orders/{w.order}/shipments", data={
        "location_id": central, "carrier": "Chronopost", "tracking_number": "XY1", "quantity-REC-P": "5"})
    assert sent.status_code == 302
    assert "XY1" in body(web.get(f"/stock/orders/{w.order}"))
