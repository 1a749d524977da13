"""Benchmark: the coach dashboard and the national progress table over 2,000 relais.

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/x .venv/bin/python benchmarks/bench_progress.py

Without TEST_DATABASE_URL an embedded PostgreSQL is started, as in the tests. A scratch
database `relais_bench_progress` is created from the migrations and dropped afterwards. Data
are written with set-based SQL as the owner (under the '*' scope: row-level security is
forced on the owner too); the pages are asked for through the app as the runtime role, so
row-level security, the tenant hooks and template rendering are part of what is timed. One
coach follows the first PORTFOLIO relais; the national team sees all of them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import harness
from flask import Flask
from sqlalchemy import create_engine

DATABASE = "relais_bench_progress"
RELAIS = 2_000
STAFF_PER_RELAIS = 4
# A coach's portfolio. Row-level security parses the scope's id list once per row read
# (rls.app_network_allows), so a 2,000-relais portfolio is far slower: see docs/performance.md.
PORTFOLIO = int(os.environ.get("BENCH_PORTFOLIO", "150"))
RUNS = int(os.environ.get("BENCH_RUNS", "10"))

SEED = """
SELECT set_config('app.relais_ids', '*', true);
INSERT INTO relais (name, kind, siret, postcode, city, departement, dimensions, status,
                    status_changed_at, coach_id, terms_accepted_at, created_at)
SELECT 'Relais ' || i, 'association', lpad(i::text, 14, '0'), '33000', 'Bordeaux', '33',
       ARRAY['connexion', 'equipement'], 'active', now(), CASE WHEN i <= :portfolio THEN :coach END,
       CASE WHEN i % 5 <> 0 THEN now() - make_interval(days => (i % 400)::int) END,
       now() - make_interval(days => (30 + i % 400)::int)
FROM generate_series(1, :relais) AS i;
INSERT INTO users (email, name, role, relais_id, active)
SELECT 'staff' || r.id || '.' || s || '@bench.example.org', 'Staff ' || s,
       CASE WHEN s = 1 THEN 'relais_admin' ELSE 'relais_worker' END, r.id, s <> 4
FROM relais r CROSS JOIN generate_series(1, :staff) AS s;
UPDATE users SET last_login_at = now() - make_interval(days => (id % 120)::int) WHERE relais_id IS NOT NULL;
INSERT INTO training_modules (code, title, duration_hours, format, core, position, active)
VALUES ('M1', 'Inclusion', 7, 'in_person', true, 1, true),
       ('M2', 'Accompagnement', 7, 'in_person', true, 2, true),
       ('M3', 'Ateliers', 3.5, 'remote', true, 3, true),
       ('PF', 'Plateforme', 1.5, 'elearning', false, 4, true);
INSERT INTO training_sessions (module_id, starts_at, ends_at, location, capacity, enrolled_count)
SELECT m.id, now() - make_interval(days => 10 * w),
       now() - make_interval(days => 10 * w) + interval '7 hours', 'Bordeaux', 2000, 0
FROM training_modules m CROSS JOIN generate_series(1, 10) AS w;
INSERT INTO training_enrolments (relais_id, session_id, user_id, status, present, created_at)
SELECT u.relais_id, s.id, u.id, 'enrolled', true, s.starts_at - interval '10 days'
FROM users u JOIN training_sessions s ON s.id = 1 + (u.id * 7 + u.relais_id) % 40
WHERE u.relais_id IS NOT NULL AND u.id % 3 <> 0;
INSERT INTO training_records (relais_id, user_id, module_id, session_id, completed_at)
SELECT e.relais_id, e.user_id, s.module_id, s.id, s.ends_at
FROM training_enrolments e JOIN training_sessions s ON s.id = e.session_id;
INSERT INTO products (sku, name, category, dimension, serialized, unit_price_cents, max_resale_price_cents)
VALUES ('B-SIM', 'Carte SIM', 'sim', 'connexion', false, 100, 0),
       ('B-REC', 'Recharge', 'recharge', 'connexion', false, 500, 500);
INSERT INTO orders (relais_id, status, created_at, submitted_at, received_at, total_cents)
SELECT r.id, 'received', now() - make_interval(days => (40 + r.id % 200 + k)::int),
       now() - make_interval(days => (39 + r.id % 200 + k)::int),
       now() - make_interval(days => (30 + r.id % 200 + k)::int), 0
