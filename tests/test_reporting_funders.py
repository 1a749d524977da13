"""Funders and agreements: the contract, who sees which, targets against actuals, earmarked
stock (refused outside the agreement's scope, counted when handed out), and the Hautes-Alpes
scenario with small numbers protected."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from rq import SimpleWorker

from relais_platform import jobs
from relais_platform.accounts.models import Role
from relais_platform.extensions import db
from relais_platform.reporting.activity.privacy import SMALL, WITHHELD
from relais_platform.stock.catalogue.models import Product
from relais_platform.stock.scope import local_today
from relais_platform.tenants.models import Relais
from tests.factories import (
    bearer,
    deliver_to_relais,
    imeis,
    make_accompaniment,
    make_beneficiary,
    make_distribution,
    make_order,
    make_product,
    make_relais,
    make_supplier,
    make_user,
)
from tests.test_reporting_bilan import assert_no_name


def _alpine(name: str) -> Relais:
    relais = make_relais(name=name, postcode="05000", city="Gap")
    relais.departement = "05"
    db.session.commit()
    return relais


@pytest.fixture
def w(app_ctx):
    """Gap and Briançon (Hautes-Alpes, one coach), Bordeaux (Gironde); a smartphone product;
    people accompanied this year in Gap: 7 job seekers, 5 employed, 2 students."""
    gap, briancon = _alpine("Relais Gap"), _alpine("Relais Briançon")
    bordeaux = make_relais(name="Relais Bordeaux")
    coach = make_user(Role.COACH)
    gap.coach_id = coach.id
    db.session.commit()
    gap, briancon, bordeaux = (SimpleNamespace(id=r.id) for r in (gap, briancon, bordeaux))
    phone = make_product(sku="SMARTPHONE-HA", name="Smartphone reconditionné", category="smartphone",
                         dimension="equipement", serial_kind="imei", unit_price_cents=0,
                         max_resale_price_cents=0, validity_days=None)
    world = SimpleNamespace(
        gap=gap.id, briancon=briancon.id, bordeaux=bordeaux.id, phone_id=phone.id,
        national=bearer(make_user(Role.NATIONAL)), coach=bearer(coach),
        other_coach=bearer(make_user(Role.COACH)),
        gap_admin=bearer(make_user(Role.RELAIS_ADMIN, db.session.get(Relais, gap.id))),
        gap_worker=bearer(make_user(Role.RELAIS_WORKER, db.session.get(Relais, gap.id))),
        bordeaux_admin=bearer(make_user(Role.RELAIS_ADMIN, db.session.get(Relais, bordeaux.id))),
        serials=imeis(500, 215),
    )
    # The day before (within the year): "today" differs between Paris and UTC around midnight.
    today = max(local_today() - timedelta(days=1), date(local_today().year, 1, 1))
    people = ([make_beneficiary(gap.id, situation="job_seeker") for _ in range(7)]
              + [make_beneficiary(gap.id, situation="employed") for _ in range(5)]
              + [make_beneficiary(gap.id, situation="student") for _ in range(2)])
    make_accompaniment(gap.id, people, date=today, duration_minutes=60, kind="permanence", theme=None)
    world.people, world.today = people, today
    db.session.remove()
    return world


def post(client, url, headers, payload, status=201):
    response = client.post(url, json=payload, headers=headers)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def hautes_alpes(client, w, **overrides):
    funder = post(client, "/api/v1/funders", w.national, {"name": "SFR", "kind": "company"})
    payload = {"funder_id": funder["id"], "name": "Smartphones solidaires des Hautes-Alpes",
               "starts_on": date(w.today.year, 1, 1).isoformat(),
               "ends_on": (date(w.today.year, 1, 1) + timedelta(days=547)).isoformat(),
               "departements": ["05"],
               "targets": {"beneficiaries": 1000, "accompaniment_hours": 100, "SMARTPHONE-HA": 215}}
    payload.update(overrides)
    return post(client, "/api/v1/conventions", w.national, payload)


def test_funders_contract_and_national_only(client, w):
    funder = post(client, "/api/v1/funders", w.national, {"name": "Département des Hautes-Alpes",
                                                           "kind": "public"})
    assert funder["name"] == "Département des Hautes-Alpes" and funder["kind"] == "public"
    listed = client.get("/api/v1/funders", headers=w.national).get_json()
    assert [f["id"] for f in listed] == [funder["id"]]
    bad = post(client, "/api/v1/funders", w.national, {"name": "X", "kind": "bank"}, status=422)
    assert "kind" in bad["errors"]
    twice = post(client, "/api/v1/funders", w.national, {"name": "Département des Hautes-Alpes",
                                                          "kind": "public"}, status=422)
    assert "name" in twice["errors"]
    assert client.get("/api/v1/funders", headers=w.coach).status_code == 403
    assert client.post("/api/v1/funders", json={"name": "Y", "kind": "other"},
                       headers=w.gap_admin).status_code == 403


def test_convention_contract_and_checks(client, w):
    convention = hautes_alpes(client, w)
    assert convention["departements"] == ["05"] and convention["relais_ids"] is None
    assert convention["targets"] == {"beneficiaries": 1000, "accompaniment_hours": 100, "SMARTPHONE-HA": 215}
    funder_id = convention["funder_id"]
    base = {"funder_id": funder_id, "name": "Bordeaux Métropole", "starts_on": "2026-01-01",
            "ends_on": "2026-12-31"}
    errors = post(client, "/api/v1/conventions", w.national,
                  {**base, "ends_on": "2025-01-01", "relais_ids": [w.bordeaux], "departements": ["33"],
                   "targets": {"unknown_thing": 3, "events": -1}}, status=422)["errors"]
    assert {"ends_on", "departements", "targets"} <= set(errors)
    assert "funder_id" in post(client, "/api/v1/conventions", w.national,
                               {**base, "funder_id": 999_999}, status=422)["errors"]
    assert "relais_ids" in post(client, "/api/v1/conventions", w.national,
                                {**base, "relais_ids": [999_999]}, status=422)["errors"]
    created = post(client, "/api/v1/conventions", w.national, {**base, "relais_ids": [w.bordeaux],
                                                               "targets": {"events": 12}})
    assert created["relais_ids"] == [w.bordeaux]
    assert client.post("/api/v1/conventions", json=base, headers=w.coach).status_code == 403


def test_coaches_and_relais_admins_see_the_agreements_covering_them(client, w):
    alpine = hautes_alpes(client, w)
    funder_id = alpine["funder_id"]
    gironde = post(client, "/api/v1/conventions", w.national,
                   {"funder_id": funder_id, "name": "Bordeaux Métropole", "starts_on": "2026-01-01",
                    "ends_on": "2026-12-31", "relais_ids": [w.bordeaux]})

    def ids(headers):
        response = client.get("/api/v1/conventions", headers=headers)
        assert response.status_code == 200
        return [c["id"] for c in response.get_json()]

    assert sorted(ids(w.national)) == sorted([alpine["id"], gironde["id"]])
    assert ids(w.coach) == [alpine["id"]] and ids(w.gap_admin) == [alpine["id"]]
    assert ids(w.bordeaux_admin) == [gironde["id"]] and ids(w.other_coach) == []
    for headers, convention, status in ((w.bordeaux_admin, alpine, 404), (w.other_coach, alpine, 404),
                                        (w.gap_admin, gironde, 404), (w.coach, alpine, 200)):
        assert client.get(f"/api/v1/conventions/{convention['id']}/report",
                          headers=headers).status_code == status
    assert client.get("/api/v1/conventions", headers=w.gap_worker).status_code == 403
    # The activity report narrowed to an agreement follows the same reach.
    query = {"from": "2026-01-01", "to": "2026-12-31", "convention_id": gironde["id"]}
    assert client.get("/api/v1/reports/activity", query_string=query, headers=w.gap_admin).status_code == 404


def _origin() -> dict:
    """Refurbished phones name their refurbisher, grade and wipe certificate (issue 16)."""
    return {"supplier_id": make_supplier().id, "grade": "A", "wipe_certificate": "WIPE-HA"}


def _receive(client, w, convention_id, serials):
    return post(client, "/api/v1/stock/receipts", w.national,
                {"sku": "SMARTPHONE-HA", "serials": serials, "convention_id": convention_id, **_origin()})


def _allocate(client, w, relais_id, quantity):
    order_id = make_order(relais_id, [("SMARTPHONE-HA", quantity)])
    return client.post(f"/api/v1/orders/{order_id}/allocation",
                       json={"lines": [{"sku": "SMARTPHONE-HA", "quantity": quantity}]}, headers=w.national)


def test_earmarked_units_go_only_to_relais_inside_the_agreement(client, w):
    convention = hautes_alpes(client, w)
    assert _receive(client, w, convention["id"], w.serials)["received"] == 215
    refused = _allocate(client, w, w.bordeaux, 10)
    assert refused.status_code == 409
    assert "Smartphones solidaires des Hautes-Alpes" in refused.get_json()["message"]
    assert _allocate(client, w, w.gap, 10).status_code == 200
    assert _allocate(client, w, w.briancon, 5).status_code == 200
    # Unearmarked units of the same product go anywhere.
    post(client, "/api/v1/stock/receipts", w.national,
         {"sku": "SMARTPHONE-HA", "serials": imeis(900, 3), **_origin()})
    assert _allocate(client, w, w.bordeaux, 3).status_code == 200
    assert _allocate(client, w, w.bordeaux, 1).status_code == 409
    unknown = post(client, "/api/v1/stock/receipts", w.national,
                   {"sku": "SMARTPHONE-HA", "serials": imeis(950, 1), "convention_id": 999_999, **_origin()},
                   status=422)
    assert "convention_id" in unknown["errors"]


def test_a_cancelled_order_gives_its_earmarked_units_back_to_the_agreement(client, w):
    convention = hautes_alpes(client, w)
    _receive(client, w, convention["id"], w.serials)
    order_id = make_order(w.gap, [("SMARTPHONE-HA", 200)])
    allocated = client.post(f"/api/v1/orders/{order_id}/allocation",
                            json={"lines": [{"sku": "SMARTPHONE-HA", "quantity": 200}]}, headers=w.national)
    assert allocated.status_code == 200
    cancelled = client.post(f"/api/v1/orders/{order_id}/cancel", json={"reason": "doublon"},
                            headers=w.national)
    assert cancelled.status_code == 200, cancelled.get_json()
    assert _allocate(client, w, w.bordeaux, 1).status_code == 409  # still earmarked
    assert _allocate(client, w, w.briancon, 215).status_code == 200  # all 215 back in the agreement
    report = client.get(f"/api/v1/conventions/{convention['id']}/report", headers=w.national).get_json()
    assert report["earmarked"]["SMARTPHONE-HA"]["allocated"] == 215


def test_hautes_alpes_scenario(client, w):
    """A national user creates the agreement with its targets and 215 earmarked smartphones;
    its report shows actual against target, small numbers protected outside Gap's own view."""
    convention = hautes_alpes(client, w)
    _receive(client, w, convention["id"], w.serials)
    assert _allocate(client, w, w.gap, 10).status_code == 200
    product = db.session.get(Product, w.phone_id)
    deliver_to_relais(w.gap, product, serials=w.serials[:10])
    for serial in w.serials[:3]:
        make_distribution(w.gap, "SMARTPHONE-HA", serial=serial, beneficiary_id=w.people[0], date=w.today)
    db.session.remove()

    national = client.get(f"/api/v1/conventions/{convention['id']}/report", headers=w.national)
    assert national.status_code == 200
    data = national.get_json()
    rows = {row["indicator"]: row for row in data["targets"]}
    assert rows["beneficiaries"] == {"indicator": "beneficiaries", "target": 1000, "actual": 14,
                                     "ratio": 0.014}
    assert rows["accompaniment_hours"]["actual"] == 14.0 and rows["accompaniment_hours"]["ratio"] == 0.14
    # Three smartphones handed out: a small number, protected, so no ratio either.
    assert rows["SMARTPHONE-HA"] == {"indicator": "SMARTPHONE-HA", "target": 215, "actual": SMALL,
                                     "ratio": None}
    assert data["earmarked"] == {"SMARTPHONE-HA": {"received": 215, "allocated": 10, "handed_out": SMALL}}
    situation = data["activity"]["breakdowns"]["situation"]
    assert situation == {"employed": WITHHELD, "job_seeker": 7, "student": SMALL}
    assert data["activity"]["scope"]["exact"] is False
    assert_no_name(data)

    own = client.get(f"/api/v1/conventions/{convention['id']}/report", headers=w.gap_admin).get_json()
    own_rows = {row["indicator"]: row for row in own["targets"]}
    assert own_rows["SMARTPHONE-HA"]["actual"] == 3
    assert own_rows["SMARTPHONE-HA"]["ratio"] == round(3 / 215, 3)
    assert own["earmarked"]["SMARTPHONE-HA"]["handed_out"] == 3
    assert own["activity"]["breakdowns"]["situation"] == {"employed": 5, "job_seeker": 7, "student": 2}


