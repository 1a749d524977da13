"""`flask --app wsgi stock ...` commands."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

from relais_platform.extensions import db

stock_cli = AppGroup("stock", help="Stock national et inventaires.")


@stock_cli.command("verify")
def verify_command() -> None:
    """Rebuild every stock level from its ledger; exit 1 on any drift."""
    from relais_platform.stock.scope import open_national_scope
    from relais_platform.stock.warehouse.verify import find_drifts, format_drifts

    open_national_scope("stock verify: contrôle des niveaux de stock")
    drifts = find_drifts()
    # Keeps the audit entry of the national access; the check itself writes nothing.
    db.session.commit()
    if not drifts:
        click.echo(_("Stock cohérent : chaque niveau se reconstruit à l'identique depuis son registre."))
        return
    click.echo(_("%(count)d écart(s) entre les niveaux de stock et les registres :", count=len(drifts)))
    click.echo(format_drifts(drifts))
    raise SystemExit(1)
