"""Reports read from a real streaming replica, exactly; a lagging or absent one is skipped.

Needs TEST_DATABASE_REPLICA_URL (CI starts the replica with scripts/start_replica.sh): without
it these tests are skipped, which fails a strict (CI) run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine, make_url

from relais_platform.extensions import db
from relais_platform.replica import reading_replica, replica_engine
from tests.factories import make_distribution, make_distribution_world

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_REPLICA_URL"),
                                reason="no streaming replica (TEST_DATABASE_REPLICA_URL)")


@pytest.fixture
def world(app):
    with app.app_context():
        return make_distribution_world()


@pytest.fixture
def replica_superuser() -> Iterator[Engine]:
    """The replica as its superuser, to pause and resume its replay."""
    engine = create_engine(make_url(os.environ["TEST_DATABASE_REPLICA_URL"]).set(
        drivername="postgresql+psycopg", database="postgres"), isolation_level="AUTOCOMMIT")
    yield engine
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_wal_replay_resume()"))
    engine.dispose()


def _this_month_distributed(client, world) -> int:
    response = client.get("/api/v1/dashboards/coach", headers=world.coach)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["activity"][-1]["distributed"]


def test_reports_read_from_the_replica_and_count_the_last_act(app, client, world):
    assert replica_engine(app) is not None
    with app.test_request_context():
        with reading_replica() as used:
            assert used
            assert db.session.scalar(select(func.pg_is_in_recovery())) is True
            # Writes and locking reads stay on the primary, in the same unit of work.
            assert db.session.scalar(select(func.pg_is_in_recovery()).with_for_update()) is False
        assert db.session.scalar(select(func.pg_is_in_recovery())) is False
        db.session.rollback()
    before = _this_month_distributed(client, world)
    with app.app_context():
        make_distribution(world.a, "REC-D", price_cents=100, quantity=2)
    # Recorded a moment ago, on the primary: the report read from the replica counts it.
    assert _this_month_distributed(client, world) == before + 2


def test_a_lagging_replica_is_skipped_and_the_figures_stay_exact(app, client, world, replica_superuser):
    with replica_superuser.connect() as conn:
        conn.execute(text("SELECT pg_wal_replay_pause()"))
    app.config["REPLICA_WAIT_SECONDS"] = 0.3
    try:
        before = _this_month_distributed(client, world)
        with app.app_context():
            make_distribution(world.a, "REC-D", price_cents=100, quantity=3)
        with app.test_request_context(), reading_replica() as used:
            assert not used
            db.session.rollback()
        assert _this_month_distributed(client, world) == before + 3
    finally:
        app.config["REPLICA_WAIT_SECONDS"] = 10.0


def test_an_unreachable_replica_is_skipped(app, client, world, monkeypatch):
    down = create_engine("postgresql+psycopg://relais_app@127.0.0.1:1/none",
                         connect_args={"connect_timeout": 1})
    monkeypatch.setitem(app.extensions, "relais_replica_engine", down)
    with app.test_request_context(), reading_replica() as used:
        assert not used
        db.session.rollback()
    assert _this_month_distributed(client, world) == 0
