"""`flask --app wsgi reporting verify`: the reporting summaries against the facts."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from relais_platform.audit.services import network_access
from relais_platform.extensions import db

reporting_cli = AppGroup("reporting", help="Bilans et rapports d'activité.")


@reporting_cli.command("verify")
def verify_command() -> None:
    """Recompute the reporting summaries from the facts; exit 1 on any drift."""
    from relais_platform.reporting.summaries import drift

    network_access(None, reason="vérification des résumés des bilans")
    differences = drift()
    db.session.commit()
    for summary, rows in differences.items():
        if rows:
            click.echo(f"{summary} : {rows} ligne(s) d'écart")
    if any(differences.values()):
        raise click.ClickException("écart entre les résumés des bilans et les faits")
    click.echo("résumés des bilans conformes aux faits")
