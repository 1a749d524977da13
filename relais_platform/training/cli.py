"""`flask --app wsgi training verify-activity`: the activity summary against the facts."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from relais_platform.audit.services import network_access
from relais_platform.extensions import db

training_cli = AppGroup("training", help="Formation et accompagnement des relais.")


@training_cli.command("verify-activity")
def verify_activity_command() -> None:
    """Recompute each relais' first and last events from the facts; exit 1 on any drift."""
    from relais_platform.training.milestones import verify_activity

    network_access(None, reason="vérification du résumé d'activité des relais")
    drifts = verify_activity()
    db.session.commit()
    for drift in drifts:
        click.echo(f"relais {drift.relais_id} {drift.kind}: résumé {drift.summary} ≠ faits {drift.facts}")
    if drifts:
        raise click.ClickException(f"{len(drifts)} écart(s) entre le résumé d'activité et les faits")
    click.echo("résumé d'activité conforme aux faits")
