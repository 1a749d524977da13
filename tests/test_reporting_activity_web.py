"""Web pages of the activity report and of funders and agreements: menus, figures protected
outside the relais, forms redisplayed with messages, exports as background jobs."""

from __future__ import annotations

import pytest
from flask import Flask
from rq import SimpleWorker
from sqlalchemy import select

from relais_platform import jobs
from relais_platform.accounts.models import Role, User
from relais_platform.extensions import db
from relais_platform.reporting.funders.models import Convention, Funder
from relais_platform.tenants.models import Relais
from tests.reporting_helpers import NAMES, make_bilan_world


@pytest.fixture
def world(app_ctx, owner_engine):
    w = make_bilan_world(owner_engine)
    for relais in db.session.scalars(select(Relais)):
        relais.terms_accepted_at = relais.created_at
    db.session.commit()
    first = {role: db.session.scalar(select(User.id).where(User.role == role).order_by(User.id).limit(1))
             for role in (Role.NATIONAL, Role.COACH)}
    w.national_id, w.coach_id = first[Role.NATIONAL], first[Role.COACH]
    w.admin_id = db.session.scalar(select(User.id).where(User.role == Role.RELAIS_ADMIN,
                                                          User.relais_id == w.a))
    db.session.remove()
    return w


def browser(app: Flask, user_id: int):
    return app.test_client(user=db.session.get(User, user_id))


def year(w):
    return {"from": f"{w.y}-01-01", "to": f"{w.y}-12-31"}


def test_menus_lead_to_the_report_and_the_agreements(app, world):
    national = browser(app, world.national_id).get("/rapports/bilan").get_data(as_text=True)
    assert 'href="/rapports/activite"' in national and "Financeurs et conventions" in national
    coach = browser(app, world.coach_id).get("/rapports/bilan").get_data(as_text=True)
    assert 'href="/rapports/activite"' in coach and 'href="/rapports/conventions"' in coach
    admin = browser(app, world.admin_id).get("/rapports/bilan").get_data(as_text=True)
    assert 'href="/rapports/conventions"' in admin


def test_relais_page_is_exact_and_national_page_protected(app, world):
    own = browser(app, world.admin_id).get("/rapports/activite", query_string=year(world))
    assert own.status_code == 200
    html = own.get_data(as_text=True)
    assert "Rapport d&#39;activité" in html and "&lt;5" not in html
    assert "Situation" in html and "Type de séance" in html and "Atelier thématique" in html
    assert "Structure orienteuse" in html
    assert html.count('role="img"') >= 5
    national = browser(app, world.national_id).get(
        "/rapports/activite", query_string={**year(world), "relais_id": world.a}).get_data(as_text=True)
    assert "&lt;5" in national and "Secret statistique" in national
    for name in NAMES:
        assert name not in html and name not in national


def test_bad_period_is_shown_with_a_message(app, world):
    response = browser(app, world.admin_id).get("/rapports/activite", query_string={"from": "2025-12-31",
                                                                                  "to": "2025-01-01"})
    assert response.status_code == 422
    assert "La fin de la période précède son début." in response.get_data(as_text=True)


def test_export_button_queues_a_job_then_offers_the_file(app, world):
    client = browser(app, world.national_id)
    response = client.post("/rapports/activite/export", data={**year(world), "format": "pdf", "relais_id": "",
                                                               "departement": "05", "region": "",
                                                               "convention_id": ""})
    assert response.status_code == 302
    status_page = response.headers["Location"]
    with app.app_context():
        SimpleWorker([jobs.queue("reports")], connection=jobs.redis_connection()).work(burst=True)
    download = client.get(status_page + "/fichier")
    assert download.status_code == 200 and download.data.startswith(b"%PDF-")
    assert f"activite-{world.y}-01-01-{world.y}-12-31.pdf" in download.headers["Content-Disposition"]


def test_national_creates_a_funder_and_an_agreement_on_the_web(app, world):
    client = browser(app, world.national_id)
    page = client.get("/rapports/conventions")
    assert page.status_code == 200 and "Nouvelle convention" in page.get_data(as_text=True)
    created = client.post("/rapports/conventions/financeurs", data={"name": "SFR", "kind": "company"})
    assert created.status_code == 302
    funder_id = db.session.scalar(select(Funder.id).where(Funder.name == "SFR"))
    bad = client.post("/rapports/conventions/nouvelle", data={
        "funder_id": funder_id, "name": "Hautes-Alpes", "starts_on": "2026-01-01", "ends_on": "2025-01-01",
        "departements": "05", "targets": "beneficiaries = 1000\nlicornes = 3"})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert "La fin de la convention précède son début." in html and "licornes" in html
    assert db.session.scalar(select(Convention.id)) is None
    done = client.post("/rapports/conventions/nouvelle", data={
        "funder_id": funder_id, "name": "Hautes-Alpes", "starts_on": f"{world.y}-01-01",
        "ends_on": f"{world.y}-12-31", "departements": "05", "targets": "beneficiaries = 10"})
    assert done.status_code == 302
    detail = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Objectifs et réalisé" in detail and "beneficiaries" in detail
    # B (Gap, in the portfolio) is covered: the coach reads it, relais A's admin does not.
    convention_id = db.session.scalar(select(Convention.id))
    assert browser(app, world.coach_id).get(f"/rapports/conventions/{convention_id}").status_code == 200
    assert browser(app, world.admin_id).get(f"/rapports/conventions/{convention_id}").status_code == 404
    listed = browser(app, world.admin_id).get("/rapports/conventions").get_data(as_text=True)
    assert "Hautes-Alpes" not in listed
