"""Reports read from a PostgreSQL streaming replica, exactly.

With `DATABASE_REPLICA_URL` set (the replica's address, owner-style like `DATABASE_URL`; the app
connects to it as the same unprivileged role), code running inside `reading_replica()` sends its
SELECTs to the replica, so the national team's reports never load the primary the relais'
desks write to. Everything else — writes, locking reads, the audit entries the reports write —
stays on the primary, through the same unit of work.

Exactness comes first: on entering the block, the replica is used only once it has replayed
everything the primary had committed at that moment (`pg_last_wal_replay_lsn() >=
pg_current_wal_lsn()`), waited for at most `REPLICA_WAIT_SECONDS`. A replica that lags longer,
or does not answer, is skipped for this block: the primary answers, nothing fails.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from flask import Flask, current_app
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import Engine, Select, TextClause, create_engine, text
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

_ENGINE_KEY = "relais_replica_engine"
P = ParamSpec("P")
R = TypeVar("R")
# The replica engine for the block being run (None: read from the primary).
_reading: ContextVar[Engine | None] = ContextVar("relais_reading_replica", default=None)


def init_app(app: Flask) -> None:
    url = app.config.get("DATABASE_REPLICA_URL")
    if not url:
        return
    from relais_platform.config import app_database_url

    runtime = app_database_url(url, app.config["APP_DB_ROLE"], app.config["APP_DB_PASSWORD"])
    app.extensions[_ENGINE_KEY] = create_engine(runtime, pool_pre_ping=True,
                                                connect_args={"connect_timeout": 2})


def replica_engine(app: Flask) -> Engine | None:
    return app.extensions.get(_ENGINE_KEY)


def _caught_up(primary_lsn: str, engine: Engine, deadline: float) -> bool:
    with engine.connect() as conn:
        while True:
            if conn.scalar(text("SELECT pg_last_wal_replay_lsn() >= CAST(:lsn AS pg_lsn)"),
                           {"lsn": primary_lsn}):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)


def _fresh_replica() -> Engine | None:
    """The replica if configured and caught up with the primary's last commit, else None."""
    engine = replica_engine(current_app)
    if engine is None:
        return None
    deadline = time.monotonic() + current_app.config["REPLICA_WAIT_SECONDS"]
    try:
        primary = current_app.extensions["sqlalchemy"].engine
        with primary.connect() as conn:
            primary_lsn = conn.scalar(text("SELECT CAST(pg_current_wal_lsn() AS text)"))
        if _caught_up(primary_lsn, engine, deadline):
            return engine
        log.warning("replica lagging behind %s: reading from the primary", primary_lsn)
    except DBAPIError as exc:
        log.warning("replica unavailable (%s): reading from the primary", exc.__class__.__name__)
    return None


def current_engine() -> Engine | None:
    """The replica the running block reads from, if any."""
    return _reading.get()


@contextmanager
def reading_replica() -> Iterator[bool]:
    """Route this block's plain SELECTs to the replica when it is configured and up to date;
    yields whether it does. Nested blocks reuse the outer block's decision."""
    if _reading.get() is not None:
        yield True
        return
    engine = _fresh_replica()
    token = _reading.set(engine)
    try:
        yield engine is not None
    finally:
        _reading.reset(token)


def on_replica(func: Callable[P, R]) -> Callable[P, R]:
    """Run a report service inside `reading_replica()`."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with reading_replica():
            return func(*args, **kwargs)

    return wrapper


def _is_plain_read(clause: Any) -> bool:
    if isinstance(clause, Select):
        return clause._for_update_arg is None
    if isinstance(clause, TextClause):
        return bool(clause.get_execution_options().get("replica"))
    return False


class RoutingSession(FlaskSession):
    """Flask-SQLAlchemy's session, sending plain reads to the replica inside `reading_replica`."""

    def get_bind(self, mapper: Any = None, clause: Any = None, bind: Any = None, **kwargs: Any) -> Any:
        engine = _reading.get()
        if bind is None and engine is not None and _is_plain_read(clause):
            return engine
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
