"""Benchmark: receive 100,000 ICCIDs (one range, then one pasted list) into national stock.

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/x .venv/bin/python benchmarks/bench_receipts.py

Without TEST_DATABASE_URL an embedded PostgreSQL is started, as in the tests. A scratch
database `relais_bench_receipts` is created from the migrations and dropped afterwards. Each
receipt is timed from the service call to the commit (validation, registry check, inserts,
ledger); the peak of Python memory (tracemalloc) is taken in a second, untimed run.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable

import harness
from flask import Flask
from sqlalchemy import text

from relais_platform.stock.scope import open_national_scope

COUNT = 100_000
DATABASE = "relais_bench_receipts"


def _measure(label: str, action: Callable[[str], int]) -> None:
    """Time one run, then measure memory in a second run on fresh products: tracemalloc
    slows every allocation down, so it must not be on while the clock runs."""
    started = time.perf_counter()
    received = action("T")
    elapsed = time.perf_counter() - started
    tracemalloc.start()
    action("M")
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{label:<40} {received:>7} units  {elapsed:6.2f} s  peak {peak / 2**20:6.1f} MiB", flush=True)


def main() -> None:
    with harness.bench_app(DATABASE) as app:
        _run(app)


def _run(app: Flask) -> None:
    from relais_platform.domain import ValidationFailed
    from relais_platform.extensions import db
    from relais_platform.stock.catalogue import services as catalogue
    from relais_platform.stock.warehouse import national
    from relais_platform.stock.warehouse.serials import luhn_check_digit
    from relais_platform.stock.warehouse.verify import find_drifts

    with app.app_context():
        open_national_scope("benchmark")
        products = {}
        for run in "TM":
            for key, category in (("SIM", "sim"), ("KIT", "kit")):
                products[run + key] = catalogue.create_product({
                    "sku": f"BENCH-{run}-{key}", "name": key, "category": category,
                    "dimension": "connexion", "serialized": True, "serial_kind": "iccid",
                    "unit_price_cents": 0, "max_resale_price_cents": 0})
        db.session.commit()

        def iccid(n: int) -> str:
            body = f"8933150{n:011d}"
            return body + luhn_check_digit(body)

        first, last = iccid(1), iccid(COUNT)
        pasted = "\n".join(map(iccid, range(1, COUNT + 1)))

        def by_range(run: str) -> int:
            open_national_scope("benchmark")
            received = national.receive(products[run + "SIM"], serial_range=(first, last))
            db.session.commit()
            return received

        def by_list(run: str) -> int:
            open_national_scope("benchmark")
            received = national.receive(products[run + "KIT"], serials=[pasted])
            db.session.commit()
            return received

        def rejected(run: str) -> int:
            # The same range again: every serial is known, the whole receipt is refused.
            open_national_scope("benchmark")
            try:
                national.receive(products[run + "SIM"], serial_range=(first, last))
            except ValidationFailed as exc:
                assert len(exc.errors["serial_range"]) == national.MAX_REPORTED_PROBLEMS + 1
            db.session.rollback()
            return 0

        def verify(run: str) -> int:
            open_national_scope("benchmark")
            drifts = find_drifts()
            db.session.commit()
            assert not drifts, drifts
            return db.session.scalar(text("SELECT count(*) FROM serial_units"))

        print(harness.machine())
        _measure("range first–last (100,000 ICCIDs)", by_range)
        _measure("pasted list (100,000 ICCIDs, one text)", by_list)
        _measure("same range again (rejected, 422)", rejected)
        _measure("stock verify (whole registry)", verify)
        db.session.remove()


if __name__ == "__main__":
    harness.parse_command_line(__doc__)
    main()
