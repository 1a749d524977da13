"""Benchmark: the national annual bilan over 3,000,000 distributions and 300,000 beneficiaries.

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/x .venv/bin/python benchmarks/bench_annual.py

Without TEST_DATABASE_URL an embedded PostgreSQL is started, as in the tests. A scratch
database `relais_bench_annual` is created from the migrations and dropped afterwards. Data are
written with `generate_series` as the owner, spread over last year (Y) and the year before:
2,000 relais, 300,000 people, 200,000 sessions with 600,000 named attendances, 3,000,000
distributions (60 % to a named person, 1 % cancelled) with their 3,000,000 ledger rows,
20,000 parcours enrolments, 20,000 events, 8,000 training records.

Two things are timed, each as the median of BENCH_RUNS runs after a warm-up:
- the bilan as the national team gets it: `GET /api/v1/reports/annual?year=Y` through the
  app, as the runtime role (row-level security, the audited network scope, JSON, commit);
- the bare SQL aggregates it needs, written plainly and run as the owner (a superuser here:
  no policy at all), one after the other on one connection.
The bilan must answer within 1.5 × the bare aggregates (exit status 1 otherwise).
"""

from __future__ import annotations

import os
import sys
import time

import harness
from flask import Flask
from sqlalchemy import create_engine, text

