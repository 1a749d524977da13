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

import time
from collections.abc import Callable

import harness
from flask import Flask
from sqlalchemy import create_engine

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


def main() -> None:
    with harness.bench_app(DATABASE) as app:
        _run(app)


def _timed(label: str, action: Callable[[], int], statements: list[str]) -> None:
    timing = harness.timed(action, RUNS, statements)
    print(f"{label:<58} {timing.result:>5} rows  median {timing.median:7.1f} ms  "
          f"p90 {timing.p90:7.1f} ms  {timing.statements[-1]} queries", flush=True)


def _run(app: Flask) -> None:
    from relais_platform.accounts.models import Role
    from relais_platform.extensions import db
    from tests.factories import bearer, make_relais, make_user

    with app.app_context():
        relais = make_relais()
        relais_id = relais.id
        headers = bearer(make_user(Role.RELAIS_WORKER, relais))
        owner = create_engine(app.config["MIGRATION_DATABASE_URI"])
        started = time.perf_counter()
        harness.seed(owner, SEED, {"relais": str(relais_id), "relais_id": relais_id, "people": PEOPLE})
        owner.dispose()
        print(f"{harness.machine()}; {PEOPLE + 1:,} people seeded in {time.perf_counter() - started:.0f} s")
        db.session.remove()
        engine = db.engine

    statements = harness.record_statements(engine)
    client = app.test_client()

    def search(query: dict[str, str], expect_first: str | None = None) -> Callable[[], int]:
        def call() -> int:
            response = client.get("/api/v1/beneficiaries", query_string=query, headers=headers)
            assert response.status_code == 200, response.json
            if expect_first:
                assert response.json[0]["last_name"] == expect_first, response.json[:1]
            return len(response.json)
        return call

    _timed(f"search 'zenobie' (1 match in {PEOPLE + 1:,})", search({"q": "zenobie"}, "Quastreaux"),
           statements)
    _timed("search typo 'quastraux zenobi'", search({"q": "quastraux zenobi"}, "Quastreaux"), statements)
    _timed("search 'elodie martin' (~1,200 matches, page 1)", search({"q": "elodie martin"}), statements)
    _timed("search 'helene' (~19,000 matches, page 1)", search({"q": "helene"}), statements)
    _timed("list without q (page 1, by name)", search({}), statements)
    _timed("list without q (page 100)", search({"page": "100"}), statements)


if __name__ == "__main__":
    harness.parse_command_line(__doc__)
    main()
