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
        # A job whose worker died (SIGKILL, OOM, lost machine) is found by the maintenance
        # of any live worker once its heartbeat has lapsed (monitoring interval + RQ's fixed
        # 60 s), then retried or failed (StartedJobRegistry.cleanup). An idle worker only
        # checks whether maintenance is due when its blocking dequeue times out, after
        # worker_ttl - 15 s. RQ's defaults (heartbeat 30 s, maintenance every 10 min, dequeue
        # 405 s) meant about ten minutes; these bound it under two.
        maintenance = app.config["RQ_MAINTENANCE_INTERVAL"]
        worker = Worker([jobs.queue(name) for name in queue_names],
                        connection=jobs.redis_connection(),
                        job_monitoring_interval=app.config["RQ_JOB_MONITORING_INTERVAL"],
                        maintenance_interval=maintenance, worker_ttl=maintenance + 15)
        worker.work(burst=burst, with_scheduler=True)
    finally:
        if cron is not None:
            cron.terminate()
