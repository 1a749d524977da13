"""`flask --app wsgi stock verify`: levels rebuilt from the ledgers, every drift reported."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from relais_platform.audit.models import AuditEntry
from relais_platform.config import TestConfig
from relais_platform.extensions import db
from relais_platform.stock.warehouse.cli import verify_command
from tests.factories import (
    as_national,
    deliver_to_relais,
    iccids,
    make_product,
    make_relais,
    receive,
)


@pytest.fixture
def stocked(app):
    """National stock of a recharge and of SIM cards, some of both at a relais."""
    with app.app_context():
        relais = make_relais(name="CCAS de Gap")
        recharge = make_product(sku="RECH-VERIFY")
        sims = make_product(sku="SIM-VERIFY", serial_kind="iccid")
        receive(recharge, quantity=40)
        receive(sims, serials=iccids(1, 30))
        deliver_to_relais(relais.id, recharge, quantity=15)
        deliver_to_relais(relais.id, sims, serials=iccids(1, 10))
        return {"relais_id": relais.id, "recharge_id": recharge.id, "sims_id": sims.id}


def _run(app):
    return app.test_cli_runner().invoke(verify_command)


def _as_owner(owner_engine, statement: str, **params) -> None:
    with owner_engine.begin() as conn:
        # The owner is subject to row-level security too (FORCE): act as the national scope.
        conn.execute(text("SELECT set_config('app.relais_ids', '*', true)"))
        conn.execute(text(statement), params)


def test_clean_data_passes(app, stocked):
    result = _run(app)
    assert result.exit_code == 0, result.output
    assert "Stock cohérent" in result.output


def test_verify_runs_under_an_audited_national_scope(app, stocked):
    _run(app)
    with app.app_context(), as_national():
        reasons = db.session.scalars(select(AuditEntry.details["reason"].astext)
                                     .where(AuditEntry.action == "network_access")).all()
    assert reasons == ["stock verify: contrôle des niveaux de stock"]


def test_injected_national_drift_is_found(app, owner_engine, stocked):
    _as_owner(owner_engine, "UPDATE national_stock SET on_hand = on_hand + 7 WHERE product_id = :p",
              p=stocked["recharge_id"])
    result = _run(app)
    assert result.exit_code == 1
    assert "RECH-VERIFY" in result.output
    row = next(line for line in result.output.splitlines() if "RECH-VERIFY" in line)
    assert row.split() == ["stock", "national", "RECH-VERIFY", "on_hand", "32", "25", "+7"]


def test_injected_reserved_drift_is_found(app, owner_engine, stocked):
    _as_owner(owner_engine, "UPDATE national_stock SET reserved = 3 WHERE product_id = :p",
              p=stocked["recharge_id"])
    result = _run(app)
    assert result.exit_code == 1
    assert any("RECH-VERIFY" in line and "reserved" in line for line in result.output.splitlines())


def test_injected_relais_drift_is_found(app, owner_engine, stocked):
    _as_owner(owner_engine, "UPDATE relais_stock SET on_hand = on_hand - 2 WHERE product_id = :p",
              p=stocked["recharge_id"])
    result = _run(app)
    assert result.exit_code == 1
    line = next(line for line in result.output.splitlines() if "RECH-VERIFY" in line)
    assert "CCAS de Gap" in line and line.endswith("-2")


def test_a_level_without_any_movement_is_a_drift(app, owner_engine, stocked):
    with app.app_context():
        other = make_product(sku="RECH-GHOST").id
    _as_owner(owner_engine, "INSERT INTO national_stock (product_id, on_hand, reserved, updated_at)"
                            " VALUES (:p, 5, 0, now())", p=other)
    result = _run(app)
    assert result.exit_code == 1 and "RECH-GHOST" in result.output


def test_units_out_of_step_with_on_hand_are_found(app, owner_engine, stocked):
    # A unit marked lost without the ledger being told.
    _as_owner(owner_engine, "UPDATE serial_units SET status = 'lost' WHERE serial = :s",
              s=iccids(20, 1)[0])
    result = _run(app)
    assert result.exit_code == 1
    line = next(line for line in result.output.splitlines() if "SIM-VERIFY" in line)
    assert line.split()[-4:] == ["units", "19", "20", "-1"]


def test_the_real_command_line_finds_an_injected_drift(app, owner_engine, stocked, database_url, redis_url):
    """`flask --app wsgi stock verify` as an operator types it, in its own process."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "RELAIS_DATABASE_URL": database_url, "RELAIS_REDIS_URL": redis_url,
           "RELAIS_SECRET_KEY": "test-secret", "TOTP_ENCRYPTION_KEY": TestConfig.TOTP_ENCRYPTION_KEY}
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "stock", "verify"]

    def run() -> subprocess.CompletedProcess:
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120,
                              cwd=os.path.dirname(os.path.dirname(__file__)))

    clean = run()
    assert clean.returncode == 0, clean.stdout + clean.stderr
    _as_owner(owner_engine, "UPDATE national_stock SET reserved = reserved + 4 WHERE product_id = :p",
              p=stocked["sims_id"])
    drifted = run()
    assert drifted.returncode == 1, drifted.stdout + drifted.stderr
    line = next(line for line in drifted.stdout.splitlines() if "SIM-VERIFY" in line)
    assert line.split()[-4:] == ["reserved", "4", "0", "+4"]


def test_the_monthly_distribution_summary_follows_the_ledger(app, owner_engine, stocked):
    """Each distribution and its cancellation reach the dashboards' monthly summary in the same
    transaction; a summary that drifted from the ledger is reported."""
    from tests.factories import make_distribution

    with app.app_context():
        make_distribution(stocked["relais_id"], "RECH-VERIFY", quantity=3)
        cancelled = make_distribution(stocked["relais_id"], "RECH-VERIFY", quantity=2)
        from relais_platform.stock.distributions import services as distributions
        from relais_platform.tenancy import TenantScope, tenant_session

        with tenant_session(db.session, TenantScope(relais_id=stocked["relais_id"])):
            distributions.cancel(cancelled, "saisie en double")
            db.session.commit()
    with owner_engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.relais_ids', '*', true)"))
        assert conn.scalar(text("SELECT sum(units) FROM relais_monthly_distributions")) == 3
    assert _run(app).exit_code == 0
    _as_owner(owner_engine, "UPDATE relais_monthly_distributions SET units = units + 1")
    result = _run(app)
    assert result.exit_code != 0
    assert "RECH-VERIFY" in result.output and "distributions du mois" in result.output
