"""Benchmark: row-level security under a network scope (a coach's id list), before and after
migration 0008 (the id list parsed once per statement instead of once per row).

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/x .venv/bin/python benchmarks/bench_rls_network.py

Without TEST_DATABASE_URL an embedded PostgreSQL is started, as in the tests. A scratch
database `relais_bench_rls` is created from the migrations and dropped afterwards: 2,000
relais, 100,000 relais stock movements, 3 orders of 2 lines per relais. Raw SQL is timed
as the runtime role (row-level security on) under each scope, first at the head revision,
then with the policies of revision 0007 (`app_network_allows(relais_id)` in every policy).
"""

from __future__ import annotations

import os
import statistics
import time

import harness
from flask import Flask
from sqlalchemy import Engine, create_engine, text

DATABASE = "relais_bench_rls"
RELAIS = 2_000
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
BEFORE = "0007_stock_reports_read_only"

SEED = """
SELECT set_config('app.relais_ids', '*', true);
INSERT INTO relais (name, kind, siret, postcode, city, departement, dimensions, status,
                    status_changed_at, created_at)
SELECT 'Relais ' || i, 'association', lpad(i::text, 14, '0'), '33000', 'Bordeaux', '33',
       ARRAY['connexion'], 'active', now(), now()
FROM generate_series(1, :relais) AS i;
INSERT INTO products (sku, name, category, dimension, serialized, unit_price_cents, max_resale_price_cents)
VALUES ('B-SIM', 'Carte SIM', 'sim', 'connexion', false, 100, 0),
       ('B-REC', 'Recharge', 'recharge', 'connexion', false, 500, 500);
INSERT INTO relais_stock_movements (relais_id, product_id, kind, quantity_delta, occurred_at)
SELECT 1 + i % :relais, p.id, 'distribution', -1, now() - make_interval(days => (i % 120)::int)
FROM generate_series(1, 100000) AS i CROSS JOIN (SELECT id FROM products WHERE sku = 'B-SIM') p;
INSERT INTO orders (relais_id, status, created_at, total_cents)
SELECT r.id, 'draft', now(), 0 FROM relais r CROSS JOIN generate_series(1, 3);
INSERT INTO order_lines (relais_id, order_id, product_id, requested)
SELECT o.relais_id, o.id, p.id, 10 FROM orders o CROSS JOIN products p
"""

QUERIES = {
    "count(*) of 100,000 stock movements": "SELECT count(*) FROM relais_stock_movements",
    "stock per relais (GROUP BY)": (
        "SELECT relais_id, sum(quantity_delta) FROM relais_stock_movements GROUP BY relais_id"
    ),
    "orders ⨝ lines (6,000 × 12,000)": (
        "SELECT count(*) FROM orders o JOIN order_lines l ON l.order_id = o.id"
    ),
}


def _scopes() -> dict[str, dict[str, str]]:
    return {
        "relais bound (1)": {"relais_id": "7", "relais_ids": ""},
        "coach, 150 relais": {"relais_id": "", "relais_ids": ",".join(map(str, range(1, 151)))},
        "coach, 2,000 relais": {"relais_id": "", "relais_ids": ",".join(map(str, range(1, RELAIS + 1)))},
        "national (*)": {"relais_id": "", "relais_ids": "*"},
    }


def main() -> None:
    with harness.bench_app(DATABASE) as app:
        _run(app)


def _measure(engine: Engine, label: str) -> None:
    print(f"\n{label}")
    for scope_name, settings in _scopes().items():
        for query_name, sql in QUERIES.items():
            durations, rows = [], 0
            for _ in range(RUNS + 1):  # the first run warms the caches up
                with engine.connect() as conn, conn.begin():
                    conn.execute(text("SELECT set_config('app.relais_id', :relais_id, true),"
                                      " set_config('app.relais_ids', :relais_ids, true)"), settings)
                    started = time.perf_counter()
                    rows = len(conn.execute(text(sql)).all())
                    durations.append((time.perf_counter() - started) * 1000)
            median = statistics.median(durations[1:])
            print(f"  {scope_name:<22} {query_name:<38} {rows:>5} rows  median {median:9.1f} ms",
                  flush=True)


def _run(app: Flask) -> None:
    from flask_migrate import downgrade, upgrade

    from relais_platform.extensions import db

    with app.app_context():
        owner = create_engine(app.config["MIGRATION_DATABASE_URI"])
        harness.seed(owner, SEED, {"relais": RELAIS})
        print(f"{harness.machine()}; {RUNS} runs per line")
        db.session.remove()
        _measure(db.engine, "head: list parsed once per statement (hashed sub-select)")
        # Only the policies change between the two revisions, not the rows.
        downgrade(directory=harness.MIGRATIONS, revision=BEFORE)
        db.engine.dispose()
        _measure(db.engine, f"{BEFORE}: app_network_allows(relais_id), list parsed per row")
        upgrade(directory=harness.MIGRATIONS)
        owner.dispose()


if __name__ == "__main__":
    harness.parse_command_line(__doc__)
    main()
