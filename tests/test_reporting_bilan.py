"""The annual bilan: every scope, the previous year, distinct people, hours, no name, 404s."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from relais_platform.extensions import db
from tests.reporting_helpers import NAMES, make_bilan_world

URL = "/api/v1/reports/annual"


@pytest.fixture
def world(app_ctx, owner_engine):
    return make_bilan_world(owner_engine)


def bilan(client, headers, **params):
    response = client.get(URL, query_string=params, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def assert_no_name(payload) -> None:
    body = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    for name in NAMES:
        assert name not in body


def test_relais_bilan_counts_each_figure(client, world):
    data = bilan(client, world.admin, year=world.y)
    assert data["year"] == world.y and data["scope"] == "relais"
    # Named people counted once whatever they attended or received; anonymous added.
    assert data["beneficiaries_named"] == 2
    assert data["beneficiaries_anonymous"] == 5
    assert data["beneficiaries"] == 7
    assert data["new_beneficiaries"] == 1  # person_a: 00:30 on 1 January, Paris time
    assert data["parcours_completed"] == 1
    assert data["accompaniment_hours"] == 11.0
    assert data["accompaniment_sessions"] == 2
    assert data["events"] == 2 and data["event_participants"] == 40
    assert data["governance_participations"] == 1
    assert data["distributions"] == {"KIT-CR": 1, "PHONE-D": 1, "REC-D": 2, "SIM-D": 1}
    assert data["distributions_by_category"] == {"sims": 1, "recharges": 2, "devices": 1, "kits": 1,
                                                 "other": 0}
    assert data["connect_refugees"] == {"kits": 1, "programme": 1}
    assert data["professionals_trained"] == 1
    assert data["relais_active"] == 1
    assert_no_name(data)


def test_previous_year_is_beside_it(client, world):
    previous = bilan(client, world.worker, year=world.y)["previous_year"]
    assert previous["year"] == world.p
    assert previous["beneficiaries_named"] == 1 and previous["beneficiaries_anonymous"] == 2
    assert previous["beneficiaries"] == 3
    assert previous["new_beneficiaries"] == 1  # person_a2, registered on 31 December
    assert previous["accompaniment_hours"] == 3.0
    assert previous["distributions"] == {"REC-D": 3}
    assert previous["governance_participations"] == 1 and previous["events"] == 0
    assert previous["professionals_trained"] == 0
    assert previous["relais_active"] == 1


def test_national_gets_the_network_and_one_relais(client, world):
    data = bilan(client, world.national, year=world.y)
    assert data["scope"] == "network"
    assert data["beneficiaries_named"] == 3 and data["beneficiaries_anonymous"] == 11
    assert data["accompaniment_hours"] == pytest.approx(11 + 1.5 + 4)
    assert data["distributions"]["REC-D"] == 3
    assert data["relais_active"] == 3
    assert_no_name(data)
    one = bilan(client, world.national, year=world.y, relais_id=world.b)
    assert one["scope"] == "relais"
    assert one["beneficiaries"] == 3 and one["accompaniment_hours"] == 1.5
    assert client.get(URL, query_string={"year": world.y, "relais_id": 999999},
                      headers=world.national).status_code == 404


def test_national_filters_by_departement_and_region(client, world):
    gironde = bilan(client, world.national, year=world.y, departement="33")
    assert gironde["scope"] == "departement"
    assert gironde["beneficiaries"] == 7 + 4 and gironde["relais_active"] == 2
    alps = bilan(client, world.national, year=world.y, region="Provence-Alpes-Côte d'Azur")
    assert alps["scope"] == "region"
    assert alps["beneficiaries"] == 3 and alps["relais_active"] == 1
    aquitaine = bilan(client, world.national, year=world.y, region="Nouvelle-Aquitaine")
    assert aquitaine["beneficiaries"] == gironde["beneficiaries"]
    response = client.get(URL, query_string={"year": world.y, "region": "Atlantide"}, headers=world.national)
    assert response.status_code == 422 and "region" in response.get_json()["errors"]


def test_coach_gets_its_portfolio_only(client, world):
    data = bilan(client, world.coach, year=world.y)
    assert data["scope"] == "portfolio"
    assert data["beneficiaries_named"] == 3 and data["beneficiaries_anonymous"] == 7
    assert data["relais_active"] == 2
    assert_no_name(data)
    assert bilan(client, world.coach, year=world.y, relais_id=world.a)["beneficiaries"] == 7
    # Outside the portfolio: as missing.
    assert client.get(URL, query_string={"year": world.y, "relais_id": world.c},
                      headers=world.coach).status_code == 404
    empty = bilan(client, world.other_coach, year=world.y)
    assert empty["beneficiaries"] == 0 and empty["relais_active"] == 0


def test_relais_user_gets_its_own_relais_only(client, world):
    assert client.get(URL, query_string={"year": world.y, "relais_id": world.b},
                      headers=world.admin).status_code == 404
    own = bilan(client, world.b_admin, year=world.y, relais_id=world.b)
    assert own["beneficiaries"] == 3 and own["distributions"] == {"REC-D": 1}
    assert bilan(client, world.c_admin, year=world.y)["beneficiaries"] == 4


@pytest.mark.parametrize("year", ["", "abc", "1999", "3000", "2024.5"])
def test_bad_year_is_422(client, world, year):
    response = client.get(URL, query_string={"year": year}, headers=world.national)
    assert response.status_code == 422
    assert "year" in response.get_json()["errors"]


def test_year_is_required(client, world):
    assert client.get(URL, headers=world.admin).status_code == 422


def test_network_bilan_is_audited(client, world, owner_engine):
    bilan(client, world.national, year=world.y)
    bilan(client, world.coach, year=world.y)
    with owner_engine.connect() as conn:
        rows = conn.scalars(text("SELECT details FROM audit_log WHERE action = 'network_access'"
                                 " AND details->>'reason' = 'annual bilan' ORDER BY id")).all()
    assert rows[0]["relais_ids"] == "*"
    assert sorted(rows[1]["relais_ids"]) == sorted([world.a, world.b])


def test_app_role_cannot_use_the_aggregate_policy(app, world):
    """The door to personal data is the function alone: the setting does nothing for the app role."""
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.personal_aggregate', 'on', true),"
                          " set_config('app.relais_ids', '*', true)"))
        assert conn.scalar(text("SELECT count(*) FROM beneficiaries")) == 0
        assert conn.scalar(text("SELECT count(*) FROM distributions")) == 0
        counts = conn.execute(text(
            "SELECT metric, label, value FROM bilan_personal_counts(NULL, :y, :y, 'Europe/Paris')"),
            {"y": world.y}).all()
    assert ("named", None, 3) in [(m, label, int(v)) for m, label, v in counts]


def test_the_function_sees_nothing_without_a_scope(app, world):
    with app.app_context(), db.engine.begin() as conn:
        rows = conn.execute(text(
            "SELECT * FROM bilan_personal_counts(NULL, 2000, 2100, 'Europe/Paris')")).all()
    assert rows == []


def test_bilan_runs_a_bounded_number_of_queries(app, client, world):
    from sqlalchemy import event

    from relais_platform.replica import replica_engine

    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        # The primary and, when configured, the replica the reports read from.
        engines = [db.engine, *filter(None, [replica_engine(app)])]
        for engine in engines:
            event.listen(engine, "before_cursor_execute", count)
        try:
            bilan(client, world.national, year=world.y)
        finally:
            for engine in engines:
                event.remove(engine, "before_cursor_execute", count)
    bilan_queries = [s for s in statements if "bilan_personal_counts" in s or "GROUP BY" in s]
    assert len(bilan_queries) == 4
    assert len(statements) < 20


def test_a_non_superuser_owner_reads_personal_tables_only_through_the_policy(app, world, owner_engine):
    """Production: the owner is subject to row-level security. The function's owner reaches
    personal rows through `bilan_aggregate` (a policy for the owner, gated by the setting the
    function sets); without that policy it would count nothing."""
    role = "relais_bilan_owner_test"
    tables = ("beneficiaries", "accompaniment_participants", "parcours_enrolments", "distributions",
              "reporting_person_days", "reporting_people_counts")
    signatures = ("bilan_personal_counts(bigint[], integer, integer, text)",
                  "reporting_period_counts(bigint[], date, date, text, boolean, integer)")
    with owner_engine.begin() as conn:
        conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        conn.execute(text(f'CREATE ROLE "{role}" NOSUPERUSER NOBYPASSRLS NOLOGIN'))
        conn.execute(text(f'GRANT USAGE ON SCHEMA public TO "{role}"'))
        conn.execute(text(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{role}"'))
        for signature in signatures:
            conn.execute(text(f'ALTER FUNCTION {signature} OWNER TO "{role}"'))

    def named_count() -> int:
        with app.app_context(), db.engine.begin() as conn:
            conn.execute(text("SELECT set_config('app.relais_ids', '*', true)"))
            rows = conn.execute(text(f"SELECT metric, value FROM bilan_personal_counts(NULL, {world.y},"
                                     f" {world.y}, 'Europe/Paris')")).all()
        return sum(int(value) for metric, value in rows if metric == "named")

    try:
        assert named_count() == 0  # the policy is the current owner's, not this role's
        with owner_engine.begin() as conn:
            for table in tables:
                conn.execute(text(f'ALTER POLICY bilan_aggregate ON {table} TO "{role}"'))
        assert named_count() == 3
    finally:
        with owner_engine.begin() as conn:
            # The schema's owner (the migrations' non-superuser role), not this superuser session.
            owner = conn.scalar(text("SELECT tableowner FROM pg_tables WHERE tablename = 'beneficiaries'"))
            for table in tables:
                conn.execute(text(f'ALTER POLICY bilan_aggregate ON {table} TO "{owner}"'))
            for signature in signatures:
                conn.execute(text(f'ALTER FUNCTION {signature} OWNER TO "{owner}"'))
            conn.execute(text(f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{role}"'))
            conn.execute(text(f'REVOKE USAGE ON SCHEMA public FROM "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))