DATABASE = "relais_bench_annual"
RELAIS = 2_000
PEOPLE = 300_000
SESSIONS = 200_000
ATTENDANCES = 600_000
DISTRIBUTIONS = int(os.environ.get("BENCH_DISTRIBUTIONS", "3000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "7"))
LIMIT = 1.5

# People of relais r have ids ≡ r - 1 (mod RELAIS): every named row stays inside its relais.
SEED = """
SELECT set_config('app.relais_ids', '*', true);
INSERT INTO relais (name, kind, siret, postcode, city, departement, dimensions, status,
                    status_changed_at, created_at)
SELECT 'Relais ' || i, 'association', lpad(i::text, 14, '0'), '33000', 'Ville',
       CASE WHEN 1 + i % 95 = 20 THEN '2A' ELSE lpad((1 + i % 95)::text, 2, '0') END,
       ARRAY['connexion', 'equipement', 'accompagnement'], 'active', now(), now()
FROM generate_series(1, :relais) AS i;
INSERT INTO products (sku, name, category, dimension, serialized, unit_price_cents, max_resale_price_cents)
VALUES ('B-SIM', 'Carte SIM', 'sim', 'connexion', false, 100, 0),
       ('B-INT', 'Recharge Internationale', 'recharge', 'connexion', false, 500, 500),
       ('B-ECO', 'Recharge éco', 'recharge', 'connexion', false, 250, 250),
       ('B-MOB', 'Recharge Mobile + Internet', 'recharge', 'connexion', false, 600, 600),
       ('B-KIT', 'Kit Connect Refugees', 'kit', 'connexion', false, 0, 0),
       ('B-LAP', 'Ordinateur portable', 'laptop', 'equipement', false, 9000, 18000),
       ('B-PHO', 'Smartphone', 'smartphone', 'equipement', false, 2000, 7000);
INSERT INTO beneficiaries (relais_id, first_name, last_name, birth_year, no_phone, consent_at,
                           last_seen_at, created_at)
SELECT 1 + i % :relais, 'Prénom', 'Nom ' || i, 1950 + i % 50, true, now(), now(),
       make_timestamptz(:first, 1, 1, 0, 0, 0, 'Europe/Paris') + make_interval(days => (i % 730)::int)
FROM generate_series(1, :people) AS i;
INSERT INTO accompaniment_sessions (relais_id, kind, held_on, duration_minutes, anonymous_count, created_at)
SELECT 1 + i % :relais, 'permanence', make_date(:first, 1, 1) + i % 730, 60 + 30 * (i % 4), i % 4, now()
FROM generate_series(1, :sessions) AS i;
INSERT INTO accompaniment_participants (relais_id, session_id, beneficiary_id)
SELECT 1 + s % :relais, s, s % :relais + :relais * (1 + j % (:people / :relais - 1))
FROM generate_series(1, :attendances) AS j, LATERAL (SELECT 1 + j % :sessions AS s) AS x;
INSERT INTO distributions (relais_id, product_id, quantity, price_cents, programme, distributed_on,
                           beneficiary_id, cancelled_at, cancel_reason, created_at)
SELECT 1 + i % :relais, 1 + i % 7, 1 + i % 3, 0,
       CASE WHEN i % 20 = 0 THEN 'connect_refugees' ELSE 'standard' END,
       make_date(:first, 1, 1) + i % 730,
       CASE WHEN i % 5 < 3 THEN i % :relais + :relais * (1 + i % (:people / :relais - 1)) END,
       CASE WHEN i % 100 = 0 THEN now() END, CASE WHEN i % 100 = 0 THEN 'saisie en double' END, now()
FROM generate_series(1, :distributions) AS i;
INSERT INTO relais_stock_movements (relais_id, product_id, kind, quantity_delta, reference_id, occurred_at)
SELECT relais_id, product_id, 'distribution', -quantity, id,
       (distributed_on + time '12:00') AT TIME ZONE 'Europe/Paris'
FROM distributions;
INSERT INTO parcours (relais_id, name, kind, sessions_required, created_at)
SELECT i, 'Initiation', 'initiation', 9, now() FROM generate_series(1, :relais) AS i;
INSERT INTO parcours_enrolments (relais_id, parcours_id, beneficiary_id, started_on, completed_on)
SELECT 1 + j % :relais, 1 + j % :relais, j % :relais + :relais * (1 + j % (:people / :relais - 1)),
       make_date(:first, 1, 1) + j % 600, CASE WHEN j % 2 = 0 THEN make_date(:first, 1, 1) + j % 600 + 90 END
FROM generate_series(1, 20000) AS j;
INSERT INTO reporting_events (relais_id, kind, title, held_on, participants, created_at)
SELECT 1 + i % :relais, CASE WHEN i % 3 = 0 THEN 'governance' ELSE 'event' END, 'Événement ' || i,
       make_date(:first, 1, 1) + i % 730, i % 50, now()
FROM generate_series(1, 20000) AS i;
INSERT INTO users (email, name, role, relais_id, active)
SELECT 'staff' || i || '@bench.example.org', 'Staff ' || i, 'relais_worker', i, true
FROM generate_series(1, :relais) AS i;
INSERT INTO training_modules (code, title, duration_hours, format, core, position, active)
VALUES ('M1', 'Inclusion', 7, 'in_person', true, 1, true);
INSERT INTO training_sessions (module_id, starts_at, ends_at, location, capacity, enrolled_count)
SELECT m.id, make_timestamptz(:first, 3, 1, 9, 0, 0, 'Europe/Paris') + make_interval(days => 150 * w),
       make_timestamptz(:first, 3, 1, 17, 0, 0, 'Europe/Paris') + make_interval(days => 150 * w), 'Bordeaux',
       5000, 0
FROM training_modules m CROSS JOIN generate_series(0, 3) AS w;
INSERT INTO training_records (relais_id, user_id, module_id, session_id, completed_at)
SELECT u.relais_id, u.id, s.module_id, s.id, s.ends_at
FROM users u CROSS JOIN training_sessions s WHERE u.relais_id IS NOT NULL
"""

# What the bilan needs, plainly: both years, every relais, no scope, no policy.
BARE = [
    """SELECT extract(year FROM d.distributed_on)::int AS y, p.sku, p.category, d.programme,
              sum(d.quantity), count(*) FILTER (WHERE d.beneficiary_id IS NULL)
       FROM distributions d JOIN products p ON p.id = d.product_id
       WHERE d.cancelled_at IS NULL AND d.distributed_on >= :lo AND d.distributed_on < :hi
       GROUP BY GROUPING SETS ((1, p.sku), (1, p.category), (1, d.programme), (1))""",
    """SELECT extract(year FROM a.held_on)::int,
              sum(a.duration_minutes * (a.anonymous_count + coalesce(n.c, 0))),
              sum(a.anonymous_count), count(*)
       FROM accompaniment_sessions a
       LEFT JOIN (SELECT session_id, count(*) AS c FROM accompaniment_participants GROUP BY 1) n
         ON n.session_id = a.id
       WHERE a.held_on >= :lo AND a.held_on < :hi GROUP BY 1""",
    """SELECT y, count(*) FROM (
         SELECT extract(year FROM a.held_on)::int AS y, p.beneficiary_id FROM accompaniment_participants p
         JOIN accompaniment_sessions a ON a.id = p.session_id WHERE a.held_on >= :lo AND a.held_on < :hi
         UNION
         SELECT extract(year FROM distributed_on)::int, beneficiary_id FROM distributions
         WHERE cancelled_at IS NULL AND beneficiary_id IS NOT NULL
           AND distributed_on >= :lo AND distributed_on < :hi) x GROUP BY y""",
    """SELECT extract(year FROM created_at AT TIME ZONE 'Europe/Paris')::int, count(*) FROM beneficiaries
       WHERE created_at >= :lo_ts AND created_at < :hi_ts GROUP BY 1""",
    """SELECT extract(year FROM completed_on)::int, count(*) FROM parcours_enrolments
       WHERE completed_on >= :lo AND completed_on < :hi GROUP BY 1""",
    """SELECT extract(year FROM held_on)::int, kind, count(*), sum(participants) FROM reporting_events
       WHERE held_on >= :lo AND held_on < :hi GROUP BY 1, 2""",
    """SELECT extract(year FROM completed_at AT TIME ZONE 'Europe/Paris')::int, count(DISTINCT user_id)
       FROM training_records WHERE completed_at >= :lo_ts AND completed_at < :hi_ts GROUP BY 1""",
    """SELECT y, count(DISTINCT relais_id) FROM (
         SELECT extract(year FROM held_on)::int AS y, relais_id FROM accompaniment_sessions
         WHERE held_on >= :lo AND held_on < :hi
         UNION SELECT extract(year FROM occurred_at AT TIME ZONE 'Europe/Paris')::int, relais_id
         FROM relais_stock_movements
         WHERE kind = 'distribution' AND occurred_at >= :lo_ts AND occurred_at < :hi_ts
         UNION SELECT extract(year FROM held_on)::int, relais_id FROM reporting_events
         WHERE held_on >= :lo AND held_on < :hi
         UNION SELECT extract(year FROM completed_at AT TIME ZONE 'Europe/Paris')::int, relais_id
         FROM training_records WHERE completed_at >= :lo_ts AND completed_at < :hi_ts) x GROUP BY y""",
]


def main() -> int:
    with harness.bench_app(DATABASE) as app:
        return _run(app)


def _run(app: Flask) -> int:
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from relais_platform.accounts.models import Role
    from relais_platform.extensions import db
    from relais_platform.stock.scope import local_today
    from tests.factories import bearer, make_user

    with app.app_context():
        year = local_today().year - 1
        first = year - 1
        owner = create_engine(app.config["MIGRATION_DATABASE_URI"])
        started = time.perf_counter()
        harness.seed(owner, SEED, {
            "relais": RELAIS, "people": PEOPLE, "sessions": SESSIONS, "attendances": ATTENDANCES,
            "distributions": DISTRIBUTIONS, "first": first})
        seeded = time.perf_counter() - started
        national = bearer(make_user(Role.NATIONAL, password=None))  # type: ignore[arg-type]
        machine = harness.machine()
        db.session.remove()

    zone = ZoneInfo("Europe/Paris")
    params = {"lo": date(first, 1, 1), "hi": date(year + 1, 1, 1),
              "lo_ts": datetime(first, 1, 1, tzinfo=zone), "hi_ts": datetime(year + 1, 1, 1, tzinfo=zone)}
    client = app.test_client()
    answer: dict = {}

    def bilan() -> None:
        response = client.get(f"/api/v1/reports/annual?year={year}", headers=national)
        assert response.status_code == 200, response.get_json()
        answer.update(response.get_json())

    bare_connection = owner.connect()

    def bare() -> None:
        with bare_connection.begin():
            for statement in BARE:
                bare_connection.execute(text(statement), params).all()

    try:
        with open("/proc/loadavg") as load:
            before = load.read().split()[0]
    except OSError:
        before = "?"
    bilan_timing = harness.timed(bilan, RUNS)
    bare_timing = harness.timed(bare, RUNS)
    parts = []
    for statement in BARE:
        with bare_connection.begin():
            started = time.perf_counter()
            bare_connection.execute(text(statement), params).all()
            parts.append((time.perf_counter() - started) * 1000)
    bare_connection.close()
    owner.dispose()
    try:
        with open("/proc/loadavg") as load:
            after = load.read().split()[0]
    except OSError:
        after = "?"
    ratio = bilan_timing.median / bare_timing.median
    print(f"{machine}; seeded in {seeded:.0f} s; load average {before} → {after}")
    print(f"bilan {year}: {answer['beneficiaries']:,} people, {sum(answer['distributions'].values()):,} "
          f"distributed, {answer['accompaniment_hours']:,.0f} h, {answer['relais_active']} relais active")
    print(f"GET /api/v1/reports/annual (national)  median {bilan_timing.median:8.1f} ms  "
          f"min {bilan_timing.durations[0]:8.1f}  max {bilan_timing.durations[-1]:8.1f}")
    print(f"bare SQL aggregates (owner)            median {bare_timing.median:8.1f} ms  "
          f"min {bare_timing.durations[0]:8.1f}  max {bare_timing.durations[-1]:8.1f}")
    print("bare, one by one (ms): " + ", ".join(f"{ms:.0f}" for ms in parts))
    print(f"ratio {ratio:.2f} (limit {LIMIT})")
    return 0 if ratio <= LIMIT else 1


if __name__ == "__main__":
    harness.parse_command_line(__doc__)
    sys.exit(main())
