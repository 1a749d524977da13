"""Supply pages: suppliers, collections, the receipt form's origin, supplier returns, the
device passport, the warranty exchange at the relais, the dashboard section and its export."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from relais_platform.accounts.models import Role, User
from relais_platform.extensions import db
from relais_platform.stock.catalogue.models import Product
from relais_platform.stock.scope import open_national_scope
from relais_platform.stock.warehouse import national
from relais_platform.stock.warehouse.models import SerialUnit, UnitStatus
from tests.factories import (
    as_national,
    deliver_to_relais,
    device_origin,
    imeis,
    make_beneficiary,
    make_distribution,
    make_product,
    make_supplier,
    make_user,
    receive,
)
from tests.test_web_support import login_as, make_signed_relais, query, text


@pytest.fixture
def world(app) -> SimpleNamespace:
    with app.app_context():
        relais = make_signed_relais(name="Relais Bastide")
        other = make_signed_relais(name="Relais Capucins")
        users = {
            "national": make_user(Role.NATIONAL),
            "worker": make_user(Role.RELAIS_WORKER, relais),
            "other": make_user(Role.RELAIS_WORKER, other),
            "coach": make_user(Role.COACH),
        }
        user_ids = {name: user.id for name, user in users.items()}
        relais_id, other_id = relais.id, other.id
        phone = make_product(
            sku="PHONE-W",
            name="Smartphone reconditionné",
            category="smartphone",
            dimension="equipement",
            serial_kind="imei",
            max_resale_price_cents=3000,
            validity_days=None,
        )
        phone_id = phone.id
        refurbisher = make_supplier(name="Ateliers du Bocage").id
        donor = make_supplier("donor_company", name="Groupe Exemple SA").id
        phones = imeis(700, 4)
        receive(phone, serials=phones, origin=device_origin(refurbisher, wipe_certificate="ADB-77"))
        deliver_to_relais(relais_id, phone, serials=phones[:2])
        w = SimpleNamespace(
            relais=relais_id,
            other=other_id,
            phone=phone_id,
            phones=phones,
            refurbisher=refurbisher,
            donor=donor,
            users=user_ids,
        )
        w.person = make_beneficiary(relais_id, first_name="Zénobie", last_name="Quastreaux")
        w.distribution = make_distribution(relais_id, "PHONE-W", serial=phones[0], beneficiary_id=w.person)
        db.session.remove()
        return w


def _client(app, w, who: str):
    return login_as(app, query(app, lambda: db.session.get(User, w.users[who])))


def test_national_menu_and_pages(app, world):
    client = _client(app, world, "national")
    home = text(client.get("/stock/national"))
    for url in ("/stock/supply/suppliers", "/stock/supply/collections", "/stock/supply/returns"):
        assert f'href="{url}"' in home
        assert client.get(url).status_code == 200
    assert "Ateliers du Bocage" in text(client.get("/stock/supply/suppliers"))
    dashboard = text(client.get("/dashboards/national"))
    assert "Approvisionnement" in dashboard and "/stock/supply/figures.csv" in dashboard
    export = client.get("/stock/supply/figures.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert "receipts_by_supplier" in text(export) and "Ateliers du Bocage" in text(export)


def test_relais_and_coaches_reach_no_supply_page(app, world):
    for who in ("worker", "coach"):
        client = _client(app, world, who)
        for url in (
            "/stock/supply/suppliers",
            "/stock/supply/collections",
            "/stock/supply/returns",
            "/stock/supply/collections/1",
            "/stock/supply/returns/1",
            "/stock/supply/figures.csv",
        ):
            assert client.get(url).status_code == 403, (who, url)
        assert 'href="/stock/supply/suppliers"' not in text(
            client.get("/stock/inventory" if who == "worker" else "/")
        )


def test_supplier_form_redisplays_its_messages(app, world):
    client = _client(app, world, "national")
    refused = client.post("/stock/supply/suppliers", data={"name": "", "kind": ""})
    assert refused.status_code == 422
    assert "Indiquez un nom" in text(refused) and "Choisissez un type" in text(refused)
    created = client.post("/stock/supply/suppliers", data={"name": "SFR", "kind": "operator"})
    assert created.status_code == 302


def test_collection_pages_create_send_and_close(app, world):
    client = _client(app, world, "national")
    refused = client.post("/stock/supply/collections", data={"donor_id": str(world.donor)})
    assert refused.status_code == 422 and "Indiquez la date" in text(refused)
    created = client.post(
        "/stock/supply/collections",
        data={"donor_id": str(world.donor), "collected_on": date.today().isoformat(), "qty_smartphone": "5"},
    )
    assert created.status_code == 302
    page = created.headers["Location"]
    assert "Groupe Exemple SA" in text(client.get(page))
    sent = client.post(f"{page}/send", data={"refurbisher_id": str(world.refurbisher)})
    assert sent.status_code == 302
    closed = client.post(f"{page}/close")
    assert closed.status_code == 302
    assert "close le" in text(client.get(page))


def test_receipt_form_requires_the_origin_of_devices(app, world):
    client = _client(app, world, "national")
    form = {"receipt-sku": "PHONE-W", "receipt-serials": imeis(800, 1)[0]}
    refused = client.post("/stock/national/receipts", data=form)
    assert refused.status_code == 422
    assert "Indiquez le fournisseur" in text(refused)
    no_wipe = client.post(
        "/stock/national/receipts",
        data={**form, "receipt-supplier_id": str(world.refurbisher), "receipt-grade": "A"},
    )
    assert no_wipe.status_code == 422 and "certificat d&#39;effacement manquant" in text(no_wipe)
    ok = client.post(
        "/stock/national/receipts",
        data={
            **form,
            "receipt-supplier_id": str(world.refurbisher),
            "receipt-grade": "A",
            "receipt-wipe_certificate": "ADB-9",
            "receipt-donation": "y",
            "receipt-unit_value_cents": "45",
        },
    )
    assert ok.status_code == 302


def test_supplier_return_pages(app, world):
    faulty = world.phones[3]
    with app.app_context():
        open_national_scope("test")
        product = db.session.get(Product, world.phone)
        national.adjust(product, reason="Test", serials=[faulty], status=UnitStatus.DEFECTIVE)
        db.session.commit()
    client = _client(app, world, "national")
    refused = client.post(
        "/stock/supply/returns", data={"supplier_id": str(world.refurbisher), "serials": world.phones[2]}
    )
    assert refused.status_code == 422 and world.phones[2] in text(refused)
    created = client.post(
        "/stock/supply/returns", data={"supplier_id": str(world.refurbisher), "serials": faulty}
    )
    assert created.status_code == 302
    page = created.headers["Location"]
    assert faulty in text(client.get(page))
    slip = client.get(f"{page}/slip.pdf")
    assert slip.status_code == 200 and slip.data.startswith(b"%PDF")
    missing = client.post(f"{page}/answers", data={"serial": faulty, f"outcome-{faulty}": "replaced"})
    assert missing.status_code == 422 and "remplacement" in text(missing)
    answered = client.post(f"{page}/answers", data={"serial": faulty, f"outcome-{faulty}": "repaired"})
    assert answered.status_code == 302
    assert "Réparée" in text(client.get(page))


def test_passport_page_national_and_relais(app, world):
    handed = world.phones[0]
    national_page = _client(app, world, "national").get(f"/stock/supply/units/{handed}")
    assert national_page.status_code == 200
    body = text(national_page)
    assert "ADB-77" in body and "Ateliers du Bocage" in body and "Relais Bastide" in body
    assert "Quastreaux" not in body
    own = _client(app, world, "worker").get(f"/stock/supply/units/{handed}")
    assert own.status_code == 200 and "Zénobie Quastreaux" in text(own)
    assert _client(app, world, "other").get(f"/stock/supply/units/{handed}").status_code == 404
    assert _client(app, world, "coach").get(f"/stock/supply/units/{handed}").status_code == 403


def test_warranty_exchange_on_the_distribution_page(app, world):
    client = _client(app, world, "worker")
    page = f"/distributions/{world.distribution}"
    assert "Échange sous garantie" in text(client.get(page)) and world.phones[1] in text(client.get(page))
    refused = client.post(f"{page}/warranty-exchange", data={"replacement_serial": world.phones[1]})
    assert refused.status_code == 422 and "Choisissez une valeur" in text(refused)
    done = client.post(
        f"{page}/warranty-exchange", data={"replacement_serial": world.phones[1], "outcome": "defective"}
    )
    assert done.status_code == 302
    shown = text(client.get(page))
    assert "Remplacé le" in shown and world.phones[1] in shown
    receipt = text(client.get(f"{page}/receipt"))
    assert "Échange sous garantie" in receipt and world.phones[1] in receipt
    with app.app_context(), as_national():
        units = {u.serial: u.status for u in db.session.scalars(select(SerialUnit))}
    assert units[world.phones[0]] == UnitStatus.DEFECTIVE and units[world.phones[1]] == UnitStatus.DISTRIBUTED
