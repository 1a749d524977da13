"""Benchmark: a hand-over of one and of three lines beside a single distribution, in a relais
with a long history (see bench_distributions.py for the seeding).

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/x \\
        .venv/bin/python benchmarks/bench_handovers.py

A scratch database `relais_bench_handovers` is created from the migrations and dropped
afterwards. One relais holds 1,000,000 recharges, 20,000 phones and 20,000 SIM cards, 100,000
people and 300,000 past distributions. Every call goes through the API as a relais worker;
the statements column shows that a hand-over costs a fixed part plus a few statements per
line (the person's lock, the products, then per line its unit lock, row, ledger movement and
audit entry), never a query per row of history.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

import harness
from bench_distributions import SEED
from flask import Flask
from sqlalchemy import create_engine

DATABASE = "relais_bench_handovers"
PEOPLE = 100_000
HISTORY = 300_000
UNITS = 20_000
RUNS = 15


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
    from tests.factories import (
        bearer,
        deliver_to_relais,
        iccids,
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
        sim = make_product(sku="SIM-BENCH", serial_kind="iccid", max_resale_price_cents=0)
        phones, sims = imeis(1, UNITS), iccids(1, UNITS)
        stock_up(recharge, quantity=1_000_000)
        deliver_to_relais(relais_id, recharge, quantity=1_000_000)
        stock_up(phone, serials=phones)
        deliver_to_relais(relais_id, phone, serials=phones)
        stock_up(sim, serials=sims)
        deliver_to_relais(relais_id, sim, serials=sims)
        owner = create_engine(app.config["MIGRATION_DATABASE_URI"])
        person = harness.seed(owner, SEED, {"relais": str(relais_id), "relais_id": relais_id,
                                            "recharge": recharge.id, "people": PEOPLE, "history": HISTORY},
                              read="SELECT min(id) FROM beneficiaries")
        owner.dispose()
        print(f"{harness.machine()}; {PEOPLE:,} people, {HISTORY:,} past distributions, "
              f"{UNITS:,} phones and SIM cards seeded in {time.perf_counter() - started:.0f} s")
        db.session.remove()
        engine = db.engine

    statements = harness.record_statements(engine)
    client = app.test_client()
    units = itertools.count()

    def post(url: str, body: dict) -> int:
        response = client.post(url, json=body, headers=headers)
        assert response.status_code == 201, response.json
        return response.json["id"]

    def single() -> int:
        return post("/api/v1/distributions",
                    {"sku": "REC-BENCH", "price_cents": 250, "beneficiary_id": person})

    def one_line() -> int:
        return post("/api/v1/handovers", {"beneficiary_id": person,
                                          "lines": [{"sku": "REC-BENCH", "price_cents": 250}]})

    def three_lines() -> int:
        n = next(units)
        return post("/api/v1/handovers", {"beneficiary_id": person, "lines": [
            {"sku": "SIM-BENCH", "serial": sims[n], "price_cents": 0},
            {"sku": "REC-BENCH", "quantity": 2, "price_cents": 250},
            {"sku": "PHONE-BENCH", "serial": phones[n], "price_cents": 3000}]})

    _timed("POST distribution, recharge, named beneficiary", single, statements)
    _timed("POST handover, 1 line (recharge)", one_line, statements)
    _timed("POST handover, 3 lines (SIM by ICCID, recharges, phone by IMEI)", three_lines, statements)


if __name__ == "__main__":
    harness.parse_command_line(__doc__)
    main()
