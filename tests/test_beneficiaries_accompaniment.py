"""Accompaniment: sessions with named and anonymous participants, hours, parcours, diagnostics."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from relais_platform.accounts.models import Role
from relais_platform.beneficiaries import accompaniment
from relais_platform.beneficiaries.models import Beneficiary
from relais_platform.extensions import db
from relais_platform.tenancy import TenantScope, tenant_session
from tests.factories import bearer, make_beneficiary, make_relais, make_user


@pytest.fixture
def relais(app) -> dict[str, Any]:
    with app.app_context():
        relais = make_relais()
        relais_id = relais.id
        tokens = {
            "admin": bearer(make_user(Role.RELAIS_ADMIN, relais)),
            "worker": bearer(make_user(Role.RELAIS_WORKER, relais)),
        }
        people = [make_beneficiary(relais_id) for _ in range(3)]
        return {"id": relais_id, "people": people, **tokens}


def _session(client, relais, **data) -> Any:
    body = {
        "kind": "atelier_thematique",
        "theme": "employment",
        "date": "2026-03-10",
        "duration_minutes": 120,
    } | data
    return client.post("/api/v1/accompaniments", json=body, headers=relais["worker"])


def test_session_with_named_and_anonymous_participants(client, relais):
    response = _session(client, relais, beneficiary_ids=relais["people"][:2], anonymous_count=3)
    assert response.status_code == 201, response.json
    assert response.json["participants"] == 5 and response.json["beneficiary_ids"] == relais["people"][:2]
    listed = client.get("/api/v1/accompaniments", headers=relais["worker"]).json
    assert [(s["participants"], s["date"]) for s in listed] == [(5, "2026-03-10")]


@pytest.mark.parametrize(
    "data, field",
    [
        ({}, "beneficiary_ids"),  # nobody at all
        ({"anonymous_count": -1}, "anonymous_count"),
        ({"anonymous_count": 1, "duration_minutes": 0}, "duration_minutes"),
        ({"anonymous_count": 1, "kind": "cours"}, "kind"),
        ({"anonymous_count": 1, "theme": "religion"}, "theme"),
        ({"anonymous_count": 1, "beneficiary_names": ["x"]}, "beneficiary_names"),
        ({"beneficiary_ids": [999999]}, "beneficiary_ids"),
        ({"anonymous_count": 1, "date": "2999-01-01"}, "date"),
    ],
)
def test_session_rules(client, relais, data, field):
    response = _session(client, relais, **data)
    assert response.status_code == 422 and field in response.json["errors"], response.json


def test_anonymous_only_session_is_allowed(client, relais):
    response = _session(client, relais, kind="permanence", theme=None, anonymous_count=4)
    assert response.status_code == 201 and response.json["beneficiary_ids"] == []


def test_participation_updates_last_seen_never_backwards(client, relais, owner_engine):
    person = relais["people"][0]
    with owner_engine.begin() as conn:
        conn.execute(
            text("UPDATE beneficiaries SET last_seen_at = '2025-01-01' WHERE id = :i"), {"i": person}
        )
    url = f"/api/v1/beneficiaries/{person}"
    _session(client, relais, beneficiary_ids=[person], date="2026-11-01")
    assert client.get(url, headers=relais["worker"]).json["last_seen_at"].startswith("2026-11-01")
    _session(client, relais, beneficiary_ids=[person], date="2026-10-01")
    assert client.get(url, headers=relais["worker"]).json["last_seen_at"].startswith("2026-11-01")


def test_hours_are_the_sum_of_duration_times_participants(app, client, relais):
    a, b, c = relais["people"]
    _session(client, relais, beneficiary_ids=[a, b], anonymous_count=3, duration_minutes=120)  # 600 min
    _session(client, relais, anonymous_count=1, duration_minutes=90, date="2026-03-31")  # 90 min
    _session(client, relais, beneficiary_ids=[c], duration_minutes=60, date="2026-04-01")  # next period
    with app.app_context(), tenant_session(db.session, TenantScope(relais_id=relais["id"])):
        hours = accompaniment.accompaniment_hours(relais["id"], date(2026, 3, 1), date(2026, 4, 1))
        assert hours == Decimal("11.50")
    response = client.get(
        "/api/v1/accompaniments/hours",
        query_string={"start": "2026-03-01", "end": "2026-04-01"},
        headers=relais["worker"],
    )
    assert response.json["hours"] == "11.50"


def test_parcours_is_completed_when_its_sessions_are_done(client, relais):
    created = client.post(
        "/api/v1/parcours",
        json={"name": "Cycle d'initiation", "kind": "initiation", "sessions_required": 3},
        headers=relais["admin"],
    )
    assert created.status_code == 201
    parcours_id = created.json["id"]
    assert (
        client.post(
            "/api/v1/parcours",
            json={"name": "Cycle d'initiation", "kind": "initiation", "sessions_required": 3},
            headers=relais["admin"],
        ).status_code
        == 409
    )
    x, y, _z = relais["people"]
    for day, people in (("2026-02-02", [x, y]), ("2026-02-09", [x, y]), ("2026-02-16", [x])):
        response = _session(
            client, relais, kind="initiation", date=day, beneficiary_ids=people, parcours_id=parcours_id
        )
        assert response.status_code == 201
    progress_x = client.get(f"/api/v1/beneficiaries/{x}/parcours", headers=relais["worker"]).json
    progress_y = client.get(f"/api/v1/beneficiaries/{y}/parcours", headers=relais["worker"]).json
    assert progress_x == [
        {
            "parcours_id": parcours_id,
            "name": "Cycle d'initiation",
            "attended": 3,
            "required": 3,
            "started_on": "2026-02-02",
            "completed_on": "2026-02-16",
        }
    ]
    assert progress_y[0]["attended"] == 2 and progress_y[0]["completed_on"] is None


def test_only_the_admin_defines_parcours(client, relais):
    response = client.post(
        "/api/v1/parcours",
        json={"name": "P", "kind": "initiation", "sessions_required": 9},
        headers=relais["worker"],
    )
    assert response.status_code == 403


def test_erasure_keeps_hours_and_participations(app, client, relais):
    a, b, _c = relais["people"]
    _session(client, relais, beneficiary_ids=[a, b], anonymous_count=1)
    hours = client.get(
        "/api/v1/accompaniments/hours",
        query_string={"start": "2026-01-01", "end": "2027-01-01"},
        headers=relais["worker"],
    ).json["hours"]
    assert client.delete(f"/api/v1/beneficiaries/{a}", headers=relais["admin"]).status_code == 204
    assert (
        client.get(
            "/api/v1/accompaniments/hours",
            query_string={"start": "2026-01-01", "end": "2027-01-01"},
            headers=relais["worker"],
        ).json["hours"]
        == hours
        == "6.00"
    )
    with app.app_context(), tenant_session(db.session, TenantScope(relais_id=relais["id"])):
        erased = db.session.get(Beneficiary, a)
        assert erased.anonymised_at is not None and (erased.first_name, erased.last_name) == ("", "")
