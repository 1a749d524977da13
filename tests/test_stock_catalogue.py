"""Catalogue: product rules, the products API for each role, the seed catalogue and demo stock."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from relais_platform.accounts.models import Role
from relais_platform.domain import ValidationFailed
from relais_platform.extensions import db
from relais_platform.stock.catalogue import services as catalogue
from relais_platform.stock.catalogue.models import Product
from relais_platform.stock.demo import CATALOGUE, load_catalogue, load_demo_stock
from relais_platform.stock.warehouse.models import SerialUnit, StockMovement
from relais_platform.stock.warehouse.verify import find_drifts
from tests.factories import (
    as_national,
    bearer,
    iccids,
    make_product,
    make_relais,
    make_user,
    product_data,
    receive,
)

PRODUCTS = "/api/v1/products"


@pytest.fixture
def national_headers(app):
    with app.app_context():
        return bearer(make_user(Role.NATIONAL))


def _create(client, headers, **overrides):
    return client.post(PRODUCTS, json=product_data(**overrides), headers=headers)


def test_national_creates_a_product(client, national_headers):
    response = _create(client, national_headers, sku="rech-test-1", name="Recharge Internet 8 Go",
                       data_gb=8, unit_price_cents=600, max_resale_price_cents=600)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["sku"] == "RECH-TEST-1"  # references are upper case
    assert (body["category"], body["dimension"], body["serialized"], body["serial_kind"]) == (
        "recharge", "connexion", False, None)
    assert (body["validity_days"], body["data_gb"], body["warranty_months"], body["active"]) == (
        30, 8.0, None, True)


def test_devices_get_a_two_year_warranty_by_default(client, national_headers):
    response = _create(client, national_headers, category="laptop", dimension="equipement",
                       serialized=True, serial_kind="serial", validity_days=None,
                       unit_price_cents=9000, max_resale_price_cents=15000)
    assert response.status_code == 201, response.json
    assert response.json["warranty_months"] == 24
    kept = _create(client, national_headers, category="tablet", dimension="equipement",
                   serialized=True, serial_kind="serial", validity_days=None, warranty_months=12)
    assert kept.json["warranty_months"] == 12


def test_free_programmes_have_zero_prices(client, national_headers):
    response = _create(client, national_headers, category="kit", serialized=True, serial_kind="iccid",
                       unit_price_cents=0, max_resale_price_cents=0, validity_days=60)
    assert response.status_code == 201, response.json


def test_sku_is_unique_whatever_its_case(client, national_headers):
    assert _create(client, national_headers, sku="SIM-X").status_code == 201
    response = _create(client, national_headers, sku="sim-x")
    assert response.status_code == 422
    assert response.json["errors"]["sku"] == ["Cette référence existe déjà."]


@pytest.mark.parametrize(("overrides", "field"), [
    ({"serialized": True}, "serial_kind"),
    ({"serialized": False, "serial_kind": "iccid"}, "serial_kind"),
    ({"unit_price_cents": -1}, "unit_price_cents"),
    ({"max_resale_price_cents": -5}, "max_resale_price_cents"),
    ({"unit_price_cents": 5.5}, "unit_price_cents"),
    ({"category": "drone"}, "category"),
    ({"dimension": "accompagnement"}, "dimension"),
    ({"category": "laptop", "dimension": "connexion", "validity_days": None}, "dimension"),
    ({"category": "sim", "dimension": "equipement", "validity_days": None}, "dimension"),
    ({"validity_days": None}, "validity_days"),  # a recharge has a validity
    ({"validity_days": 0}, "validity_days"),
    ({"category": "smartphone", "dimension": "equipement", "validity_days": 30}, "validity_days"),
    ({"category": "laptop", "dimension": "equipement", "validity_days": None, "data_gb": 5},
     "data_gb"),
    ({"warranty_months": 24}, "warranty_months"),  # recharges have none
    ({"data_gb": -1}, "data_gb"),
    ({"sku": "a b"}, "sku"),
    ({"name": ""}, "name"),
])
def test_product_rules(client, national_headers, overrides, field):
    response = _create(client, national_headers, **overrides)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]


def test_every_problem_is_reported_at_once(app_ctx):
    with pytest.raises(ValidationFailed) as caught:
        catalogue.create_product({"sku": "X", "category": "laptop", "dimension": "connexion",
                                  "serialized": True, "unit_price_cents": -1,
                                  "max_resale_price_cents": 0, "validity_days": 5})
    assert set(caught.value.errors) == {"sku", "name", "dimension", "serial_kind",
                                        "unit_price_cents", "validity_days"}


def test_national_updates_and_deactivates_a_product(app, client, national_headers):
    with app.app_context():
        product_id = make_product(name="Ancien nom").id
    response = client.patch(f"{PRODUCTS}/{product_id}", headers=national_headers,
                            json={"name": "Nouveau nom", "unit_price_cents": 450})
    assert response.status_code == 200, response.json
    assert (response.json["name"], response.json["unit_price_cents"]) == ("Nouveau nom", 450)
    off = client.patch(f"{PRODUCTS}/{product_id}", headers=national_headers, json={"active": False})
    assert off.json["active"] is False
    # A partial change must keep the whole product valid.
    bad = client.patch(f"{PRODUCTS}/{product_id}", headers=national_headers, json={"validity_days": None})
    assert bad.status_code == 422 and "validity_days" in bad.json["errors"]
    missing = client.patch(f"{PRODUCTS}/999999", headers=national_headers, json={"name": "x"})
    assert missing.status_code == 404


def test_sku_change_to_a_taken_one_is_refused(app, client, national_headers):
    with app.app_context():
        make_product(sku="TAKEN")
        product_id = make_product().id
    response = client.patch(f"{PRODUCTS}/{product_id}", headers=national_headers, json={"sku": "taken"})
    assert response.status_code == 422
    assert "sku" in response.json["errors"]


def test_tracking_cannot_change_once_units_exist(app, client, national_headers):
    with app.app_context():
        product = make_product(serial_kind="iccid")
        receive(product, serials=iccids(1, 1))
        product_id = product.id
        other_id = make_product(serial_kind="iccid").id
    response = client.patch(f"{PRODUCTS}/{product_id}", headers=national_headers,
                            json={"serialized": False, "serial_kind": None})
    assert response.status_code == 422 and "serialized" in response.json["errors"]
    untouched = client.patch(f"{PRODUCTS}/{other_id}", headers=national_headers,
                             json={"serial_kind": "imei", "category": "basic_phone",
                                   "dimension": "equipement", "validity_days": None})
    assert untouched.status_code == 200, untouched.json


def test_relais_users_see_active_products_of_their_dimensions(app, client):
    with app.app_context():
        relais = make_relais(dimensions=["connexion", "accompagnement"])
        worker = bearer(make_user(Role.RELAIS_WORKER, relais))
        national = bearer(make_user(Role.NATIONAL))
        coach = bearer(make_user(Role.COACH))
        make_product(sku="SIM-A", category="sim", serial_kind="iccid")
        make_product(sku="RECH-OFF", active=False)
        make_product(sku="PHONE-A", category="smartphone", dimension="equipement",
                     serial_kind="imei", validity_days=None)
    assert [p["sku"] for p in client.get(PRODUCTS, headers=worker).json] == ["SIM-A"]
    assert sorted(p["sku"] for p in client.get(PRODUCTS, headers=coach).json) == ["PHONE-A", "SIM-A"]
    everything = client.get(PRODUCTS, headers=national)
    assert sorted(p["sku"] for p in everything.json) == ["PHONE-A", "RECH-OFF", "SIM-A"]
    assert everything.headers["X-Total-Count"] == "3"
    inactive = client.get(f"{PRODUCTS}?active=false", headers=national)
    assert [p["sku"] for p in inactive.json] == ["RECH-OFF"]
    devices = client.get(f"{PRODUCTS}?dimension=equipement", headers=national)
    assert [p["sku"] for p in devices.json] == ["PHONE-A"]
    sims = client.get(f"{PRODUCTS}?category=sim&per_page=1", headers=national)
    assert [p["sku"] for p in sims.json] == ["SIM-A"]
    assert client.get(PRODUCTS).status_code == 401


def test_relais_users_cannot_write_the_catalogue(app, client):
    with app.app_context():
        relais = make_relais()
        admin = bearer(make_user(Role.RELAIS_ADMIN, relais))
        coach = bearer(make_user(Role.COACH))
        product_id = make_product().id
    for headers in (admin, coach):
        assert _create(client, headers).status_code == 403
        assert client.patch(f"{PRODUCTS}/{product_id}", json={"name": "x"},
                            headers=headers).status_code == 403


# --- seed catalogue and demo stock ----------------------------------------------------


def test_seed_catalogue_follows_the_rules(app_ctx):
    products = {p.sku: p for p in load_catalogue()}
    db.session.commit()
    assert len(products) == len(CATALOGUE) == 10
    assert products["KIT-CONNECT-REFUGEES"].max_resale_price_cents == 0
    assert products["RECH-INTER-30J"].validity_days == 30
    assert products["RECH-INTER-30J"].unit_price_cents == 500
    assert products["RECH-INTER-ECO-14J"].unit_price_cents == 250
    assert products["RECH-NET-8GO"].data_gb == Decimal("8.00")
    assert products["SIM-SOLIDAIRE"].serial_kind == "iccid"
    assert products["TEL-BASIQUE"].serial_kind == "imei"
    assert {products[s].warranty_months for s in ("PC-PORTABLE-RECOND", "SMARTPHONE-RECOND",
                                                  "TABLETTE-RECOND", "TEL-BASIQUE")} == {24}


def test_demo_stock_is_loaded_once(app_ctx):
    load_demo_stock()
    db.session.commit()
    db.session.remove()
    load_demo_stock()  # idempotent: nothing more
    db.session.commit()
    db.session.remove()
    with as_national():
        assert db.session.scalar(select(func.count()).select_from(Product)) == 10
        assert db.session.scalar(select(func.count()).select_from(StockMovement)) == 10
        sims = db.session.scalar(
            select(func.count()).select_from(SerialUnit).join(Product)
            .where(Product.sku == "SIM-SOLIDAIRE"))
        assert sims == 2_400
        assert find_drifts() == []
