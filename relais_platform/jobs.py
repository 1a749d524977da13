"""Background jobs on RQ.

- `enqueue_after_commit` queues a job only once the current transaction commits, so a job
  never sees (or e-mails about) data that was rolled back.
- Every job runs through `run_job`, which opens an app context, binds the relais the job was
  given explicitly (RLS applies in workers too), commits on success and rolls back on error.
- Each domain lists its scheduled jobs (`Domain.periodic_jobs`); `flask --app wsgi worker`
  starts the workers and one `rq` cron scheduler for them.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app
from redis import Redis
from rq import Queue, Retry
from rq.job import Callback, Job
from sqlalchemy import event
from sqlalchemy.orm import Session

from relais_platform.extensions import db

log = logging.getLogger(__name__)

_PENDING_KEY = "pending_jobs"


@dataclass(frozen=True)
class PeriodicJob:
    func: str  # dotted path
    cron: str  # crontab expression, Europe/Paris is not assumed: the worker's clock is UTC
    queue: str = "default"
    kwargs: dict[str, Any] = field(default_factory=dict)



def init_app(app: Flask) -> None:
    connection = Redis.from_url(app.config["REDIS_URL"])
    app.extensions["redis"] = connection
    app.extensions["rq_queues"] = {
        name: Queue(name, connection=connection, is_async=app.config["RQ_ASYNC"])
        for name in app.config["RQ_QUEUES"]
    }


def redis_connection() -> Redis:
    return current_app.extensions["redis"]


def queue(name: str = "default") -> Queue:
    return current_app.extensions["rq_queues"][name]


def func_path(func: Callable | str) -> str:
    return func if isinstance(func, str) else f"{func.__module__}.{func.__qualname__}"


def enqueue(
    func: Callable | str,
    *args: Any,
    relais_id: int | None = None,
    queue_name: str = "default",
    retry: Retry | None = None,
    job_id: str | None = None,
    on_failure: Callable | str | None = None,
    **kwargs: Any,
) -> Job:
    """Queue a job now (use `enqueue_after_commit` from inside a unit of work).

    `on_failure(job, connection, exc_type, exc_value, traceback)` also runs when the job is
    found abandoned by a dead worker, where the job itself could record nothing.
    """
    return queue(queue_name).enqueue(
        run_job,
        func_path(func),
        relais_id,
        args,
        kwargs,
        retry=retry,
        job_id=job_id,
        description=func_path(func),
        on_failure=Callback(func_path(on_failure)) if on_failure is not None else None,
    )


def enqueue_after_commit(func: Callable | str, *args: Any, **options: Any) -> None:
    db.session.info.setdefault(_PENDING_KEY, []).append((func, args, options))


@event.listens_for(Session, "after_commit")
def _flush_pending_jobs(session: Session) -> None:
    for func, args, options in session.info.pop(_PENDING_KEY, []):
        enqueue(func, *args, **options)


@event.listens_for(Session, "after_rollback")
def _drop_pending_jobs(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


def _resolve(path: str) -> Callable:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)






def run_job(path: str, relais_id: int | None, args: tuple, kwargs: dict) -> Any:
    """Entry point of every job: one unit of work, under the relais it was given."""
    from relais_platform.tenancy import bind_relais

    # Workers run inside the app context of `flask --app wsgi worker` (inherited by each fork).
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with app.app_context():
        if app.config.get("RQ_FORKED"):
            # The work horse is a fork: never reuse the parent's pooled connections.
            db.engine.dispose(close=False)
        try:
            if relais_id is not None:
                bind_relais(db.session, relais_id)
            result = _resolve(path)(*args, **kwargs)
            db.session.commit()
            return result
        except Exception:
            db.session.rollback()
            log.exception("job %s failed (relais %s)", path, relais_id)
            raise
        finally:
            db.session.remove()
