"""The activity report: the contract as written, each breakdown, scope rules, small numbers."""

from __future__ import annotations

from datetime import date

import pytest

from relais_platform.reporting.activity.privacy import SMALL, WITHHELD, protect_cells, protect_totals
from tests.reporting_helpers import make_bilan_world
from tests.test_reporting_bilan import assert_no_name

URL = "/api/v1/reports/activity"
TOTAL_KEYS = {"beneficiaries", "new_beneficiaries", "accompaniment_hours", "sessions", "parcours_completed",
              "events", "governance", "relais_active", "professionals_trained", "distributions"}
BREAKDOWN_KEYS = {"situation", "age_band", "housing", "banked", "nationality", "language", "referrer_kind",
                  "session_kind", "theme", "programme", "departement"}


@pytest.fixture
def world(app_ctx, owner_engine):
    return make_bilan_world(owner_engine)


def year(world, y=None):
    y = y or world.y
    return {"from": f"{y}-01-01", "to": f"{y}-12-31"}


def report(client, headers, **params):
    response = client.get(URL, query_string=params, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_contract_as_written(client, world):
    data = report(client, world.admin, **year(world))
    assert set(data) == {"period", "scope", "totals", "previous", "breakdowns"}
    assert data["period"] == {"from": f"{world.y}-01-01", "to": f"{world.y}-12-31"}
    assert set(data["totals"]) == TOTAL_KEYS and set(data["previous"]) == TOTAL_KEYS
    assert set(data["breakdowns"]) == BREAKDOWN_KEYS


def test_relais_sees_its_own_exact_figures_and_each_breakdown(client, world):
    data = report(client, world.admin, **year(world))
    assert data["scope"]["kind"] == "relais" and data["scope"]["exact"] is True
    totals = data["totals"]
    assert totals["beneficiaries"] == 7 and totals["new_beneficiaries"] == 1
    assert totals["accompaniment_hours"] == 11.0 and totals["sessions"] == 2
    assert totals["parcours_completed"] == 1 and totals["events"] == 2 and totals["governance"] == 1
    assert totals["professionals_trained"] == 1 and totals["relais_active"] == 1
    assert totals["distributions"] == {"KIT-CR": 1, "PHONE-D": 1, "REC-D": 2, "SIM-D": 1}
    b = data["breakdowns"]
    # Both named people reached, each once, with what their record says.
    assert b["situation"] == {"unknown": 2}
    assert b["age_band"] == {"25_44" if world.y - 1987 < 45 else "45_64": 2}
    assert b["housing"] == {"unknown": 2} and b["banked"] == {"unknown": 2}
    assert b["nationality"] == {"unknown": 2} and b["language"] == {"unknown": 2}
    assert b["departement"] == {"33": 2}
    assert b["session_kind"] == {"atelier_thematique": 2} and b["theme"] == {"health": 2}
    assert b["programme"] == {"connect_refugees": 1, "standard": 4}
    # Nobody was referred by a registered structure.
    assert b["referrer_kind"] == {"none": 2}
    assert_no_name(data)


def test_previous_period_has_the_same_length(client, world):
    data = report(client, world.worker, **{"from": f"{world.y}-01-01", "to": f"{world.y}-12-31"})
    previous = data["previous"]
    assert previous["beneficiaries"] == 3 and previous["accompaniment_hours"] == 3.0
    assert previous["governance"] == 1 and previous["distributions"] == {"REC-D": 3}
    # A month: the previous month of equal length only (nothing there).
    march = report(client, world.admin, **{"from": f"{world.y}-03-01", "to": f"{world.y}-03-31"})
    assert march["totals"]["sessions"] == 1 and march["previous"]["sessions"] == 0


def test_previous_period_counts_whole_months_when_the_period_does():
    from relais_platform.reporting.activity.services import Period

    def previous(start: date, end: date) -> tuple[date, date]:
        before = Period(start, end).previous()
        return before.start, before.end

    assert previous(date(2025, 1, 1), date(2025, 12, 31)) == (date(2024, 1, 1), date(2024, 12, 31))
    assert previous(date(2025, 4, 1), date(2025, 6, 30)) == (date(2025, 1, 1), date(2025, 3, 31))
    assert previous(date(2025, 3, 1), date(2025, 3, 31)) == (date(2025, 2, 1), date(2025, 2, 28))
    # Not whole months: as many days.
    assert previous(date(2025, 3, 5), date(2025, 3, 14)) == (date(2025, 2, 23), date(2025, 3, 4))


def test_any_period_narrows_every_figure(client, world):
    data = report(client, world.admin, **{"from": f"{world.y}-05-01", "to": f"{world.y}-05-03"})
    assert data["totals"]["sessions"] == 0
    assert data["totals"]["distributions"] == {"PHONE-D": 1, "REC-D": 2, "SIM-D": 1}
    assert data["breakdowns"]["programme"] == {"standard": 4}


def test_outside_the_relais_small_cells_are_protected(client, world):
    data = report(client, world.national, relais_id=world.a, **year(world))
    assert data["scope"]["exact"] is False
    totals = data["totals"]
    assert totals["beneficiaries"] == 7  # five or more: exact
    assert totals["new_beneficiaries"] == SMALL and totals["parcours_completed"] == SMALL
    assert totals["professionals_trained"] == SMALL
    assert totals["distributions"] == {"KIT-CR": SMALL, "PHONE-D": SMALL, "REC-D": SMALL, "SIM-D": SMALL}
    assert totals["sessions"] == 2 and totals["accompaniment_hours"] == 11.0  # not people
    b = data["breakdowns"]
    assert b["situation"] == {"unknown": SMALL} and b["departement"] == {"33": SMALL}
    assert b["programme"] == {"connect_refugees": SMALL, "standard": SMALL}
    assert data["previous"]["distributions"] == {"REC-D": SMALL}


def test_coach_sees_its_portfolio_protected(client, world):
    data = report(client, world.coach, **year(world))
    assert data["scope"]["kind"] == "portfolio"
    # A and B, not C (outside the portfolio).
    assert data["totals"]["sessions"] == 3
    assert data["breakdowns"]["departement"] == {"05": SMALL, "33": SMALL}


def test_scope_rules(client, world):
    # Another relais (relais staff), a relais outside the portfolio (coach): 404.
    assert client.get(URL, query_string={**year(world), "relais_id": world.b},
                      headers=world.admin).status_code == 404
    assert client.get(URL, query_string={**year(world), "relais_id": world.c},
                      headers=world.coach).status_code == 404
    national = report(client, world.national, **year(world))
    assert national["scope"]["kind"] == "network" and national["totals"]["sessions"] == 4
    gironde = report(client, world.national, departement="33", **year(world))
    assert gironde["totals"]["sessions"] == 3
    own = report(client, world.c_admin, **year(world))
    assert own["totals"]["sessions"] == 1 and own["scope"]["exact"] is True


def test_bad_periods_are_422_naming_the_field(client, world):
    response = client.get(URL, query_string={"from": "2025-13-01", "to": "2025-12-31"}, headers=world.admin)
    assert response.status_code == 422 and "from" in response.get_json()["errors"]
    response = client.get(URL, query_string={"from": "2025-12-31", "to": "2025-01-01"}, headers=world.admin)
    assert response.status_code == 422 and "to" in response.get_json()["errors"]
    response = client.get(URL, query_string={"to": "2025-01-01"}, headers=world.admin)
    assert response.status_code == 422


def test_annual_contract_is_unchanged(client, world):
    data = client.get("/api/v1/reports/annual", query_string={"year": world.y},
                      headers=world.admin).get_json()
    assert data["beneficiaries"] == 7 and data["previous_year"]["year"] == world.p


# --- the suppression rule itself ----------------------------------------------------------


def test_primary_suppression_of_cells_from_one_to_four():
    assert protect_cells({"a": 0, "b": 1, "c": 4, "d": 5}) == {"a": 0, "b": SMALL, "c": SMALL, "d": 5}


def test_a_lone_small_cell_takes_a_complementary_one():
    # Alone, the 3 would be the total minus the visible cells: the smallest other cell goes too.
    assert protect_cells({"a": 3, "b": 10, "c": 7}) == {"a": SMALL, "b": 10, "c": WITHHELD}
    # Two small cells already hide each other; nothing else is withheld.
    assert protect_cells({"a": 3, "b": 2, "c": 7}) == {"a": SMALL, "b": SMALL, "c": 7}
    # Nothing to withhold beside it: the small cell stays the only one.
    assert protect_cells({"a": 3, "b": 0}) == {"a": SMALL, "b": 0}


def test_small_people_totals_are_protected_but_not_hours_or_sessions():
    totals = {"beneficiaries": 3, "new_beneficiaries": 0, "parcours_completed": 12,
              "professionals_trained": 4,
              "accompaniment_hours": 2.5, "sessions": 1, "events": 2, "governance": 1, "relais_active": 1,
              "distributions": {}}
    shown = protect_totals(totals)
    assert shown["beneficiaries"] == SMALL and shown["professionals_trained"] == SMALL
    assert shown["new_beneficiaries"] == 0 and shown["parcours_completed"] == 12
    assert shown["accompaniment_hours"] == 2.5 and shown["sessions"] == 1


def test_exports_hold_the_same_protected_figures(app, client, world):
    from rq import SimpleWorker

    from relais_platform import jobs

    query = {**year(world), "relais_id": world.a, "format": "csv"}
    response = client.get(URL + "/export", query_string=query, headers=world.national)
    assert response.status_code == 202, response.get_json()
    assert client.get(URL + "/export", query_string={**query, "format": "docx"},
                      headers=world.national).status_code == 422
    assert client.get(URL + "/export", query_string={**query, "relais_id": world.c},
                      headers=world.coach).status_code == 404
    with app.app_context():
        SimpleWorker([jobs.queue("reports")], connection=jobs.redis_connection()).work(burst=True)
    status = client.get(response.headers["Location"], headers=world.national).get_json()
    assert status["status"] == "finished", status
    text = client.get(status["download_url"], headers=world.national).data.decode("utf-8-sig")
    assert "Situation;Effectif" in text and "Non renseigné;<5" in text and "KIT-CR;<5" in text
    assert_no_name(text)


def test_people_are_counted_by_the_kind_of_structure_that_referred_them(client, world, owner_engine):
    """« 141 structures ont orienté 739 nouveaux bénéficiaires »: the referrer's kind."""
    from sqlalchemy import text

    with owner_engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.relais_ids', '*', true), "
                          "set_config('app.relais_id', :a, true)"), {"a": str(world.a)})
        referrer = conn.scalar(text("INSERT INTO referrers (relais_id, name, kind, created_at) "
                                    "VALUES (:a, 'CAF de la Gironde', 'caf', now()) RETURNING id"),
                               {"a": world.a})
        conn.execute(text("UPDATE beneficiaries SET referrer_id = :r WHERE relais_id = :a"),
                     {"r": referrer, "a": world.a})
    assert report(client, world.admin, **year(world))["breakdowns"]["referrer_kind"] == {"caf": 2}
