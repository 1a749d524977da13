"""Home pages per role, national relais management, public applications, team management."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from relais_platform.accounts.models import Role, User
from relais_platform.extensions import db
from relais_platform.tenants.models import Relais, RelaisStatus
from tests.factories import PASSWORD, make_relais, make_user, relais_data
from tests.test_web_support import build, deliver_mail, login_as, make_signed_relais, query, text


def _relais(app, relais_id: int) -> Relais:
    return query(app, lambda: db.session.get(Relais, relais_id))


@pytest.fixture
def national(app):
    return build(app, make_user, Role.NATIONAL)


@pytest.fixture
def national_client(app, national):
    return login_as(app, national)


# --- home pages ----------------------------------------------------------------------


def test_national_home_lists_counts_and_filters(app, national_client):
    build(app, make_relais, name="CCAS de Bordeaux", postcode="33000", city="Bordeaux", kind="ccas")
    build(app, make_relais, name="Secours Populaire Gap", postcode="05000", city="Gap",
          kind="secours_populaire")
    build(app, make_relais, RelaisStatus.APPLIED, name="CADA de Briançon", postcode="05100",
          city="Briançon", kind="cada")
    html = text(national_client.get("/"))
    assert all(name in html for name in ("CCAS de Bordeaux", "Secours Populaire Gap", "CADA de Briançon"))
    assert "1 candidature attend une décision" in html
    assert "3 relais trouvés" in html

    def names(**params) -> set[str]:
        page = text(national_client.get("/", query_string=params))
        return {n for n in ("CCAS de Bordeaux", "Secours Populaire Gap", "CADA de Briançon") if n in page}

    assert names(status="applied") == {"CADA de Briançon"}
    assert names(kind="ccas") == {"CCAS de Bordeaux"}
    assert names(departement="05") == {"Secours Populaire Gap", "CADA de Briançon"}
    assert names(q="bordeaux") == {"CCAS de Bordeaux"}
    assert names(status="nonsense") == {"CCAS de Bordeaux", "Secours Populaire Gap", "CADA de Briançon"}


def test_national_home_is_paginated(app, national_client):
    for n in range(27):
        build(app, make_relais, name=f"Relais {n:02d}")
    first = text(national_client.get("/"))
    assert "Relais 00" in first and "Relais 24" in first and "Relais 25" not in first
    assert 'aria-label="Pagination"' in first
    second = text(national_client.get("/", query_string={"page": 2}))
    assert "Relais 25" in second and "Relais 26" in second and "Relais 00" not in second
    assert national_client.get("/", query_string={"page": 99}).status_code == 200


def test_coach_home_shows_its_portfolio_only(app):
    coach = build(app, make_user, Role.COACH)
    mine = build(app, make_relais, name="Relais suivi")
    other = build(app, make_relais, name="Relais d'un autre coach")

    def assign() -> None:
        db.session.get(Relais, mine.id).coach_id = coach.id
        db.session.commit()

    query(app, assign)
    client = login_as(app, coach)
    html = text(client.get("/"))
    assert "Mon portefeuille" in html and "Relais suivi" in html and "Relais d&#39;un autre coach" not in html
    detail = client.get(f"/relais/{mine.id}")
    assert detail.status_code == 200 and "Consultation seule." in text(detail)
    assert "Envoyer l'invitation" not in text(detail)
    assert client.get(f"/relais/{other.id}").status_code == 404
    assert client.get(f"/relais/{mine.id}/edit").status_code == 403
    assert client.post(f"/relais/{mine.id}/team", data={}).status_code == 403


def test_relais_home_shows_profile_and_team(app):
    relais = build(app, make_signed_relais, name="Restos du Cœur de Pau", postcode="64000", city="Pau")
    admin = build(app, make_user, Role.RELAIS_ADMIN, relais, name="Alice Admin")
    build(app, make_user, Role.RELAIS_WORKER, relais, name="Walid Worker")
    html = text(login_as(app, admin).get("/"))
    assert "Restos du Cœur de Pau" in html and "64000 Pau" in html
    assert "Alice Admin" in html and "Walid Worker" in html
    assert "Envoyer l'invitation" in html  # the admin manages the team


# --- national management -------------------------------------------------------------


def test_create_relais(app, national_client):
    data = relais_data(name="Centre social des Aubiers")
    response = national_client.post("/relais/new", data=data)
    assert response.status_code == 302
    relais = query(app, lambda: db.session.scalar(select(Relais).where(Relais.siret == data["siret"])))
    assert relais.name == "Centre social des Aubiers" and relais.status == RelaisStatus.ACTIVE
    assert response.headers["Location"] == f"/relais/{relais.id}"


def test_create_relais_with_invalid_siret_writes_nothing(app, national_client):
    data = relais_data(siret="12345678901234", postcode="99999")
    response = national_client.post("/relais/new", data=data)
    assert response.status_code == 422
    html = text(response)
    assert "Le SIRET doit comporter 14 chiffres avec une clé de contrôle valide." in html
    assert "Code postal français invalide." in html
    assert 'aria-describedby="siret-hint siret-error"' in html
    assert 'value="12345678901234"' in html  # what was typed is kept
    assert query(app, lambda: db.session.scalar(select(func.count()).select_from(Relais))) == 0


def test_create_relais_requires_dimensions(app, national_client):
    response = national_client.post("/relais/new", data=relais_data(dimensions=[]))
    assert response.status_code == 422
    assert 'href="#dimensions-0"' in text(response)


def test_only_national_creates_relais(app):
    relais = build(app, make_signed_relais)
    admin = build(app, make_user, Role.RELAIS_ADMIN, relais)
    assert login_as(app, admin).get("/relais/new").status_code == 403


def test_edit_relais(app, national_client):
    relais = build(app, make_relais, name="Ancien nom")
    form = national_client.get(f"/relais/{relais.id}/edit")
    assert 'value="Ancien nom"' in text(form)
    data = relais_data(name="Nouveau nom", siret=relais.siret)
    response = national_client.post(f"/relais/{relais.id}/edit", data=data)
    assert response.headers["Location"] == f"/relais/{relais.id}"
    assert _relais(app, relais.id).name == "Nouveau nom"
    duplicate = build(app, make_relais)
    clash = national_client.post(f"/relais/{duplicate.id}/edit", data={**data, "siret": relais.siret})
    assert clash.status_code == 422 and "Un relais avec ce SIRET existe déjà." in text(clash)


def test_status_transitions(app, national_client):
    relais = build(app, make_relais)
    page = text(national_client.get(f"/relais/{relais.id}"))
    assert 'value="suspended"' in page and 'value="closed"' in page and 'value="rejected"' not in page

    response = national_client.post(f"/relais/{relais.id}/status",
                                    data={"status": "suspended", "reason": "Impayés"})
    assert response.headers["Location"] == f"/relais/{relais.id}"
    assert _relais(app, relais.id).status == RelaisStatus.SUSPENDED

    refused = national_client.post(f"/relais/{relais.id}/status", data={"status": "rejected"})
    assert refused.status_code == 422
    assert "Passage impossible de « Suspendu » à « Refusé »." in text(refused)
    assert _relais(app, relais.id).status == RelaisStatus.SUSPENDED

    national_client.post(f"/relais/{relais.id}/status", data={"status": "active"})
    assert _relais(app, relais.id).status == RelaisStatus.ACTIVE


def test_closing_is_final_and_shuts_the_team_out(app, national_client):
    relais = build(app, make_signed_relais)
    worker = build(app, make_user, Role.RELAIS_WORKER, relais)
    member = login_as(app, worker)
    assert member.get("/").status_code == 200
    national_client.post(f"/relais/{relais.id}/status", data={"status": "closed", "reason": "Fin"})
    assert _relais(app, relais.id).status == RelaisStatus.CLOSED
    page = text(national_client.get(f"/relais/{relais.id}"))
    assert 'name="status"' not in page  # no move offered
    for status in ("active", "suspended"):
        assert national_client.post(f"/relais/{relais.id}/status",
                                    data={"status": status}).status_code == 422
    assert _relais(app, relais.id).status == RelaisStatus.CLOSED
    # The session the worker held ends; signing in again is refused.
    assert member.get("/").headers["Location"].startswith("/login")
    signed_out = app.test_client().post("/login", data={"email": worker.email, "password": PASSWORD})
    assert signed_out.status_code == 401


def test_approve_application_invites_the_contact(app, national_client):
    applicant = build(app, make_relais, RelaisStatus.APPLIED, name="CIDFF de la Gironde",
                      contact_name="Inès Contact", contact_email="ines@cidff.example.org")
    page = text(national_client.get(f"/relais/{applicant.id}"))
    assert "Approuver et inviter le contact" in page and "Refuser la candidature" in page
    response = national_client.post(f"/relais/{applicant.id}/approve")
    assert response.headers["Location"] == f"/relais/{applicant.id}"
    assert _relais(app, applicant.id).status == RelaisStatus.ACTIVE
    admin = query(app, lambda: db.session.scalar(select(User).where(User.email == "ines@cidff.example.org")))
    assert admin.role == Role.RELAIS_ADMIN and admin.relais_id == applicant.id
    [message] = deliver_mail(app)
    assert message["to"] == "ines@cidff.example.org"
    assert "CIDFF de la Gironde" in message["body"] and "/invitation/" in message["body"]


def test_reject_application(app, national_client):
    applicant = build(app, make_relais, RelaisStatus.APPLIED)
    national_client.post(f"/relais/{applicant.id}/status",
                         data={"status": "rejected", "reason": "Hors cible"})
    assert _relais(app, applicant.id).status == RelaisStatus.REJECTED
    assert deliver_mail(app) == []


def test_national_invites_an_admin_for_any_relais(app, national_client):
    relais = build(app, make_relais)
    response = national_client.post(f"/relais/{relais.id}/team", data={
        "invite-email": "referent@example.org", "invite-name": "Rémi Référent",
        "invite-role": "relais_admin"})
    assert response.headers["Location"] == f"/relais/{relais.id}"
    assert "Rémi Référent" in text(national_client.get(f"/relais/{relais.id}"))
    [message] = deliver_mail(app)
    assert message["to"] == "referent@example.org"


# --- public application --------------------------------------------------------------


def _application(**overrides) -> dict:
    data = relais_data(name="Accueil de jour APPASE", kind="accueil_de_jour", postcode="05100",
                       city="Briançon", contact_name="Paul Contact", contact_email="paul@appase.example.org",
                       contact_phone="04 92 00 00 00", application_message="Nous accueillons 80 personnes.")
    data.update(overrides)
    return data


def test_public_application(app, client, national):
    page = client.get("/relais/candidature")
    assert page.status_code == 200 and "Devenir Relais Numérique" in text(page)
    response = client.post("/relais/candidature", data=_application())
    assert response.headers["Location"] == "/relais/candidature/merci"
    assert "Candidature envoyée" in text(client.get("/relais/candidature/merci"))
    relais = query(app, lambda: db.session.scalar(
        select(Relais).where(Relais.name == "Accueil de jour APPASE")))
    assert relais.status == RelaisStatus.APPLIED and relais.departement == "05"
    assert relais.application_message == "Nous accueillons 80 personnes."
    [message] = deliver_mail(app)
    assert message["to"] == national.email
    assert "Accueil de jour APPASE" in message["body"] and f"/relais/{relais.id}" in message["body"]


def test_public_application_redisplays_errors(app, client):
    response = client.post("/relais/candidature", data=_application(contact_email="", siret="123"))
    assert response.status_code == 422
    assert "Ce champ est obligatoire." in text(response)
    assert query(app, lambda: db.session.scalar(select(func.count()).select_from(Relais))) == 0


def test_public_application_is_rate_limited(client):
    for _ in range(10):
        assert client.post("/relais/candidature", data={}).status_code == 422
    assert client.post("/relais/candidature", data={}).status_code == 429
    assert client.get("/relais/candidature").status_code == 200


# --- team management -----------------------------------------------------------------


@pytest.fixture
def team(app):
    relais = build(app, make_signed_relais)
    admin = build(app, make_user, Role.RELAIS_ADMIN, relais, name="Alice Admin")
    worker = build(app, make_user, Role.RELAIS_WORKER, relais, name="Walid Worker")
    return relais, admin, worker


def test_relais_admin_manages_the_team(app, team):
    relais, admin, worker = team
    client = login_as(app, admin)
    invited = client.post(f"/relais/{relais.id}/team", data={
        "invite-email": "Zoe@Example.org", "invite-name": "Zoé Nouvelle", "invite-role": "relais_worker"})
    assert invited.headers["Location"] == "/"
    user = query(app, lambda: db.session.scalar(select(User).where(User.email == "zoe@example.org")))
    assert user.relais_id == relais.id and user.role == Role.RELAIS_WORKER
    assert "Invitation en attente" in text(client.get("/"))
    assert len(deliver_mail(app)) == 1

    again = client.post(f"/relais/{relais.id}/team", data={
        "invite-email": "zoe@example.org", "invite-name": "Zoé", "invite-role": "relais_worker"})
    assert again.status_code == 422 and "Cette adresse e-mail est déjà utilisée." in text(again)

    client.post(f"/relais/{relais.id}/team/{worker.id}/active", data={"active": "0"})
    assert not query(app, lambda: db.session.get(User, worker.id).active)
    client.post(f"/relais/{relais.id}/team/{worker.id}/active", data={"active": "1"})
    assert query(app, lambda: db.session.get(User, worker.id).active)

    role_url, role_field = f"/relais/{relais.id}/team/{worker.id}/role", f"member-{worker.id}-role"
    client.post(role_url, data={role_field: "relais_admin"})
    assert query(app, lambda: db.session.get(User, worker.id).role) == Role.RELAIS_ADMIN
    bad = client.post(role_url, data={role_field: "national"})
    assert bad.status_code == 422 and "Rôle non autorisé" in text(bad)


def test_relais_admin_cannot_deactivate_itself(app, team):
    relais, admin, _worker = team
    client = login_as(app, admin)
    response = client.post(f"/relais/{relais.id}/team/{admin.id}/active", data={"active": "0"})
    assert response.status_code == 422
    assert "Vous ne pouvez pas désactiver votre propre compte." in text(response)
    assert query(app, lambda: db.session.get(User, admin.id).active)


def test_deactivated_user_is_signed_out(app, team):
    relais, admin, worker = team
    worker_client = login_as(app, worker)
    assert worker_client.get("/").status_code == 200
    login_as(app, admin).post(f"/relais/{relais.id}/team/{worker.id}/active", data={"active": "0"})
    assert worker_client.get("/").headers["Location"].startswith("/login")


def test_relais_worker_cannot_manage_the_team(app, team):
    relais, admin, worker = team
    client = login_as(app, worker)
    assert "Envoyer l'invitation" not in text(client.get("/"))
    assert client.post(f"/relais/{relais.id}/team", data={}).status_code == 403
    assert client.post(f"/relais/{relais.id}/team/{admin.id}/active", data={"active": "0"}).status_code == 403
    assert client.get(f"/relais/{relais.id}/edit").status_code == 403
