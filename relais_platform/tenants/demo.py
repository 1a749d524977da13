"""Demo data of the network: the national and coach accounts, three relais and their teams."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from relais_platform.accounts import services as accounts
from relais_platform.accounts.models import Role, User
from relais_platform.demo import DEMO_PASSWORD, DEMO_TOTP, DemoLogin
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.tenants import services as tenants
from relais_platform.tenants.models import Relais

RELAIS: list[dict[str, Any]] = [
    {
        "key": "bordeaux",
        "name": "CCAS de Bordeaux",
        "kind": "ccas",
        "siret": "26330041200016",
        "address": "4 rue Claude Bonnier",
        "postcode": "33000",
        "city": "Bordeaux",
        "dimensions": ["connexion", "equipement", "accompagnement"],
        "contact_name": "Claire Martin",
        "contact_email": "admin.bordeaux@demo.relais-numerique.fr",
    },
    {
        "key": "gap",
        "name": "Secours Populaire — antenne de Gap",
        "kind": "secours_populaire",
        "siret": "78235513100023",
        "address": "12 avenue d'Embrun",
        "postcode": "05000",
        "city": "Gap",
        "dimensions": ["connexion", "accompagnement"],
        "contact_name": "Julien Garcia",
        "contact_email": "admin.gap@demo.relais-numerique.fr",
    },
    {
        "key": "briancon",
        "name": "CADA de Briançon",
        "kind": "cada",
        "siret": "44719082600019",
        "address": "3 chemin de la Durance",
        "postcode": "05100",
        "city": "Briançon",
        "dimensions": ["connexion", "equipement"],
        "contact_name": "Samira Benali",
        "contact_email": "admin.briancon@demo.relais-numerique.fr",
    },
]


def _user(email: str, name: str, role: Role, relais: Relais | None) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = accounts.create_user(
            email=email, name=name, role=role, relais=relais, password=DEMO_PASSWORD
        )
    if email in DEMO_TOTP and not user.has_two_factor:
        user.totp_secret = DEMO_TOTP[email]
        user.totp_confirmed_at = utcnow()
    return user


def load_demo_network() -> list[DemoLogin]:
    """The national and coach accounts, the demo relais, their admins and workers."""
    national = _user("national@demo.relais-numerique.fr", "Nadia Laurent (national)",
                     Role.NATIONAL, None)
    coach = _user("coach@demo.relais-numerique.fr", "Karim Dubois (coach)", Role.COACH, None)
    logins = [
        DemoLogin(national.email, "national", None, DEMO_TOTP[national.email]),
        DemoLogin(coach.email, "coach", None, DEMO_TOTP[coach.email]),
    ]
    for spec in RELAIS:
        data = {k: v for k, v in spec.items() if k != "key"}
        relais = db.session.scalar(select(Relais).where(Relais.siret == spec["siret"]))
        if relais is None:
            relais = tenants.create_relais(data)
        relais.coach_id = coach.id
        admin = _user(spec["contact_email"], spec["contact_name"], Role.RELAIS_ADMIN, relais)
        worker = _user(f"equipe.{spec['key']}@demo.relais-numerique.fr",
                       f"Équipe {spec['city']}", Role.RELAIS_WORKER, relais)
        if relais.terms_accepted_at is None:
            tenants.accept_terms(relais, admin)
        logins += [
            DemoLogin(admin.email, "relais_admin", relais.name, None),
            DemoLogin(worker.email, "relais_worker", relais.name, None),
        ]
    db.session.flush()
    return logins
