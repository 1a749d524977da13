"""Beneficiary registry API: allowed fields only, consent, birth year, phone, duplicates,
search, merge, erasure, export, diagnostics, roles."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import select

from relais_platform.accounts.models import Role
from relais_platform.audit.models import AuditEntry
from relais_platform.beneficiaries.models import Beneficiary
from relais_platform.extensions import db
from relais_platform.tenancy import TenantScope, tenant_session
from tests.factories import (
    bearer,
    beneficiary_data,
    make_accompaniment,
    make_beneficiary,
    make_relais,
    make_user,
)


@pytest.fixture
def relais(app) -> dict[str, Any]:
    # Each request gets its own app context (and session, and signed-in user).
    with app.app_context():
        relais = make_relais(name="Relais A")
        admin = make_user(Role.RELAIS_ADMIN, relais)
        worker = make_user(Role.RELAIS_WORKER, relais)
        return {"id": relais.id, "admin": bearer(admin), "worker": bearer(worker)}


@contextmanager
def in_relais(app, relais_id: int) -> Iterator[None]:
    with app.app_context(), tenant_session(db.session, TenantScope(relais_id=relais_id)):
        yield


def _create(client, headers, **overrides) -> Any:
    return client.post("/api/v1/beneficiaries", json=beneficiary_data(**overrides), headers=headers)


def test_create_returns_201_with_id_and_stores_consent_date(client, relais):
    response = _create(
        client,
        relais["worker"],
        first_name="Amina",
        last_name="Diallo",
        language="ar",
        situation="job_seeker",
        housing="emergency_shelter",
        banked="no",
        referrer="SIAO 33",
        nationality="outside_eu",
    )
    assert response.status_code == 201, response.json
    body = response.json
    assert isinstance(body["id"], int)
    assert body["consent"] is True and body["consent_at"]
    assert body["possible_duplicates"] == []
    assert (body["housing"], body["banked"], body["nationality"]) == ("emergency_shelter", "no", "outside_eu")


@pytest.mark.parametrize(
    "field, value",
    [
        ("nir", "187017512345678"),
        ("health", "diabète"),
        ("nationality_detail", "Érythrée"),
        ("birth_date", "1987-04-02"),
        ("income_cents", 50000),
        ("iban", "FR7630006000011234567890189"),
    ],
)
def test_any_field_outside_the_allowed_list_is_refused(app, client, relais, field, value):
    response = _create(client, relais["worker"], **{field: value})
    assert response.status_code == 422
    assert field in response.json["errors"]
    with in_relais(app, relais["id"]):
        assert db.session.scalars(select(Beneficiary)).all() == []


def test_patch_refuses_fields_outside_the_list_too(client, relais):
    created = _create(client, relais["worker"]).json
    response = client.patch(
        f"/api/v1/beneficiaries/{created['id']}", json={"health": "x"}, headers=relais["worker"]
    )
    assert response.status_code == 422 and "health" in response.json["errors"]


@pytest.mark.parametrize("consent", [False, None, "yes"])
def test_consent_is_required(client, relais, consent):
    data = beneficiary_data(consent=consent)
    if consent is None:
        del data["consent"]
    response = client.post("/api/v1/beneficiaries", json=data, headers=relais["worker"])
    assert response.status_code == 422 and "consent" in response.json["errors"]


@pytest.mark.parametrize("birth_year", ["1987-04-02", "1987", 1800, 2999, 19870402, 1987.5])
def test_birth_year_is_a_plausible_year_never_a_date(client, relais, birth_year):
    response = _create(client, relais["worker"], birth_year=birth_year)
    assert response.status_code == 422 and "birth_year" in response.json["errors"]


@pytest.mark.parametrize(
    "phone, no_phone, ok",
    [
        ("06 12 34 56 78", False, True),
        (None, True, True),
        ("06 12 34 56 78", True, False),
        (None, False, False),
        ("abc", False, False),
    ],
)
def test_phone_or_no_phone_exactly_one(client, relais, phone, no_phone, ok):
    response = _create(client, relais["worker"], phone=phone, no_phone=no_phone)
    assert response.status_code == (201 if ok else 422)
    if not ok:
        assert "phone" in response.json["errors"]


def test_patch_switching_to_no_phone_drops_the_number(client, relais):
    created = _create(client, relais["worker"]).json
    response = client.patch(
        f"/api/v1/beneficiaries/{created['id']}", json={"no_phone": True}, headers=relais["worker"]
    )
    assert response.status_code == 200
    assert (response.json["phone"], response.json["no_phone"]) == (None, True)
    response = client.patch(
        f"/api/v1/beneficiaries/{created['id']}", json={"phone": "0700000000"}, headers=relais["worker"]
    )
    assert (response.json["phone"], response.json["no_phone"]) == ("0700000000", False)


def test_enumerations_are_fixed_lists(client, relais):
    for field in ("language", "situation", "housing", "banked", "nationality"):
        response = _create(client, relais["worker"], **{field: "something_else"})
        assert response.status_code == 422 and field in response.json["errors"]


def test_likely_duplicates_are_flagged_but_created(client, relais):
    first = _create(client, relais["worker"], first_name="Élodie", last_name="Martin", birth_year=1990).json
    other_year = _create(
        client, relais["worker"], first_name="Elodie", last_name="Martin", birth_year=1975
    ).json
    response = _create(client, relais["worker"], first_name="elodie", last_name="MARTINE", birth_year=1990)
    assert response.status_code == 201
    assert response.json["possible_duplicates"] == [first["id"]]
    assert other_year["id"] not in response.json["possible_duplicates"]


def test_search_ignores_accents_and_case_and_tolerates_typos(client, relais):
    elodie = _create(client, relais["worker"], first_name="Élodie", last_name="Martin").json["id"]
    _create(client, relais["worker"], first_name="Jean", last_name="Dupont")
    for q in ("elodie", "ÉLODIE", "Eloddie", "martin elodie", "Élodie Martin"):
        response = client.get("/api/v1/beneficiaries", query_string={"q": q}, headers=relais["worker"])
        assert response.status_code == 200
        assert [b["id"] for b in response.json] == [elodie], q
    everyone = client.get("/api/v1/beneficiaries", headers=relais["worker"])
    assert everyone.headers["X-Total-Count"] == "2"


def test_search_is_paginated(app, client, relais):
    with app.app_context():
        for n in range(5):
            make_beneficiary(relais["id"], first_name="Karim", last_name=f"Benali{n}")
    response = client.get(
        "/api/v1/beneficiaries",
        query_string={"q": "karim", "per_page": 2, "page": 2},
        headers=relais["worker"],
    )
    assert len(response.json) == 2 and response.headers["X-Total-Count"] == "5"


def test_get_patch_and_audited_field_names(app, client, relais):
    created = _create(client, relais["worker"]).json
    url = f"/api/v1/beneficiaries/{created['id']}"
    assert client.get(url, headers=relais["worker"]).json["first_name"] == "Élodie"
    response = client.patch(
        url, json={"situation": "student", "note": "Vient le mardi."}, headers=relais["worker"]
    )
    assert response.status_code == 200 and response.json["situation"] == "student"
    with in_relais(app, relais["id"]):
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "beneficiary_updated")).one()
        assert entry.details == {"fields": ["note", "situation"]}


def test_consent_cannot_be_patched(client, relais):
    created = _create(client, relais["worker"]).json
    response = client.patch(
        f"/api/v1/beneficiaries/{created['id']}", json={"consent": False}, headers=relais["worker"]
    )
    assert response.status_code == 422


def test_diagnostic_is_recorded_with_level_needs_and_date(client, relais):
    created = _create(client, relais["worker"]).json
    url = f"/api/v1/beneficiaries/{created['id']}/diagnostics"
    response = client.post(
        url,
        json={"level": "beginner", "needs": ["email", "online_administration"], "assessed_on": "2026-02-01"},
        headers=relais["worker"],
    )
    assert response.status_code == 201, response.json
    assert response.json["needs"] == ["email", "online_administration"]
    assert client.post(url, json={"level": "expert"}, headers=relais["worker"]).status_code == 422
    assert (
        client.post(
            url, json={"level": "beginner", "needs": ["mental_health"]}, headers=relais["worker"]
        ).status_code
        == 422
    )
    listed = client.get(url, headers=relais["worker"]).json
    assert [d["level"] for d in listed] == ["beginner"]


def test_only_the_relais_admin_exports_erases_and_merges(client, relais):
    one = _create(client, relais["worker"]).json["id"]
    two = _create(client, relais["worker"]).json["id"]
    worker = relais["worker"]
    assert client.get(f"/api/v1/beneficiaries/{one}/export", headers=worker).status_code == 403
    assert client.delete(f"/api/v1/beneficiaries/{one}", headers=worker).status_code == 403
    assert (
        client.post(
            "/api/v1/beneficiaries/merge", json={"keep_id": one, "merge_id": two}, headers=worker
        ).status_code
        == 403
    )


def test_export_json_and_pdf(app, client, relais):
    person = _create(
        client, relais["worker"], first_name="Oksana", last_name="Kovalenko", language="uk"
    ).json["id"]
    with app.app_context():
        make_accompaniment(relais["id"], [person])
    response = client.get(f"/api/v1/beneficiaries/{person}/export", headers=relais["admin"])
    assert response.status_code == 200
    data = response.json
    assert data["beneficiary"]["last_name"] == "Kovalenko" and data["beneficiary"]["language"] == "uk"
    assert [s["kind"] for s in data["sessions"]] == ["atelier_thematique"]
    pdf = client.get(f"/api/v1/beneficiaries/{person}/export?format=pdf", headers=relais["admin"])
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")


def test_merge_moves_participations_and_deletes_the_other_record(app, client, relais):
    keep = _create(
        client, relais["worker"], first_name="Moussa", last_name="Traoré", phone=None, no_phone=True
    ).json["id"]
    other = _create(client, relais["worker"], first_name="Mousa", last_name="Traore", language="fr").json[
        "id"
    ]
    with app.app_context():
        both = make_accompaniment(relais["id"], [keep, other])
    with app.app_context():
        only_other = make_accompaniment(relais["id"], [other])
    client.post(
        f"/api/v1/beneficiaries/{other}/diagnostics", json={"level": "beginner"}, headers=relais["worker"]
    )
    response = client.post(
        "/api/v1/beneficiaries/merge", json={"keep_id": keep, "merge_id": other}, headers=relais["admin"]
    )
    assert response.status_code == 200, response.json
    assert response.json["language"] == "fr"  # an empty field of the kept record is filled
    assert client.get(f"/api/v1/beneficiaries/{other}", headers=relais["worker"]).status_code == 404
    sessions = client.get("/api/v1/accompaniments", headers=relais["worker"]).json
    assert {s["id"]: s["beneficiary_ids"] for s in sessions} == {both: [keep], only_other: [keep]}
    assert len(client.get(f"/api/v1/beneficiaries/{keep}/diagnostics", headers=relais["worker"]).json) == 1
    with in_relais(app, relais["id"]):
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "beneficiaries_merged")
        ).one()
        assert (entry.target_id, entry.details) == (keep, {"merged_id": other})


def test_merge_of_a_record_with_itself_is_refused(client, relais):
    one = _create(client, relais["worker"]).json["id"]
    response = client.post(
        "/api/v1/beneficiaries/merge", json={"keep_id": one, "merge_id": one}, headers=relais["admin"]
    )
    assert response.status_code == 422, response.json


def test_unknown_id_is_404(client, relais):
    assert client.get("/api/v1/beneficiaries/999999", headers=relais["worker"]).status_code == 404