def test_convention_exports_are_background_jobs(app, client, w):
    convention = hautes_alpes(client, w)
    for fmt in ("pdf", "xlsx"):
        response = client.get(f"/api/v1/conventions/{convention['id']}/report/export",
                              query_string={"format": fmt}, headers=w.national)
        assert response.status_code == 202, response.get_json()
    assert client.get(f"/api/v1/conventions/{convention['id']}/report/export", query_string={"format": "csv"},
                      headers=w.national).status_code == 422
    with app.app_context():
        SimpleWorker([jobs.queue("reports")], connection=jobs.redis_connection()).work(burst=True)
    status = client.get(response.headers["Location"], headers=w.national).get_json()
    assert status["status"] == "finished", status
    file = client.get(status["download_url"], headers=w.national)
    assert file.status_code == 200 and file.data[:2] == b"PK"


def test_the_national_stock_page_receives_earmarked_units(app, client, w):
    from relais_platform.accounts.models import User
    from relais_platform.reporting.funders.models import EarmarkMovement

    convention = hautes_alpes(client, w)
    national = db.session.scalar(db.select(User).where(User.role == Role.NATIONAL).limit(1))
    page = app.test_client(user=national)
    assert "Stock fléché pour la convention" in page.get("/stock/national").get_data(as_text=True)
    bad = page.post("/stock/national/receipts", data={"receipt-sku": "SMARTPHONE-HA",
                                                      "receipt-serials": "\n".join(w.serials[:2]),
                                                      "receipt-convention_id": "douze"})
    assert bad.status_code == 422 and "Convention inconnue." in bad.get_data(as_text=True)
    done = page.post("/stock/national/receipts", data={"receipt-sku": "SMARTPHONE-HA",
                                                       "receipt-serials": "\n".join(w.serials[:2]),
                                                       "receipt-convention_id": str(convention["id"]),
                                                       "receipt-supplier_id": str(make_supplier().id),
                                                       "receipt-grade": "A",
                                                       "receipt-wipe_certificate": "WIPE-HA-2"})
    assert done.status_code == 302
    db.session.remove()
    assert db.session.scalar(db.select(db.func.sum(EarmarkMovement.quantity))) == 2
