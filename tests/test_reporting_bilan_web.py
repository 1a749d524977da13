"""The bilan's web page for each role (figures, previous year, charts with data tables), and
the export buttons: a job with a progress page, then the download link."""

from __future__ import annotations

import pytest
from flask import Flask
from rq import SimpleWorker
from sqlalchemy import select

from relais_platform import jobs
from relais_platform.accounts.models import Role, User
from relais_platform.extensions import db
from relais_platform.tenants.models import Relais
from tests.reporting_helpers import NAMES, make_bilan_world


@pytest.fixture
def world(app_ctx, owner_engine):
    w = make_bilan_world(owner_engine)
    for relais in db.session.scalars(select(Relais)):
        relais.terms_accepted_at = relais.created_at
    db.session.commit()
    users = {role: db.session.scalar(select(User.id).where(User.role == role).order_by(User.id).limit(1))
             for role in (Role.NATIONAL, Role.COACH)}
    w.national_id, w.coach_id = users[Role.NATIONAL], users[Role.COACH]
    w.admin_id = db.session.scalar(select(User.id).where(User.role == Role.RELAIS_ADMIN,
                                                          User.relais_id == w.a))
    db.session.remove()
    return w


def browser(app: Flask, user_id: int):
    return app.test_client(user=db.session.get(User, user_id))


def page(client, **params) -> str:
    response = client.get("/rapports/bilan", query_string=params)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_relais_page_shows_its_figures_previous_year_charts_and_tables(app, world):
    html = page(browser(app, world.admin_id), year=world.y)
    assert f"Bilan annuel {world.y}" in html and "Relais Garonne" in html
    assert f'<th scope="col" class="num">{world.p}</th>' in html
    # Activity, distributions, hours, and new people per kind of referring structure.
    assert html.count('role="img"') == 4
    assert html.count("Données du graphique") == 4
    assert "structures ont orienté" in html
    assert "KIT-CR" in html
    for name in NAMES:
        assert name not in html
    # No relais picker for relais staff.
    assert 'name="relais_id"' not in html.split("<form method=\"post\"")[0]


def test_national_page_filters_by_relais_departement_and_region(app, world):
    client = browser(app, world.national_id)
    html = page(client, year=world.y)
    assert "Réseau national" in html and 'name="departement"' in html and 'name="region"' in html
    assert "Relais Hors Portefeuille" in html  # in the relais picker
    assert "Département 05" in page(client, year=world.y, departement="05")
    assert "Provence-Alpes-Côte d&#39;Azur" in page(client, year=world.y, region="Provence-Alpes-Côte d'Azur")
    assert "Relais Dordogne —" not in html
    assert "Relais Dordogne" in page(client, year=world.y, relais_id=world.b)
    bad = client.get("/rapports/bilan", query_string={"year": "1800"})
    assert bad.status_code == 422 and "Indiquez une année" in bad.get_data(as_text=True)


def test_coach_page_is_its_portfolio(app, world):
    client = browser(app, world.coach_id)
    html = page(client, year=world.y)
    assert "Portefeuille de" in html and "Relais Hors Portefeuille" not in html
    for name in NAMES:
        assert name not in html
    assert client.get("/rapports/bilan", query_string={"relais_id": world.c}).status_code == 404


def test_export_button_shows_progress_then_the_download_link(app, world):
    client = browser(app, world.national_id)
    response = client.post("/rapports/bilan/export", data={"year": str(world.y), "format": "csv",
                                                           "relais_id": "", "departement": "05",
                                                           "region": ""})
    assert response.status_code == 302
    status_page = response.headers["Location"]
    waiting = client.get(status_page).get_data(as_text=True)
    assert "<progress" in waiting and 'http-equiv="refresh"' in waiting
    with app.app_context():
        SimpleWorker([jobs.queue("reports")], connection=jobs.redis_connection()).work(burst=True)
    done = client.get(status_page).get_data(as_text=True)
    assert "<progress" not in done and "Télécharger le fichier (CSV)" in done
    download = client.get(status_page + "/fichier")
    assert download.status_code == 200 and b"Personnes accompagn" in download.data
    assert f"bilan-{world.y}-departement.csv" in download.headers["Content-Disposition"]
    other = browser(app, world.coach_id)
    assert other.get(status_page).status_code == 404
    assert other.get(status_page + "/fichier").status_code == 404


def test_export_with_a_bad_format_is_refused_with_a_message(app, world):
    client = browser(app, world.admin_id)
    response = client.post("/rapports/bilan/export", data={"year": str(world.y), "format": "docx"},
                           follow_redirects=True)
    assert "Choisissez le format pdf, xlsx ou csv." in response.get_data(as_text=True)
    assert jobs.queue("reports").count == 0
