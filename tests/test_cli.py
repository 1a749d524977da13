"""Command line: `flask users create`, `flask demo`."""

from __future__ import annotations

import re

import pyotp
from click.testing import Result
from flask import Flask
from sqlalchemy import text

from relais_platform.accounts.models import Role, User
from relais_platform.accounts.services import authenticate
from relais_platform.extensions import db
from relais_platform.tenants.demo import APPLICANTS, NETWORK, RELAIS
from tests.factories import PASSWORD, make_relais

# A year of demo activity: tables and the least they hold.
ACTIVITY = {"orders": 30, "distributions": 300, "accompaniment_sessions": 100, "stock_reports": 200,
            "training_sessions": 5, "training_records": 20, "coaching_sessions": 10, "reporting_events": 3,
            "beneficiaries": 200}


def invoke(app: Flask, *args: str, password: str | None = None) -> Result:
    """Run a command the way `flask --app wsgi ...` does: in an app context of its own."""
    with app.app_context():
        result = app.test_cli_runner().invoke(
            args=list(args), input=None if password is None else password + "\n"
        )
        db.session.remove()
    return result


def create(app: Flask, *options: str, password: str = PASSWORD) -> Result:
    return invoke(app, "users", "create", *options, "--password-stdin", password=password)


def count(owner_engine, sql: str) -> int:
    """Counted as the owner: what is in the database, whatever row-level security shows."""
    with owner_engine.connect() as conn:
        return conn.scalar(text(sql))


def test_create_national_prints_id_and_totp_secret(app, owner_engine):
    result = create(app, "--email", "Nadia@Emmaus-Connect.org", "--name", "Nadia", "--role", "national")

    assert result.exit_code == 0, result.output
    first, second = result.output.splitlines()
    secret = re.fullmatch(r"totp_secret=([A-Z2-7]+)", second).group(1)
    with app.app_context():
        user = db.session.get(User, int(first))
        assert user.email == "nadia@emmaus-connect.org"
        assert user.role == Role.NATIONAL and user.active and user.has_two_factor
        assert user.totp_secret == secret
        assert pyotp.TOTP(secret).now()  # a valid base32 secret
    assert count(owner_engine, "SELECT count(*) FROM users") == 1


def test_create_coach_prints_totp_secret(app):
    result = create(app, "--email", "coach@emmaus-connect.org", "--name", "Karim", "--role", "coach")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1].startswith("totp_secret=")


def test_create_relais_member_reads_password_from_stdin(app):
    with app.app_context():
        relais_id = make_relais().id

    result = create(app, "--email", "equipe@ccas.fr", "--name", "Équipe", "--role", "relais_worker",
                    "--relais", str(relais_id))

    assert result.exit_code == 0, result.output
    [user_id] = result.output.splitlines()  # no two-factor line for relais staff
    with app.app_context():
        user = db.session.get(User, int(user_id))
        assert user.relais_id == relais_id and not user.has_two_factor
        assert authenticate("equipe@ccas.fr", PASSWORD).id == user.id


def test_weak_password_is_refused_and_nothing_created(app, owner_engine):
    result = create(app, "--email", "n@emmaus-connect.org", "--name", "N", "--role", "national",
                    password="motdepasse")

    assert result.exit_code != 0
    assert "password" in result.output
    assert count(owner_engine, "SELECT count(*) FROM users") == 0


def test_relais_role_needs_a_relais(app, owner_engine):
    result = create(app, "--email", "admin@ccas.fr", "--name", "Admin", "--role", "relais_admin")

    assert result.exit_code != 0
    assert "relais" in result.output
    assert count(owner_engine, "SELECT count(*) FROM users") == 0


def test_unknown_relais_is_refused(app, owner_engine):
    result = create(app, "--email", "admin@ccas.fr", "--name", "Admin", "--role", "relais_admin",
                    "--relais", "999999")

    assert result.exit_code != 0
    assert "999999" in result.output
    assert count(owner_engine, "SELECT count(*) FROM users") == 0


def test_demo_is_idempotent(app, owner_engine):
    first = invoke(app, "demo")
    assert first.exit_code == 0, first.output
    counts = (count(owner_engine, "SELECT count(*) FROM relais"),
              count(owner_engine, "SELECT count(*) FROM users"))
    activity = [count(owner_engine, f"SELECT count(*) FROM {table}") for table in ACTIVITY]

    second = invoke(app, "demo")

    assert second.exit_code == 0, second.output
    # About thirty relais (two of them applications) with their admins; staff of the printed ones.
    assert counts == (len(RELAIS) + len(NETWORK) + len(APPLICANTS), 2 + 2 * len(RELAIS) + len(NETWORK))
    assert (count(owner_engine, "SELECT count(*) FROM relais"),
            count(owner_engine, "SELECT count(*) FROM users")) == counts
    with owner_engine.connect() as conn:
        staff = conn.execute(text(
            "SELECT r.name, u.role FROM relais r JOIN users u ON u.relais_id = r.id"
            " WHERE r.status = 'active' AND r.siret = ANY(:sirets) ORDER BY r.name, u.role"
        ), {"sirets": [spec["siret"] for spec in RELAIS]}).all()
    expected = sorted((spec["name"], role) for spec in RELAIS for role in ("relais_admin", "relais_worker"))
    assert sorted(staff) == expected
    assert "Relais-demo" in second.output  # the logins are printed again
    for admin in ("admin.bordeaux", "admin.gap", "admin.briancon"):
        assert f"{admin}@demo.relais-numerique.fr" in second.output
    # A year of activity, loaded once.
    assert [count(owner_engine, f"SELECT count(*) FROM {table}") for table in ACTIVITY] == activity
    assert all(n >= ACTIVITY[table] for table, n in zip(ACTIVITY, activity, strict=True)), activity
    statuses = {row for row, in owner_engine.connect().execute(text("SELECT DISTINCT status FROM orders"))}
    assert statuses == {"draft", "submitted", "allocated", "awaiting_payment", "paid", "shipped",
                        "received", "partially_received", "closed", "cancelled"}


def test_perf_seed_refuses_an_owner_that_row_level_security_binds(app, owner_engine):
    """The dataset is written in bulk past row-level security: with the schema's ordinary owner
    (not a superuser, as in production) it stops before writing anything, saying why."""
    result = app.test_cli_runner().invoke(args=["perf", "seed", "--scale", "tenth"])
    assert result.exit_code == 1
    assert "superutilisateur" in result.output
    with owner_engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM beneficiaries")) == 0
