"""Benchmark: import 50,000 beneficiaries and 200,000 serials, check then apply.

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/x TEST_REDIS_URL=redis://127.0.0.1:6379/7 \\
        .venv/bin/python benchmarks/bench_imports.py

Without TEST_DATABASE_URL an embedded PostgreSQL is started, as in the tests. A scratch
database `relais_bench_imports` is created from the migrations and dropped afterwards. The
relais already holds BENCH_EXISTING people (2,000 by default), so every row goes through the
look-alike check. Each step runs as its job does (`jobs.run_job`: its own unit of work, bound
to the relais) and is timed to its commit; the peak resident memory of the process is read
after each step (the file itself is held once, as bytes, in memory and in the database).
"""

from __future__ import annotations

import os
import resource
import time

import harness
from flask import Flask

DATABASE = "relais_bench_imports"
BENEFICIARIES = int(os.environ.get("BENCH_BENEFICIARIES", 50_000))
SERIALS = int(os.environ.get("BENCH_SERIALS", 200_000))
EXISTING = int(os.environ.get("BENCH_EXISTING", 2_000))


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _step(label: str, action) -> None:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    action()
    print(f"{label:<48} {time.perf_counter() - started:6.2f} s  peak RSS {_peak_mib():6.0f} MiB", flush=True)


def _beneficiaries_file() -> bytes:
    lines = ["first_name;last_name;birth_year;phone;no_phone;language;situation;consent"]
    lines += [f"Prénom{i};Nom{i:06d};{1950 + i % 60};06 {i % 100:02d} 00 00 00;non;fr;job_seeker;oui"
              for i in range(BENEFICIARIES)]
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")


def _serials_file() -> bytes:
    from relais_platform.stock.warehouse.serials import luhn_check_digit

    lines = ["sku,serial"]
    for i in range(SERIALS):
        body = f"893301{i:013d}"
        lines.append(f"BENCH-SIM,{body}{luhn_check_digit(body)}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _run_job(app: Flask, name: str, import_id: int, relais_id: int | None) -> None:
    from relais_platform import jobs

    with app.app_context():
        jobs.run_job(f"relais_platform.imports.jobs.{name}", relais_id, (import_id,), {})


def _import(app: Flask, label: str, user_id: int, relais_id: int | None, kind: str, data: bytes) -> None:
    from relais_platform.accounts.models import User
    from relais_platform.extensions import db
    from relais_platform.imports import services
    from relais_platform.imports.models import ImportRun
    from relais_platform.tenancy import bind_relais

    with app.app_context():
        if relais_id is not None:
            bind_relais(db.session, relais_id)
        run = services.upload(db.session.get(User, user_id), kind, f"{kind}.csv", data)
        db.session.info.pop("pending_jobs", None)  # the benchmark runs the jobs itself
        db.session.commit()
        import_id = run.id
        db.session.remove()
    _step(f"{label}: check", lambda: _run_job(app, "check_import", import_id, relais_id))
    with app.app_context():
        if relais_id is not None:
            bind_relais(db.session, relais_id)
        run = db.session.get(ImportRun, import_id)
        assert run.status.value == "checked", (run.status, run.errors[:3])
        services.request_apply(db.session.get(User, user_id), run)
        db.session.info.pop("pending_jobs", None)
        db.session.commit()
        db.session.remove()
    _step(f"{label}: apply", lambda: _run_job(app, "apply_import", import_id, relais_id))
    with app.app_context():
        if relais_id is not None:
            bind_relais(db.session, relais_id)
        run = db.session.get(ImportRun, import_id)
        print(f"{'':<48} {run.status.value}: {run.created} created, {run.skipped} skipped", flush=True)
        db.session.remove()


def main() -> None:
    harness.parse_command_line(__doc__)
    with harness.bench_app(DATABASE) as app:
        from sqlalchemy import insert

        from relais_platform.accounts.models import Role
        from relais_platform.beneficiaries.models import Beneficiary
        from relais_platform.extensions import db
        from relais_platform.tenancy import bind_relais
        from tests.factories import make_product, make_relais, make_user

        with app.app_context():
            print(harness.machine(), flush=True)
            relais = make_relais()
            relais_id = relais.id
            admin_id = make_user(Role.RELAIS_ADMIN, relais).id
            national_id = make_user(Role.NATIONAL).id
            make_product(sku="BENCH-SIM", serial_kind="iccid")
            bind_relais(db.session, relais_id)
            db.session.execute(insert(Beneficiary), [
                {"relais_id": relais_id, "first_name": f"Existant{i}", "last_name": f"Personne{i:05d}",
                 "birth_year": 1960 + i % 40, "no_phone": True} for i in range(EXISTING)])
            db.session.commit()
            db.session.remove()
        _import(app, f"{BENEFICIARIES:,} beneficiaries", admin_id, relais_id, "beneficiaries",
                _beneficiaries_file())
        _import(app, f"{SERIALS:,} serials (ICCID)", national_id, None, "serials", _serials_file())


if __name__ == "__main__":
    main()
