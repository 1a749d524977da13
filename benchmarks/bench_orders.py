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

import time
from collections.abc import Callable

import harness
from flask import Flask
from sqlalchemy import create_engine

from relais_platform.stock.scope import national_scope

DATABASE = "relais_bench_orders"
RELAIS = 500
ORDERS = 200_000
OPEN_ORDERS = 2_000
RUNS = 15


def main() -> None:
    with harness.bench_app(DATABASE) as app:
        _run(app)


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


def _timed(label: str, action: Callable[[], int], statements: list[str]) -> None:
    timing = harness.timed(action, RUNS, statements)
    print(f"{label:<52} {timing.result:>5} rows  median {timing.median:7.1f} ms  "
          f"p90 {timing.p90:7.1f} ms  {timing.statements[-1]} queries", flush=True)


def _run(app: Flask) -> None:
    from relais_platform.accounts.models import Role
    from relais_platform.extensions import db
    from relais_platform.stock.orders import allocation
    from tests.factories import bearer, make_user

    with app.app_context():
        owner = create_engine(app.config["MIGRATION_DATABASE_URI"])
        started = time.perf_counter()
        harness.seed(owner, SEED, {"relais": RELAIS, "orders": ORDERS, "open": OPEN_ORDERS})
        owner.dispose()
        print(f"{harness.machine()}; seeded in {time.perf_counter() - started:.0f} s")
        headers = bearer(make_user(Role.NATIONAL))
        db.session.remove()
        engine = db.engine

    statements = harness.record_statements(engine)
    client = app.test_client()

    def listing(query: str) -> Callable[[], int]:
        def call() -> int:
            response = client.get(f"/api/v1/orders{query}", headers=headers)
            assert response.status_code == 200, response.json
            return len(response.json)
        return call

    def proposal() -> int:
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
            statements.clear()  # count the confirmation only
            national_scope("benchmark")
            allocation.confirm_batch("BENCH-SCARCE", [(p["order_id"], p["proposed"]) for p in proposed])
            db.session.flush()
            db.session.rollback()
            db.session.remove()
        return len(proposed)

    total = ORDERS + OPEN_ORDERS
    _timed(f"GET /api/v1/orders ({total:,} orders, page 1)", listing(""), statements)
    _timed("GET /api/v1/orders?status=submitted (page 1)", listing("?status=submitted"), statements)
    _timed("GET /api/v1/orders?page=2000&per_page=50", listing("?page=2000&per_page=50"), statements)
    _timed(f"fair-split proposal ({OPEN_ORDERS:,} open orders)", proposal, statements)
    _timed(f"confirm batch ({OPEN_ORDERS:,} orders, rolled back)", confirm, statements)


if __name__ == "__main__":
    harness.parse_command_line(__doc__)
    main()
