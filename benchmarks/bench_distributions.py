"""Benchmark: recording a distribution in a relais with a long history.

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/x \
        .venv/bin/python benchmarks/bench_distributions.py

Without TEST_DATABASE_URL an embedded PostgreSQL is started, as in the tests. A scratch
database `relais_bench_distributions` is created from the migrations and dropped afterwards.
One relais holds 1,000,000 recharges and 20,000 phones (delivered through the ledger), then
100,000 people and 300,000 past distributions with their ledger rows over twelve months are
written with generate_series as the owner (bound to the relais). Every call goes through the
API as a relais worker: row-level security, the tenant hook, the stock lock, the ledger row,
the audit entry and the commit are all timed.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

import harness
from flask import Flask
from sqlalchemy import create_engine

DATABASE = "relais_bench_distributions"
PEOPLE = 100_000
HISTORY = 300_000
PHONES = 20_000
RUNS = 15

SEED = """
SELECT set_config('app.relais_id', :relais, true);
INSERT INTO beneficiaries (relais_id, first_name, last_name, birth_year, no_phone, consent_at,
                           last_seen_at, created_at)
SELECT :relais_id, 'Prénom' || i, 'Nom' || i, 1940 + i % 70, true, now(), now(), now()
FROM generate_series(1, :people) AS i;
INSERT INTO distributions (relais_id, product_id, quantity, price_cents, programme, distributed_on,
                           beneficiary_id, created_at)
SELECT :relais_id, :recharge, 1, 250, 'standard', (now() - (i % 365) * interval '1 day')::date,
       CASE WHEN i % 3 = 0 THEN NULL ELSE (SELECT min(id) FROM beneficiaries) + i % :people END,
       now() - (i % 365) * interval '1 day'
FROM generate_series(1, :history) AS i;
INSERT INTO relais_stock_movements (relais_id, product_id, kind, quantity_delta, reference_id, occurred_at)
SELECT relais_id, product_id, 'distribution', -1, id, created_at FROM distributions;
"""


def main() -> None:
    with harness.bench_app(DATABASE) as app:
        _run(app)


def _timed(label: str, action: Callable[[], int], statements: list[str]) -> None:
    timing = harness.timed(action, RUNS, statements)
    print(f"{label:<58} median {timing.median:7.1f} ms  "
          f"p90 {timing.p90:7.1f} ms  {max(timing.statements)} statements", flush=True)


def _run(app: Flask) -> None:
    from relais_platform.accounts.models import Role
    from relais_platform.extensions import db
    from relais_platform.stock.reports import services as reports
    from tests.factories import (
        bearer,
        deliver_to_relais,
        imeis,
        make_product,
        make_relais,
        make_user,
        stock_up,
    )

    with app.app_context():
        started = time.perf_counter()
        relais = make_relais()
        relais_id = relais.id
        headers = bearer(make_user(Role.RELAIS_WORKER, relais))
        recharge = make_product(sku="REC-BENCH", max_resale_price_cents=500)
        phone = make_product(sku="PHONE-BENCH", category="smartphone", dimension="equipement",
                             serial_kind="imei", max_resale_price_cents=7000, validity_days=None)
        recharge_id = recharge.id
        serials = imeis(1, PHONES)
        stock_up(recharge, quantity=1_000_000)
        deliver_to_relais(relais_id, recharge, quantity=1_000_000)
        stock_up(phone, serials=serials)
        deliver_to_relais(relais_id, phone, serials=serials)
        owner = create_engine(app.config["MIGRATION_DATABASE_URI"])
        person = harness.seed(owner, SEED, {"relais": str(relais_id), "relais_id": relais_id,
                                            "recharge": recharge_id, "people": PEOPLE, "history": HISTORY},
                              read="SELECT min(id) FROM beneficiaries")
        owner.dispose()
        period = reports.format_period(reports.last_ended_period())
        print(f"{harness.machine()}; {PEOPLE:,} people, {HISTORY:,} past distributions, "
              f"{PHONES:,} phones seeded in {time.perf_counter() - started:.0f} s")
        db.session.remove()
        engine = db.engine

    statements = harness.record_statements(engine)
    client = app.test_client()
    recorded: list[int] = []
    serial_index = itertools.count()  # 0 for the warm-up, then one phone per timed run

    def post(body: dict) -> int:
        response = client.post("/api/v1/distributions", json=body, headers=headers)
        assert response.status_code == 201, response.json
        recorded.append(response.json["id"])
        return response.json["id"]

    def recharge_two() -> int:
        return post({"sku": "REC-BENCH", "quantity": 2, "price_cents": 250, "beneficiary_id": person})

    def recharge_named() -> int:
        return post({"sku": "REC-BENCH", "price_cents": 250, "beneficiary_id": person})

    def phone_with_serial() -> int:
        return post({"sku": "PHONE-BENCH", "serial": serials[next(serial_index)], "price_cents": 3000,
                     "beneficiary_id": person})

    def cancel() -> int:
        response = client.post(f"/api/v1/distributions/{recorded.pop()}/cancel",
                               json={"reason": "benchmark"}, headers=headers)
        assert response.status_code == 200, response.json
        return 1

    def get(url: str) -> Callable[[], int]:
        def call() -> int:
            response = client.get(url, headers=headers)
            assert response.status_code == 200, response.json
            return 1
        return call

    _timed("POST distribution, two recharges, named beneficiary", recharge_two, statements)
    _timed("POST distribution, recharge, named beneficiary", recharge_named, statements)
    _timed(f"POST distribution, phone by IMEI ({PHONES:,} units at the relais)", phone_with_serial,
           statements)
    _timed("POST cancel (goods back to stock)", cancel, statements)
    _timed(f"GET /distributions page 1 (of {HISTORY:,})", get("/api/v1/distributions"), statements)
    _timed(f"GET /stock-reports/{period} (draft from {HISTORY:,} movements)",
           get(f"/api/v1/stock-reports/{period}"), statements)


if __name__ == "__main__":
    harness.parse_command_line(__doc__)
    main()
