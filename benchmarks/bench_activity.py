"""Benchmark: the activity report, the current year's bilan and an agreement's report, national,
on the dataset of bench_annual (2,000 relais, 300,000 people, 3,000,000 distributions...).

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/x .venv/bin/python benchmarks/bench_activity.py

BENCH_DISTRIBUTIONS scales the distributions (and their ledger rows) down on a small machine.
A scratch database `relais_bench_activity` is created from the migrations and dropped after.

Timed, each the median of BENCH_RUNS runs after a warm-up, through the app as the national team
(runtime role, row-level security, audited network scope, JSON):
- GET /api/v1/reports/activity for last year (Y), the previous year beside it, all breakdowns;
- GET /api/v1/reports/annual for the current year (its previous year is Y);
- GET /api/v1/conventions/<id>/report for a network-wide agreement covering Y, with targets.
Each must answer under LIMIT_MS (exit status 1 otherwise).
"""

from __future__ import annotations

import os
import sys
import time

import harness
from bench_annual import ATTENDANCES, PEOPLE, RELAIS, SEED, SESSIONS
from flask import Flask
from sqlalchemy import create_engine

DATABASE = "relais_bench_activity"
DISTRIBUTIONS = int(os.environ.get("BENCH_DISTRIBUTIONS", "3000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
LIMIT_MS = 1000.0


def main() -> int:
    with harness.bench_app(DATABASE) as app:
        return _run(app)


def _run(app: Flask) -> int:
    from relais_platform.accounts.models import Role
    from relais_platform.extensions import db
    from relais_platform.stock.scope import local_today
    from tests.factories import bearer, make_user

    with app.app_context():
        year = local_today().year - 1
        owner = create_engine(app.config["MIGRATION_DATABASE_URI"])
        started = time.perf_counter()
        harness.seed(owner, SEED, {
            "relais": RELAIS, "people": PEOPLE, "sessions": SESSIONS, "attendances": ATTENDANCES,
            "distributions": DISTRIBUTIONS, "first": year - 1})
        seeded = time.perf_counter() - started
        owner.dispose()
        national = bearer(make_user(Role.NATIONAL, password=None))  # type: ignore[arg-type]
        machine = harness.machine()
        db.session.remove()

    client = app.test_client()
    funder = client.post("/api/v1/funders", json={"name": "Bench", "kind": "foundation"}, headers=national)
    convention = client.post("/api/v1/conventions", headers=national, json={
        "funder_id": funder.get_json()["id"], "name": "Réseau", "starts_on": f"{year}-01-01",
        "ends_on": f"{year}-12-31", "targets": {"beneficiaries": 100_000, "B-PHO": 50_000}}).get_json()

    def request(url: str) -> None:
        response = client.get(url, headers=national)
        assert response.status_code == 200, response.get_json()

    urls = {
        f"activity {year} (national)": f"/api/v1/reports/activity?from={year}-01-01&to={year}-12-31",
        f"bilan {year + 1} (national)": f"/api/v1/reports/annual?year={year + 1}",
        "convention report (network)": f"/api/v1/conventions/{convention['id']}/report",
    }
    print(f"{machine}; {DISTRIBUTIONS:,} distributions; seeded in {seeded:.0f} s")
    slow = 0
    for name, url in urls.items():
        timing = harness.timed(lambda url=url: request(url), RUNS)
        slow += timing.median > LIMIT_MS
        print(f"{name:32} median {timing.median:8.1f} ms  min {timing.durations[0]:8.1f}  "
              f"max {timing.durations[-1]:8.1f}  (limit {LIMIT_MS:.0f})")
    return 1 if slow else 0


if __name__ == "__main__":
    harness.parse_command_line(__doc__)
    sys.exit(main())
