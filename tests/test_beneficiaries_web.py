"""Web pages of the registry: thin views over the services, relais staff only."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from relais_platform.accounts.models import Role, User
from relais_platform.beneficiaries.demo import load_demo_beneficiaries
from relais_platform.beneficiaries.models import AccompanimentSession, Beneficiary, Diagnostic
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.tenancy import TenantScope, tenant_session
from tests.factories import make_beneficiary, make_relais, make_user
from tests.test_beneficiaries_privacy import login_as


@pytest.fixture
def relais(app) -> dict[str, Any]:
    with app.app_context():
        relais = make_relais()
        relais.terms_accepted_at = func.now()
        db.session.commit()
        relais_id = relais.id
        users = {
            "admin": make_user(Role.RELAIS_ADMIN, relais).id,
            "worker": make_user(Role.RELAIS_WORKER, relais).id,
            "national": make_user(Role.NATIONAL).id,
        }
        person = make_beneficiary(relais_id, first_name="Élodie", last_name="Martin", birth_year=1990)
        return {"id": relais_id, "users": users, "person": person}


def _client(app, relais, who):
    with app.app_context():
        return login_as(app, db.session.get(User, relais["users"][who]))


FORM = {
    "first_name": "Elodie",
    "last_name": "Martin",
    "birth_year": "1990",
    "phone": "0611223344",
    "language": "fr",
    "situation": "",
    "housing": "",
    "banked": "",
    "nationality": "",
    "referrer": "",
    "note": "",
    "consent": "y",
}


def test_create_form_warns_of_a_duplicate_then_creates_on_confirmation(app, relais):
    client = _client(app, relais, "worker")
    page = client.get("/beneficiaires/nouveau")
    assert page.status_code == 200 and "uniquement des faits" in page.get_data(as_text=True)
    warned = client.post("/beneficiaires/nouveau", data=FORM)
    assert warned.status_code == 200 and "peut-être déjà enregistrée" in warned.get_data(as_text=True)
    created = client.post("/beneficiaires/nouveau", data=FORM | {"confirm_duplicate": "y"})
    assert created.status_code == 302
    detail = client.get(created.headers["Location"])
    assert detail.status_code == 200 and "Diagnostic" in detail.get_data(as_text=True)


def test_create_form_records_the_diagnostic_taken_at_registration(app, relais):
    client = _client(app, relais, "worker")
    data = FORM | {"first_name": "Paul", "last_name": "Nouveau", "diagnostic_level": "beginner",
                   "diagnostic_needs": ["smartphone", "email"]}
    created = client.post("/beneficiaires/nouveau", data=data)
    assert created.status_code == 302
    person = int(created.headers["Location"].rstrip("/").split("/")[-1])
    with app.app_context(), tenant_session(db.session, TenantScope(relais_id=relais["id"])):
        diagnostic = db.session.scalars(select(Diagnostic).where(Diagnostic.beneficiary_id == person)).one()
        assert (diagnostic.level.value, diagnostic.needs) == ("beginner", ["smartphone", "email"])
        assert diagnostic.assessed_on == utcnow().date()
    # Without a level, no diagnostic yet (it can follow on the person's page).
    later = client.post("/beneficiaires/nouveau",
                        data=FORM | {"first_name": "Rose", "last_name": "Plus-Tard"})
    assert later.status_code == 302
    with app.app_context(), tenant_session(db.session, TenantScope(relais_id=relais["id"])):
        assert db.session.scalar(select(func.count()).select_from(Diagnostic)) == 1


def test_create_form_requires_consent(app, relais):
    client = _client(app, relais, "worker")
    response = client.post(
        "/beneficiaires/nouveau", data=FORM | {"consent": "", "first_name": "Paul", "last_name": "Nouveau"}
    )
    assert response.status_code == 422 and "consentement" in response.get_data(as_text=True)


def test_list_search_detail_and_edit(app, relais):
    client = _client(app, relais, "worker")
    listing = client.get("/beneficiaires/", query_string={"q": "eloddie"})
    assert listing.status_code == 200 and "Martin" in listing.get_data(as_text=True)
    url = f"/beneficiaires/{relais['person']}"
    assert client.get(url).status_code == 200
    edited = client.post(f"{url}/modifier", data=FORM | {"situation": "student", "consent": ""})
    assert edited.status_code == 302
    diagnostic = client.post(
        f"{url}/diagnostic", data={"level": "beginner", "needs": ["email"], "assessed_on": "2026-02-01"}
    )
    assert diagnostic.status_code == 302
    assert "Messagerie" in client.get(url).get_data(as_text=True)


def test_workers_see_no_rights_buttons_and_cannot_erase(app, relais):
    client = _client(app, relais, "worker")
    assert "Effacer" not in client.get(f"/beneficiaires/{relais['person']}").get_data(as_text=True)
    assert client.post(f"/beneficiaires/{relais['person']}/effacer").status_code == 403
    assert client.get(f"/beneficiaires/{relais['person']}/export.pdf").status_code == 403


def test_admin_erases_after_confirmation_and_exports(app, relais):
    client = _client(app, relais, "admin")
    url = f"/beneficiaires/{relais['person']}"
    assert client.get(f"{url}/export.json").mimetype == "application/json"
    assert client.get(f"{url}/export.pdf").data.startswith(b"%PDF")
    confirm = client.get(f"{url}/effacer")
    assert confirm.status_code == 200 and "irréversible" in confirm.get_data(as_text=True)
    assert client.post(f"{url}/effacer").status_code == 302
    assert client.get(url).status_code == 404


def test_session_form_with_named_and_anonymous_participants(app, relais):
    client = _client(app, relais, "worker")
    found = client.post("/beneficiaires/accompagnement/nouvelle-seance", data={"q": "martin", "search": "1"})
    assert found.status_code == 200 and "Martin" in found.get_data(as_text=True)
    saved = client.post(
        "/beneficiaires/accompagnement/nouvelle-seance",
        data={
            "kind": "permanence",
            "theme": "",
            "date": "2026-03-03",
            "duration_minutes": "60",
            "parcours_id": "",
            "beneficiary_ids": [str(relais["person"])],
            "anonymous_count": "2",
        },
    )
    assert saved.status_code == 302
    listing = client.get("/beneficiaires/accompagnement")
    assert "1 nommé, 2 anonymes" in listing.get_data(as_text=True)
    # Hours of accompaniment = Σ duration × participants: 60 min × (1 + 2) this year.
    assert "<dd>3 h</dd>" in listing.get_data(as_text=True)


def test_national_users_get_403_on_the_pages(app, relais):
    client = _client(app, relais, "national")
    for url in ("/beneficiaires/", f"/beneficiaires/{relais['person']}", "/beneficiaires/accompagnement"):
        assert client.get(url).status_code == 403


def test_demo_loader_is_idempotent(app):
    def counts() -> tuple[int, int, list[str]]:
        with tenant_session(db.session, TenantScope(relais_id=relais_id)):
            return (db.session.scalar(select(func.count(Beneficiary.id))),
                    db.session.scalar(select(func.count(AccompanimentSession.id))),
                    list(db.session.scalars(select(Beneficiary.last_name))))

    with app.app_context():
        relais_id = make_relais(siret="26330041200016").id
        load_demo_beneficiaries()
        first = counts()
        load_demo_beneficiaries()
        assert counts() == first
        people, sessions, names = first
        assert people >= 7 and sessions > 10  # a year of workshops
        assert {"Marchand", "Sissoko", "Melnyk"} <= set(names)  # the named demo people


def test_another_relais_admin_gets_404_on_every_page_of_a_person(app, relais):
    with app.app_context():
        other = make_relais(name="Relais Voisin")
        other.terms_accepted_at = func.now()
        db.session.commit()
        other_id = other.id
        client = login_as(app, make_user(Role.RELAIS_ADMIN, other))
        foreign_person = make_beneficiary(other_id, first_name="Bertille", last_name="Ouvrard")
    url = f"/beneficiaires/{relais['person']}"
    for page in (url, f"{url}/modifier", f"{url}/export.json", f"{url}/export.pdf", f"{url}/effacer",
                 f"/beneficiaires/{foreign_person}/fusionner?merge_id={relais['person']}",
                 f"{url}/fusionner?merge_id={foreign_person}"):
        assert client.get(page).status_code == 404, page
    for page, data in ((f"{url}/modifier", FORM), (f"{url}/effacer", {}),
                       (f"{url}/diagnostic", {"level": "beginner", "assessed_on": "2026-02-01"}),
                       (f"/beneficiaires/{foreign_person}/fusionner", {"merge_id": relais["person"]})):
        assert client.post(page, data=data).status_code == 404, page
    # Nothing changed, and relais A's person is still there.
    with app.app_context(), tenant_session(db.session, TenantScope(relais_id=relais["id"])):
        person = db.session.get(Beneficiary, relais["person"])
        assert (person.first_name, person.anonymised_at) == ("Élodie", None)


def test_pages_showing_names_are_audited(app, relais):
    from relais_platform.audit.models import AuditEntry

    client = _client(app, relais, "admin")
    url = f"/beneficiaires/{relais['person']}"
    other = client.post("/beneficiaires/nouveau", data=FORM | {"first_name": "Élodie", "last_name": "Martin"})
    assert other.status_code == 200 and "peut-être déjà enregistrée" in other.get_data(as_text=True)
    for page in (f"{url}/modifier", f"{url}/effacer"):
        assert client.get(page).status_code == 200
    with app.app_context(), tenant_session(db.session, TenantScope(relais_id=relais["id"])):
        entries = [(e.action, e.target_id, e.details) for e in db.session.scalars(select(AuditEntry).where(
            AuditEntry.action.in_(["beneficiary_viewed", "beneficiary_searched"])))]
    viewed = [target for action, target, _details in entries if action == "beneficiary_viewed"]
    assert viewed.count(relais["person"]) == 2
    assert any(details and details.get("ids") == [relais["person"]] for action, _t, details in entries
               if action == "beneficiary_searched")


def test_a_new_person_form_reports_every_problem_at_once(app, relais):
    """The form's own checks and the registry's rules (consent, phone) in the same answer."""
    client = _client(app, relais, "worker")
    response = client.post("/beneficiaires/nouveau", data=FORM | {
        "first_name": "", "birth_year": "1990", "phone": "", "consent": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Indiquez le prénom." in page
    assert "Indiquez un numéro de téléphone ou cochez" in page
    assert "consentement de la personne est nécessaire" in page


def test_counts_agree_with_their_number(app, relais):
    client = _client(app, relais, "admin")
    created = client.post("/beneficiaires/accompagnement/parcours", data={
        "name": "Premiers pas", "kind": "initiation", "sessions_required": "1"})
    assert created.status_code in (200, 302)
    page = client.get("/beneficiaires/accompagnement").get_data(as_text=True)
    assert "1 séance" in page and "1 séances" not in page
