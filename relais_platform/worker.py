"""The RQ worker process, and the cron scheduler of the domains' periodic jobs."""

from __future__ import annotations

import multiprocessing

from flask import current_app
from rq import Worker
from rq.cron import CronScheduler

from relais_platform import jobs
from relais_platform.domains import periodic_jobs


def _run_cron(redis_url: str) -> None:
    from relais_platform import create_app

    app = create_app()
    with app.app_context():
        scheduler = CronScheduler(connection=jobs.redis_connection(), name="relais-cron")
        for periodic in periodic_jobs():
            scheduler.register(
                jobs.run_job,
                periodic.queue,
                args=(periodic.func, None, (), periodic.kwargs),
                cron=periodic.cron,
            )
        scheduler.start()


def run_worker(queue_names: list[str], *, with_cron: bool, burst: bool = False) -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    app.config["RQ_FORKED"] = True
    cron = None
    if with_cron and not burst:
        cron = multiprocessing.get_context("spawn").Process(
            target=_run_cron, args=(app.config["REDIS_URL"],), daemon=True
        )
        cron.start()
    try:
        worker = Worker([jobs.queue(name) for name in queue_names],
                        connection=jobs.redis_connection())
        worker.work(burst=burst, with_scheduler=True)
    finally:
        if cron is not None:
            cron.terminate()
