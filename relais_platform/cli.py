"""The platform's own commands: `flask --app wsgi demo` and `flask --app wsgi worker`."""

from __future__ import annotations

import click
from flask import current_app

from relais_platform.extensions import db


@click.command("demo")
def demo_command() -> None:
    """Load the demo data (idempotent)."""
    from relais_platform.demo import DEMO_PASSWORD, load_demo

    logins = load_demo()
    db.session.commit()
    click.echo(f"Mot de passe des comptes de démonstration : {DEMO_PASSWORD}")
    for login in logins:
        extra = f"  (TOTP : {login.totp_secret})" if login.totp_secret else ""
        where = f" — {login.relais}" if login.relais else ""
        click.echo(f"  {login.role:<14} {login.email}{where}{extra}")


@click.command("worker")
@click.option("--queues", default=None, help="Files à traiter (toutes par défaut).")
@click.option("--no-scheduler", is_flag=True, help="Ne pas lancer le planificateur.")
@click.option("--burst", is_flag=True, help="S'arrêter quand les files sont vides.")
def worker_command(queues: str | None, no_scheduler: bool, burst: bool) -> None:
    """Run an RQ worker (and the scheduler of periodic jobs, one per deployment)."""
    from relais_platform.worker import run_worker

    names = queues.split(",") if queues else list(current_app.config["RQ_QUEUES"])
    run_worker(names, with_cron=not no_scheduler, burst=burst)
