"""Supply: suppliers, receipts' origin (grade, wipe certificate, gifts), collections and the
reuse rate, the warranty exchange, supplier returns, the device passport and the figures."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest
from sqlalchemy import text

from relais_platform.accounts.models import Role
from relais_platform.extensions import db
from relais_platform.stock.warehouse.cli import verify_command
from tests.factories import (
    as_national,
    bearer,
    imeis,
    make_beneficiary,
    make_order,
    make_product,
    make_relais,
    make_supplier,
    make_user,
    national_level,
    receive,
)

TODAY = date.today().isoformat()


@pytest.fixture
def world(app):
    with app.app_context():
        relais = make_relais(name="Relais Garonne")
        other = make_relais(name="Relais Dordogne")
        phone = make_product(
            sku="PHONE-S",
            name="Smartphone reconditionné",
            category="smartphone",
            dimension="equipement",
            serial_kind="imei",
            unit_price_cents=0,
            max_resale_price_cents=3000,
            validity_days=None,
        )
        recharge = make_product(sku="REC-S", name="Recharge Internet", validity_days=30)
        coach = make_user(Role.COACH)
        relais.coach_id = coach.id
        db.session.commit()
        w = SimpleNamespace(
            relais=relais.id,
            other=other.id,
            phone_id=phone.id,
            recharge_id=recharge.id,
            national=bearer(make_user(Role.NATIONAL)),
            admin=bearer(make_user(Role.RELAIS_ADMIN, relais)),
            worker=bearer(make_user(Role.RELAIS_WORKER, relais)),
            other_admin=bearer(make_user(Role.RELAIS_ADMIN, other)),
            coach=bearer(coach),
            phones=imeis(500, 4),
        )
        w.person = make_beneficiary(w.relais, first_name="Zénobie", last_name="Quastreaux")
        db.session.remove()
        return w


def _supplier(client, w, name: str, kind: str, **extra) -> int:
    response = client.post(
        "/api/v1/suppliers", json={"name": name, "kind": kind, **extra}, headers=w.national
    )
    assert response.status_code == 201, response.json
    return response.json["id"]


def _units(owner_engine, serials):
    with owner_engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.relais_ids', '*', true)"))
        return {
            row.serial: (row.status, row.relais_id)
            for row in conn.execute(
                text("SELECT serial, status, relais_id FROM serial_units WHERE serial = ANY(:s)"),
                {"s": list(serials)},
            )
        }


# --- suppliers ------------------------------------------------------------------------


def test_suppliers_are_created_and_listed_by_the_national_team_only(client, world):
    donor = _supplier(
        client, world, "Orange SA", "donor_company", siret="73282932000074", contact="rse@example.org"
    )
    _supplier(client, world, "Ateliers du Bocage", "refurbisher")
    listed = client.get("/api/v1/suppliers?kind=donor_company", headers=world.national)
    assert [s["id"] for s in listed.json] == [donor]
    assert listed.json[0]["siret"] == "73282932000074"
    duplicate = client.post(
        "/api/v1/suppliers", json={"name": "orange sa", "kind": "vendor"}, headers=world.national
    )
    assert duplicate.status_code == 422 and "name" in duplicate.json["errors"]
    bad = client.post(
        "/api/v1/suppliers", json={"name": "X", "kind": "friend", "siret": "123"}, headers=world.national
    )
    assert bad.status_code == 422 and "kind" in bad.json["errors"]
    bad_siret = client.post(
        "/api/v1/suppliers",
        json={"name": "X", "kind": "vendor", "siret": "12345678901234"},
        headers=world.national,
    )
    assert bad_siret.status_code == 422 and set(bad_siret.json["errors"]) == {"siret"}
    for headers in (world.admin, world.worker, world.coach):
        assert client.get("/api/v1/suppliers", headers=headers).status_code == 403
        assert (
            client.post(
                "/api/v1/suppliers", json={"name": "Y", "kind": "vendor"}, headers=headers
            ).status_code
            == 403
        )


# --- receipts: origin rules -----------------------------------------------------------


@pytest.mark.parametrize(
    ("missing", "field"),
    [
        ("supplier_id", "supplier_id"),
        ("grade", "grade"),
        ("wipe_certificate", "wipe_certificate"),
    ],
)
def test_a_device_receipt_needs_supplier_grade_and_wipe_certificate(client, world, app, missing, field):
    refurbisher = _supplier(client, world, "Ateliers du Bocage", "refurbisher")
    body = {
        "sku": "PHONE-S",
        "serials": world.phones[:2],
        "supplier_id": refurbisher,
        "grade": "A",
        "wipe_certificate": "ADB-1",
    }
    del body[missing]
    response = client.post("/api/v1/stock/receipts", json=body, headers=world.national)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]
    assert national_level(app, world.phone_id) == (0, 0)


def test_per_unit_grade_and_certificate_complete_the_receipt(client, world, owner_engine):
    refurbisher = _supplier(client, world, "Ateliers du Bocage", "refurbisher")
    one, two = world.phones[:2]
    partial = client.post(
        "/api/v1/stock/receipts",
        headers=world.national,
        json={
            "sku": "PHONE-S",
            "supplier_id": refurbisher,
            "wipe_certificate": "ADB-2",
            "units": [{"serial": one, "grade": "A"}, {"serial": two}],
        },
    )
    assert partial.status_code == 422
    assert partial.json["errors"]["grade"] == [f"{two}: grade manquant (A, B ou C)"]
    response = client.post(
        "/api/v1/stock/receipts",
        headers=world.national,
        json={
            "sku": "PHONE-S",
            "supplier_id": refurbisher,
            "wipe_certificate": "ADB-2",
            "units": [
                {"serial": one, "grade": "A"},
                {"serial": two, "grade": "C", "wipe_certificate": "ADB-3"},
            ],
        },
    )
    assert response.status_code == 201, response.json
    with owner_engine.begin() as conn:
        rows = conn.execute(
            text(
                "SELECT u.serial, o.grade, o.wipe_certificate, o.supplier_id FROM unit_origins o"
                " JOIN serial_units u ON u.id = o.unit_id ORDER BY u.serial"
            )
        ).all()
    assert {tuple(r) for r in rows} == {(one, "A", "ADB-2", refurbisher), (two, "C", "ADB-3", refurbisher)}


def test_sim_and_recharge_receipts_fall_back_on_the_usual_supplier(client, world, owner_engine):
    operator = _supplier(client, world, "SFR", "operator")
    response = client.patch(
        f"/api/v1/products/{world.recharge_id}", json={"usual_supplier_id": operator}, headers=world.national
    )
    assert response.status_code == 200, response.json
    assert response.json["usual_supplier_id"] == operator
    assert (
        client.post(
            "/api/v1/stock/receipts", json={"sku": "REC-S", "quantity": 100}, headers=world.national
        ).status_code
        == 201
    )
    gift = client.post(
        "/api/v1/stock/receipts",
        headers=world.national,
        json={"sku": "REC-S", "quantity": 50, "donation": True, "unit_value_cents": 500},
    )
    assert gift.status_code == 201
    with owner_engine.begin() as conn:
        rows = conn.execute(
            text("SELECT supplier_id, quantity, donation, unit_value_cents FROM supply_receipts ORDER BY id")
        ).all()
    assert [tuple(r) for r in rows] == [(operator, 100, False, None), (operator, 50, True, 500)]
    bad = client.patch(
        f"/api/v1/products/{world.recharge_id}", json={"usual_supplier_id": 999999}, headers=world.national
    )
    assert bad.status_code == 422 and "usual_supplier_id" in bad.json["errors"]
    graded = client.post(
        "/api/v1/stock/receipts", json={"sku": "REC-S", "quantity": 1, "grade": "A"}, headers=world.national
    )
    assert graded.status_code == 422 and "grade" in graded.json["errors"]


# --- collections ----------------------------------------------------------------------


def test_collection_rules_and_reconciliation(client, world):
    donor = _supplier(client, world, "Mairie de Pessac", "donor_public")
    refurbisher = _supplier(client, world, "Ateliers du Bocage", "refurbisher")
    other_refurbisher = _supplier(client, world, "Recyclerie", "refurbisher")
    bad = client.post(
        "/api/v1/collections",
        headers=world.national,
        json={
            "donor_id": refurbisher,
            "collected_on": "2999-01-01",
            "items": [{"category": "recharge", "quantity": 0}],
        },
    )
    assert bad.status_code == 422
    assert {"donor_id", "collected_on", "items"} <= set(bad.json["errors"])
    created = client.post(
        "/api/v1/collections",
        headers=world.national,
        json={"donor_id": donor, "collected_on": TODAY, "items": [{"category": "smartphone", "quantity": 2}]},
    )
    assert created.status_code == 201, created.json
    cid = created.json["id"]
    body = {
        "sku": "PHONE-S",
        "serials": world.phones[:1],
        "supplier_id": refurbisher,
        "grade": "B",
        "wipe_certificate": "W",
        "collection_id": cid,
    }
    not_sent = client.post("/api/v1/stock/receipts", json=body, headers=world.national)
    assert not_sent.status_code == 422 and "collection_id" in not_sent.json["errors"]
    assert (
        client.post(
            f"/api/v1/collections/{cid}/send", json={"refurbisher_id": refurbisher}, headers=world.national
        ).status_code
        == 200
    )
    wrong = client.post(
        "/api/v1/stock/receipts", json={**body, "supplier_id": other_refurbisher}, headers=world.national
    )
    assert wrong.status_code == 422 and "collection_id" in wrong.json["errors"]
    too_many = client.post(
        "/api/v1/stock/receipts", json={**body, "serials": world.phones[:3]}, headers=world.national
    )
    assert too_many.status_code == 422 and "collection_id" in too_many.json["errors"]
    assert client.post("/api/v1/stock/receipts", json=body, headers=world.national).status_code == 201
    closed = client.post(f"/api/v1/collections/{cid}/close", headers=world.national)
    assert closed.status_code == 200
    assert closed.json["items"] == [
        {"category": "smartphone", "collected": 2, "refurbished": 1, "recycled": 1}
    ]
    assert client.post(f"/api/v1/collections/{cid}/close", headers=world.national).status_code == 409
    assert client.get("/api/v1/collections/999999", headers=world.national).status_code == 404
    for headers in (world.admin, world.coach):
        assert client.get(f"/api/v1/collections/{cid}", headers=headers).status_code == 403


# --- the whole life of one phone ------------------------------------------------------


def test_one_phone_from_the_donor_to_its_repair(client, world, app, owner_engine):
    """Done when: a national user follows one phone from the company that gave it, through the
    refurbisher and its wipe certificate, to a relais, a hand-over, a warranty exchange and
    its repair."""
    w = world
    donor = _supplier(client, w, "Orange SA", "donor_company")
    refurbisher = _supplier(client, w, "Ateliers du Bocage", "refurbisher")
    collection = client.post(
        "/api/v1/collections",
        headers=w.national,
        json={
            "donor_id": donor,
            "collected_on": TODAY,
            "refurbisher_id": refurbisher,
            "items": [{"category": "smartphone", "quantity": 4}],
        },
    ).json["id"]
    phone, spare, third = w.phones[:3]
    receipt = client.post(
        "/api/v1/stock/receipts",
        headers=w.national,
        json={
            "sku": "PHONE-S",
            "supplier_id": refurbisher,
            "collection_id": collection,
            "donation": True,
            "unit_value_cents": 4000,
            "wipe_certificate": "ADB-2026-0042",
            "units": [
                {"serial": phone, "grade": "A"},
                {"serial": spare, "grade": "B"},
                {"serial": third, "grade": "B"},
            ],
        },
    )
    assert receipt.status_code == 201, receipt.json
    # To the relais: order, allocation, shipment (free product: no payment), receipt.
    with app.app_context():
        order = make_order(w.relais, [("PHONE-S", 2)])
    assert (
        client.post(
            f"/api/v1/orders/{order}/allocation",
            json={"lines": [{"sku": "PHONE-S", "quantity": 2}]},
            headers=w.national,
        ).status_code
        == 200
    )
    shipped = client.post(
        f"/api/v1/orders/{order}/shipment",
        headers=w.national,
        json={"lines": [{"sku": "PHONE-S", "serials": [phone, spare]}]},
    )
    assert shipped.status_code == 200, shipped.json
    assert (
        client.post(
            f"/api/v1/orders/{order}/receipt",
            headers=w.admin,
            json={"lines": [{"sku": "PHONE-S", "received": 2, "serials": [phone, spare]}]},
        ).status_code
        == 200
    )
    # Hand-over, then a warranty exchange at the relais.
    handed = client.post(
        "/api/v1/distributions",
        headers=w.worker,
        json={"sku": "PHONE-S", "serial": phone, "price_cents": 2000, "beneficiary_id": w.person},
    )
    assert handed.status_code == 201, handed.json
    dist = handed.json["id"]
    missing = client.post(f"/api/v1/distributions/{dist}/warranty-exchange", headers=w.worker, json={})
    assert missing.status_code == 422
    assert {"replacement_serial", "outcome"} <= set(missing.json["errors"])
    not_here = client.post(
        f"/api/v1/distributions/{dist}/warranty-exchange",
        headers=w.worker,
        json={"replacement_serial": third, "outcome": "defective"},
    )
    assert not_here.status_code == 422 and "replacement_serial" in not_here.json["errors"]
    exchange = client.post(
        f"/api/v1/distributions/{dist}/warranty-exchange",
        headers=w.worker,
        json={"replacement_serial": spare, "outcome": "defective"},
    )
    assert exchange.status_code == 201, exchange.json
    assert exchange.json["replaces_id"] == dist and exchange.json["serial"] == spare
    assert exchange.json["price_cents"] == 0
    assert exchange.json["beneficiary_id"] == w.person
    assert exchange.json["warranty_ends_on"] == handed.json["warranty_ends_on"]
    assert _units(owner_engine, [phone, spare]) == {
        phone: ("defective", w.relais),
        spare: ("distributed", w.relais),
    }
    again = client.post(
        f"/api/v1/distributions/{dist}/warranty-exchange",
        headers=w.worker,
        json={"replacement_serial": spare, "outcome": "defective"},
    )
    assert again.status_code == 409
    pdf = client.get(f"/api/v1/distributions/{dist}/receipt", headers=w.worker)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    # Back to national, then to the refurbisher, who repairs it.
    not_yet = client.post(
        "/api/v1/supplier-returns", json={"supplier_id": refurbisher, "serials": [phone]}, headers=w.national
    )
    assert not_yet.status_code == 422 and "serials" in not_yet.json["errors"]
    assert (
        client.post(
            "/api/v1/stock/returns",
            headers=w.national,
            json={"sku": "PHONE-S", "serials": [phone], "reason": "Écran défaillant", "defective": True},
        ).status_code
        == 201
    )
    on_hand_before = national_level(app, w.phone_id)[0]
    rma = client.post(
        "/api/v1/supplier-returns", json={"supplier_id": refurbisher, "serials": [phone]}, headers=w.national
    )
    assert rma.status_code == 201, rma.json
    assert rma.json["lines"] == [
        {
            "serial": phone,
            "sku": "PHONE-S",
            "outcome": None,
            "answered_at": None,
            "replacement_serial": None,
            "note": None,
        }
    ]
    twice = client.post(
        "/api/v1/supplier-returns", json={"supplier_id": refurbisher, "serials": [phone]}, headers=w.national
    )
    assert twice.status_code == 422
    slip = client.get(f"/api/v1/supplier-returns/{rma.json['id']}/slip", headers=w.national)
    assert slip.status_code == 200 and slip.data.startswith(b"%PDF")
    answered = client.post(
        f"/api/v1/supplier-returns/{rma.json['id']}/answers",
        headers=w.national,
        json={"answers": [{"serial": phone, "outcome": "repaired"}]},
    )
    assert answered.status_code == 200, answered.json
    assert answered.json["lines"][0]["outcome"] == "repaired"
    assert _units(owner_engine, [phone])[phone] == ("in_stock", None)
    assert national_level(app, w.phone_id)[0] == on_hand_before + 1
    # The passport, as the national team reads it: never the person.
    passport = client.get(f"/api/v1/units/{phone}", headers=w.national)
    assert passport.status_code == 200, passport.json
    body = passport.json
    assert {
        "id",
        "sku",
        "serial",
        "status",
        "relais_id",
        "received_at",
        "warranty_ends_on",
        "history",
    } <= set(body)
    p = body["passport"]
    assert p["donor"]["name"] == "Orange SA" and p["supplier"]["name"] == "Ateliers du Bocage"
    assert p["collection"]["id"] == collection and p["collection"]["refurbisher"]["id"] == refurbisher
    assert (p["grade"], p["wipe_certificate"]) == ("A", "ADB-2026-0042")
    assert p["receipt"]["donation"] is True and p["receipt"]["unit_value_cents"] == 4000
    assert [s["order_id"] for s in p["shipments"]] == [order]
    assert p["shipments"][0]["relais_name"] == "Relais Garonne"
    assert p["handover"]["relais_name"] == "Relais Garonne" and p["handover"]["beneficiary_name"] is None
    assert [e["outcome"] for e in p["warranty_events"]] == ["defective"]
    assert [(r["outcome"], r["supplier"]["id"]) for r in p["supplier_returns"]] == [("repaired", refurbisher)]
    assert "Quastreaux" not in passport.get_data(as_text=True)
    # The relais sees its own unit, with its own person's name, and nothing commercial.
    own = client.get(f"/api/v1/units/{spare}", headers=w.worker)
    assert own.status_code == 200
    mine = own.json["passport"]
    assert mine["handover"]["beneficiary_name"] == "Zénobie Quastreaux"
    assert mine["donor"]["name"] == "Orange SA" and mine["grade"] == "B"
    assert "unit_value_cents" not in mine["receipt"] and mine["supplier_returns"] == []
    assert client.get(f"/api/v1/units/{spare}", headers=w.other_admin).status_code == 404
    assert client.get(f"/api/v1/units/{phone}", headers=w.worker).status_code == 404
    # Levels and units still agree with the ledgers after the whole chain.
    result = app.test_cli_runner().invoke(verify_command)
    assert result.exit_code == 0, result.output
    # The figures.
    figures = client.get("/api/v1/supply/figures", headers=w.national)
    assert figures.status_code == 200, figures.json
    f = figures.json
    row = next(r for r in f["by_supplier"] if r["supplier_id"] == refurbisher)
    assert (row["units"], row["donated_units"], row["value_cents"]) == (3, 3, 12000)
    assert f["gifts_by_year"][0]["units"] == 3 and f["gifts_by_year"][0]["value_cents"] == 12000
    assert next(k for k in f["by_kind"] if k["kind"] == "refurbisher")["units"] == 3
    by_donor = next(r for r in f["reuse_by_donor"] if r["key"] == str(donor))
    assert (by_donor["collected"], by_donor["refurbished"], by_donor["reuse_rate"]) == (4, 3, 0.75)
    by_refurbisher_reuse = next(r for r in f["reuse_by_refurbisher"] if r["key"] == str(refurbisher))
    assert (by_refurbisher_reuse["collected"], by_refurbisher_reuse["pending"]) == (4, 1)
    this_year = f["reuse_by_year"][0]
    assert (this_year["key"], this_year["reuse_rate"]) == (str(date.today().year), 0.75)
    product = next(r for r in f["warranty_by_product"] if r["key"] == "PHONE-S")
    assert (product["handed_over"], product["failures"], product["failure_rate"]) == (2, 1, 0.5)
    by_refurbisher = next(r for r in f["warranty_by_refurbisher"] if r["key"] == str(refurbisher))
    assert (by_refurbisher["failure_rate"], by_refurbisher["repaired"]) == (0.5, 1)
    for headers in (w.admin, w.coach):
        assert client.get("/api/v1/supply/figures", headers=headers).status_code == 403


def test_refurbisher_answers_replaced_and_scrapped(client, world, app, owner_engine):
    w = world
    refurbisher = _supplier(client, w, "Ateliers du Bocage", "refurbisher")
    other = _supplier(client, w, "Recyclerie", "refurbisher")
    one, two, new = w.phones[:3]
    assert (
        client.post(
            "/api/v1/stock/receipts",
            headers=w.national,
            json={
                "sku": "PHONE-S",
                "serials": [one, two],
                "supplier_id": refurbisher,
                "grade": "B",
                "wipe_certificate": "W-1",
            },
        ).status_code
        == 201
    )
    assert (
        client.post(
            "/api/v1/stock/adjustments",
            headers=w.national,
            json={
                "sku": "PHONE-S",
                "serials": [one, two],
                "status": "defective",
                "reason": "Test à réception",
            },
        ).status_code
        == 201
    )
    wrong = client.post(
        "/api/v1/supplier-returns", json={"supplier_id": other, "serials": [one]}, headers=w.national
    )
    assert (
        wrong.status_code == 422 and "préparée par un autre fournisseur" in wrong.json["errors"]["serials"][0]
    )
    rma = client.post(
        "/api/v1/supplier-returns",
        json={"supplier_id": refurbisher, "serials": [one, two]},
        headers=w.national,
    ).json["id"]
    no_serial = client.post(
        f"/api/v1/supplier-returns/{rma}/answers",
        headers=w.national,
        json={"answers": [{"serial": one, "outcome": "replaced"}]},
    )
    assert no_serial.status_code == 422 and "answers" in no_serial.json["errors"]
    no_wipe = client.post(
        f"/api/v1/supplier-returns/{rma}/answers",
        headers=w.national,
        json={"answers": [{"serial": one, "outcome": "replaced", "replacement_serial": new, "grade": "A"}]},
    )
    assert no_wipe.status_code == 422
    ok = client.post(
        f"/api/v1/supplier-returns/{rma}/answers",
        headers=w.national,
        json={
            "answers": [
                {
                    "serial": one,
                    "outcome": "replaced",
                    "replacement_serial": new,
                    "grade": "A",
                    "wipe_certificate": "W-9",
                },
                {"serial": two, "outcome": "scrapped", "note": "Carte mère"},
            ]
        },
    )
    assert ok.status_code == 200, ok.json
    assert [(line["outcome"], line["replacement_serial"]) for line in ok.json["lines"]] == [
        ("replaced", new),
        ("scrapped", None),
    ]
    assert _units(owner_engine, [one, two, new]) == {
        one: ("defective", None),
        two: ("defective", None),
        new: ("in_stock", None),
    }
    assert national_level(app, w.phone_id)[0] == 1
    replay = client.post(
        f"/api/v1/supplier-returns/{rma}/answers",
        headers=w.national,
        json={"answers": [{"serial": two, "outcome": "repaired"}]},
    )
    assert replay.status_code == 422


def test_relais_and_coach_see_no_supply_route(client, world):
    for headers in (world.admin, world.worker, world.coach):
        for path in (
            "/api/v1/suppliers",
            "/api/v1/collections",
            "/api/v1/supplier-returns",
            "/api/v1/supply/figures",
            "/api/v1/supplier-returns/1",
            "/api/v1/collections/1",
        ):
            assert client.get(path, headers=headers).status_code == 403, (path, headers)


def test_factories_receive_devices_with_an_origin(app):
    with app.app_context():
        product = make_product(
            category="laptop", dimension="equipement", serial_kind="serial", validity_days=None
        )
        assert receive(product, serials=["PC-0001"]) == 1
        supplier = make_supplier("donor_company")
        with as_national():
            assert supplier.kind.value == "donor_company"
