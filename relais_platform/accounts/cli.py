"""`flask --app wsgi users create|totp-code|rotate-totp-key`."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from relais_platform.extensions import db

users_cli = AppGroup("users", help="Gérer les comptes.")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", required=True,
              type=click.Choice(["national", "coach", "relais_admin", "relais_worker"]))
@click.option("--relais", "relais_id", type=int, default=None, help="Id du relais (membres).")
@click.option("--password-stdin", is_flag=True, required=True,
              help="Lire le mot de passe sur l'entrée standard.")
def create_user_command(email: str, name: str, role: str, relais_id: int | None,
                        password_stdin: bool) -> None:
    """Create an active user; prints its id (and its TOTP secret when 2FA is mandatory)."""
    from relais_platform.accounts import services as accounts
    from relais_platform.accounts.models import Role
    from relais_platform.domain import ValidationFailed
    from relais_platform.tenants.models import Relais

    password = sys.stdin.readline().rstrip("\n")
    relais = db.session.get(Relais, relais_id) if relais_id is not None else None
    if relais_id is not None and relais is None:
        raise click.ClickException(f"relais {relais_id} introuvable")
    try:
        user = accounts.create_user(email=email, name=name, role=role, relais=relais,
                                    password=password)
        secret = None
        if Role(role).requires_two_factor:
            secret = accounts.start_totp_enrolment(user)
            from relais_platform.orm import utcnow

            user.totp_confirmed_at = utcnow()
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        details = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items())
        raise click.ClickException(details or exc.message) from exc
    click.echo(user.id)
    if secret:
        click.echo(f"totp_secret={secret}")


@users_cli.command("totp-code")
@click.option("--email", required=True)
def totp_code_command(email: str) -> None:
    """Print the current two-factor code of a demo account (development only)."""
    from relais_platform.demo import DEMO_TOTP, current_totp

    if current_app.config["ENV_NAME"] == "production" or email not in DEMO_TOTP:
        raise click.ClickException("réservé aux comptes de démonstration, hors production")
    click.echo(current_totp(DEMO_TOTP[email]))


@users_cli.command("rotate-totp-key")
def rotate_totp_key_command() -> None:
    """Re-encrypt every TOTP secret under the first key of TOTP_ENCRYPTION_KEY."""
    from sqlalchemy import text

    from relais_platform.crypto import rotate

    rows = db.session.execute(text("SELECT id, totp_secret FROM users WHERE totp_secret IS NOT NULL"))
    count = 0
    for user_id, stored in rows.all():
        db.session.execute(text("UPDATE users SET totp_secret = :s WHERE id = :i"),
                           {"s": rotate(stored), "i": user_id})
        count += 1
    db.session.commit()
    click.echo(f"{count} secret(s) re-encrypted")
