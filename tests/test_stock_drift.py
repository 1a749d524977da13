"""`stock verify` finds no drift after a random sequence of the warehouse operations: receipts
at several locations, transfers, partial shipments and their receipts, stock counts of a
location and of a relais, monthly reports with losses naming units, their return and
correction."""

from __future__ import annotations

import random

import pytest

from relais_platform.accounts.models import Role
from relais_platform.extensions import db
from relais_platform.stock.warehouse.cli import verify_command
from tests.factories import bearer, iccids, make_order, make_product, make_relais, make_user


@pytest.fixture
def w(app):
    with app.app_context():
        relais = [make_relais(name=f"Relais {n}", dimensions=["connexion"]) for n in range(2)]
        make_product(sku="SIM-D", serial_kind="iccid", unit_price_cents=0, max_resale_price_cents=0)
        make_product(sku="REC-D", unit_price_cents=0, max_resale_price_cents=0)
        ids = [r.id for r in relais]
        world = {"national": bearer(make_user(Role.NATIONAL)),
                 "admins": [bearer(make_user(Role.RELAIS_ADMIN, r)) for r in relais], "relais": ids}
        db.session.remove()
        return world


def _ok(response, *codes):
    assert response.status_code in codes or response.status_code < 300, response.json
    return response


@pytest.mark.parametrize("seed", [7, 2026])
def test_no_drift_after_random_operations(app, client, w, seed):
    rng = random.Random(seed)
    nat = w["national"]
    central = client.get("/api/v1/locations", headers=nat).json[0]["id"]
    hub = _ok(client.post("/api/v1/locations", headers=nat, json={"name": "Bordeaux"})).json["id"]
    places = [central, hub]
    next_serial = 1
    for _step in range(12):
        action = rng.choice(["receive", "transfer", "order", "count", "relais_count"])
        if action == "receive":
            place = rng.choice(places)
            client.post("/api/v1/stock/receipts", headers=nat, json={
                "sku": "REC-D", "quantity": rng.randint(5, 30), "location_id": place})
            count = rng.randint(1, 4)
            client.post("/api/v1/stock/receipts", headers=nat, json={
                "sku": "SIM-D", "serials": iccids(next_serial, count), "location_id": place})
            next_serial += count
        elif action == "transfer":
            origin, destination = rng.sample(places, 2)
            sent = client.post("/api/v1/transfers", headers=nat, json={
                "from_location_id": origin, "to_location_id": destination,
                "lines": [{"sku": "REC-D", "quantity": rng.randint(1, 5)}]})
            if sent.status_code == 201 and rng.random() < 0.7:
                _ok(client.post(f"/api/v1/transfers/{sent.json['id']}/receipt", headers=nat))
        elif action == "order":
            index = rng.randrange(2)
            with app.app_context():
                order_id = make_order(w["relais"][index], [("REC-D", rng.randint(2, 6))])
                db.session.remove()
            allocated = client.post(f"/api/v1/orders/{order_id}/allocation", headers=nat,
                                    json={"lines": [{"sku": "REC-D", "quantity": 2}]})
            if allocated.status_code != 200:
                continue
            for place in (central, hub, central):
                client.post(f"/api/v1/orders/{order_id}/shipments", headers=nat, json={
                    "location_id": place, "tracking_number": "T", "lines": [{"sku": "REC-D", "quantity": 1}]})
            for parcel in client.get(f"/api/v1/orders/{order_id}/shipments", headers=nat).json:
                url = f"/api/v1/orders/{order_id}/shipments/{parcel['id']}/receipt"
                _ok(client.post(url, headers=w["admins"][index],
                                json={"lines": [{"sku": "REC-D", "received": 1}]}))
        elif action == "count":
            place = rng.choice(places)
            sheet = client.post("/api/v1/stocktakes", headers=nat, json={"location_id": place}).json
            lines = []
            for line in sheet["lines"]:
                if line["serialized"]:
                    kept = [s for s in line["expected_serials"] if rng.random() < 0.8]
                    lines.append({"sku": line["sku"], "serials": kept, "reason_code": "lost"})
                else:
                    counted = max(0, line["expected"] + rng.randint(-2, 2))
                    lines.append({"sku": line["sku"], "counted": counted, "reason_code": "count_error"})
            if lines:
                _ok(client.post(f"/api/v1/stocktakes/{sheet['id']}/lines", headers=nat,
                                json={"lines": lines}))
            _ok(client.post(f"/api/v1/stocktakes/{sheet['id']}/finalise", headers=nat))
        else:
            index = rng.randrange(2)
            sheet = _ok(client.post("/api/v1/stocktakes", headers=w["admins"][index], json={})).json
            lines = [{"sku": line["sku"], "counted": max(0, line["expected"] - rng.randint(0, 1)),
                      "reason_code": "stolen"} for line in sheet["lines"] if not line["serialized"]]
            if lines:
                _ok(client.post(f"/api/v1/stocktakes/{sheet['id']}/lines", headers=w["admins"][index],
                                json={"lines": lines}))
            _ok(client.post(f"/api/v1/stocktakes/{sheet['id']}/finalise", headers=w["admins"][index]))
        result = app.test_cli_runner().invoke(verify_command)
        assert result.exit_code == 0, (action, result.output)
