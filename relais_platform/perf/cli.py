"""`flask --app wsgi perf seed --scale national|tenth`: the dataset the performance goals are
measured on (docs/performance.md), and the logins the load test uses."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import create_engine, select, text

from relais_platform.extensions import db

perf_cli = AppGroup("perf", help="Jeu de données et mesures de performance.")


@perf_cli.command("seed")
@click.option("--scale", type=click.Choice(["national", "tenth"]), default="national", show_default=True)
@click.option("--logins", "logins_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Écrire les identifiants (JSON) pour le test de charge.")
def seed_command(scale: str, logins_file: Path | None) -> None:
    """Fill an empty, migrated database with the national dataset (about 10 minutes at national scale)."""
    from relais_platform.accounts import services as accounts
    from relais_platform.accounts.models import Role, User
    from relais_platform.accounts.passwords import hash_password
    from relais_platform.orm import utcnow
    from relais_platform.perf.dataset import PASSWORD, SCALES, seed

    owner = create_engine(current_app.config["MIGRATION_DATABASE_URI"])
    with owner.connect() as conn:
        # Bulk rows in every relais at once, personal tables included: past row-level security,
        # which only a superuser passes. A scratch database's tool, never production's.
        if not conn.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")):
            raise click.ClickException(
                "le jeu de données s'écrit en masse par-dessus la sécurité au niveau des lignes : "
                "lancez-le avec un DATABASE_URL de superutilisateur, sur une base de mesure")
        if conn.scalar(text("SELECT EXISTS (SELECT 1 FROM relais)")):
            raise click.ClickException("la base contient déjà des relais : partez d'une base vide et migrée")
    started = time.perf_counter()
    seed(owner, SCALES[scale], hash_password(PASSWORD),
         lambda statement, seconds: click.echo(f"{seconds:7.1f} s  {' '.join(statement.split())[:70]}"))
    owner.dispose()
    logins = {}
    secrets = {}
    for email in ("national@perf.relais-numerique.fr", "coach1@perf.relais-numerique.fr",
                  "admin1@perf.relais-numerique.fr", "equipe1@perf.relais-numerique.fr"):
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            raise click.ClickException(f"{email} manque au jeu de données")
        if Role(user.role).requires_two_factor:
            secrets[email] = accounts.start_totp_enrolment(user)
            user.totp_confirmed_at = utcnow()
        logins[str(user.role)] = {"email": email, "password": PASSWORD, "totp_secret": secrets.get(email)}
    db.session.commit()
    click.echo(f"jeu de données « {scale} » écrit en {time.perf_counter() - started:.0f} s")
    for role, login in logins.items():
        extra = f"  (TOTP : {login['totp_secret']})" if login["totp_secret"] else ""
        click.echo(f"  {role:<14} {login['email']}  {PASSWORD}{extra}")
    if logins_file is not None:
        logins_file.write_text(json.dumps(logins, indent=2))
