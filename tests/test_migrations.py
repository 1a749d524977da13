"""The models and the migrations describe the same schema; migrations go down and up."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import relais_platform.models  # noqa: F401  (every table in the metadata)
from relais_platform import create_app, crypto
from relais_platform.config import TestConfig
from relais_platform.extensions import db
from tests.conftest import OWNER_ROLE, ROOT


def test_autogenerate_finds_no_difference(app, owner_engine):
    with owner_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_downgrade_to_base_then_upgrade_again(app, redis_url, superuser_url):
    """Down and up as the non-superuser owner (PostgreSQL 15+ refuses it some things)."""
    url = make_url(app.config["MIGRATION_DATABASE_URI"])
    assert url.username == OWNER_ROLE
    scratch = f"{url.database}_migrations"
    admin = create_engine(make_url(superuser_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{scratch}" OWNER "{OWNER_ROLE}"'))
    try:
        other = create_app(
            {"DATABASE_URL": url.set(database=scratch).render_as_string(hide_password=False),
             "REDIS_URL": redis_url, "SECRET_KEY": "x"},
            config_class=TestConfig,
        )
        directory = str(ROOT / "migrations")
        with other.app_context():
            upgrade(directory=directory, revision="0010_training_cancel_reminders")
            _secrets_are_encrypted_by_0011(other, directory)
            downgrade(directory=directory, revision="base")
            upgrade(directory=directory)
            engine = create_engine(other.config["MIGRATION_DATABASE_URI"])
            with engine.connect() as conn:
                assert not conn.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))
                assert conn.scalar(text("SELECT count(*) FROM relais")) == 0
                assert conn.scalar(text("SELECT relforcerowsecurity FROM pg_class WHERE relname = 'orders'"))
            engine.dispose()
            db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
        admin.dispose()


def _secrets_are_encrypted_by_0011(other, directory: str) -> None:
    """A secret stored in clear before 0011 is encrypted by it, and decrypted on the way down."""
    engine = create_engine(other.config["MIGRATION_DATABASE_URI"])
    plain = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    read = text("SELECT totp_secret FROM users WHERE email = 'n@example.org'")
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO users (email, name, role, totp_secret)"
                              " VALUES ('n@example.org', 'N', 'national', :s)"), {"s": plain})
        upgrade(directory=directory)
        with engine.connect() as conn:
            stored = conn.scalar(read)
        assert stored != plain and crypto.decrypt(stored) == plain
        downgrade(directory=directory, revision="0010_training_cancel_reminders")
        with engine.begin() as conn:
            assert conn.scalar(read) == plain
            conn.execute(text("DELETE FROM users"))
        upgrade(directory=directory)
    finally:
        engine.dispose()