FROM relais r CROSS JOIN generate_series(1, 3) AS k WHERE r.id % 7 <> 0;
INSERT INTO relais_stock (relais_id, product_id, on_hand, updated_at)
SELECT r.id, p.id, r.id % 40, now() FROM relais r CROSS JOIN products p;
INSERT INTO relais_stock_movements (relais_id, product_id, kind, quantity_delta, occurred_at)
SELECT 1 + i % :relais, p.id, 'distribution', -1, now() - make_interval(days => (i % 120)::int)
FROM generate_series(1, 100000) AS i CROSS JOIN (SELECT id FROM products WHERE sku = 'B-SIM') p;
INSERT INTO coaching_sessions (relais_id, held_on, kind, topics, created_at)
SELECT r.id, current_date - k * 30, 'visit', 'Suivi', now()
FROM relais r CROSS JOIN generate_series(1, 3) AS k;
INSERT INTO coaching_next_steps (relais_id, coaching_session_id, text, due_date, created_at)
SELECT c.relais_id, c.id, 'Étape', c.held_on + 20, now() FROM coaching_sessions c;
INSERT INTO coaching_milestones (relais_id, title, due_date, created_at)
SELECT r.id, 'Atelier inaugural', current_date - (r.id % 60)::int + 30, now()
FROM relais r WHERE r.id % 2 = 0;
INSERT INTO stock_reports (relais_id, period, submitted_at, created_at)
SELECT r.id, (date_trunc('month', current_date) - make_interval(months => k))::date,
       now() - make_interval(days => (30 * k - 5)::int), now()
FROM relais r CROSS JOIN generate_series(1, 6) AS k WHERE r.id % 3 <> 0;
INSERT INTO accompaniment_sessions (relais_id, kind, held_on, duration_minutes, anonymous_count, created_at)
SELECT 1 + i % :relais, 'permanence', current_date - (i % 200), 60, 2,
       now() - make_interval(days => (i % 200)::int)
FROM generate_series(1, 40000) AS i
"""


def main() -> None:
    with harness.bench_app(DATABASE) as app:
        _run(app)


def _timed(label: str, action: Callable[[], int], statements: list[str]) -> None:
    timing = harness.timed(action, RUNS, statements)
    print(f"{label:<48} {timing.result:>6} relais  median {timing.median:7.1f} ms  "
          f"p90 {timing.p90:7.1f} ms  {timing.statements[-1]} queries", flush=True)


def _run(app: Flask) -> None:
    from relais_platform.accounts.models import Role
    from relais_platform.extensions import db
    from tests.factories import bearer, make_user

    with app.app_context():
        coach = make_user(Role.COACH, password=None)  # type: ignore[arg-type]
        national = make_user(Role.NATIONAL, password=None)  # type: ignore[arg-type]
        coach_id, national_id = coach.id, national.id
        coach_session, national_session = coach.get_id(), national.get_id()
        coach_headers = bearer(coach)
        owner = create_engine(app.config["MIGRATION_DATABASE_URI"])
        started = time.perf_counter()
        harness.seed(owner, SEED, {"relais": RELAIS, "staff": STAFF_PER_RELAIS, "coach": coach_id,
                                   "portfolio": PORTFOLIO})
        owner.dispose()
        print(f"{harness.machine()}; seeded in {time.perf_counter() - started:.0f} s "
              f"(national user {national_id})")
        db.session.remove()
        engine = db.engine

    statements = harness.record_statements(engine)

    def browser(session_id: str):
        client = app.test_client()
        with app.test_request_context(environ_base=client.environ_base):
            identifier = app.login_manager._session_identifier_generator()
        with client.session_transaction() as session:
            session.update({"_user_id": session_id, "_fresh": True, "_id": identifier})
        return client

    def page(client, path: str) -> Callable[[], int]:
        def call() -> int:
            response = client.get(path)
            assert response.status_code == 200, response.status_code
            return response.get_data(as_text=True).count('<th scope="row">')
        return call

    api = app.test_client()

    def portfolio() -> int:
        response = api.get("/api/v1/coaching/portfolio?sort=alerts&descending=true", headers=coach_headers)
        assert response.status_code == 200
        return len(response.json)

    def one_relais() -> int:
        response = api.get("/api/v1/relais/1/progress", headers=coach_headers)
        assert response.status_code == 200
        return 1

    _timed("coach dashboard page /coaching/", page(browser(coach_session), "/coaching/"), statements)
    _timed("national progress table /coaching/network",
           page(browser(national_session), "/coaching/network?sort=training"), statements)
    _timed("GET /api/v1/coaching/portfolio (sorted by alerts)", portfolio, statements)
    _timed("GET /api/v1/relais/<id>/progress", one_relais, statements)


if __name__ == "__main__":
    harness.parse_command_line(__doc__)
    main()
