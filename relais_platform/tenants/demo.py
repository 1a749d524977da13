"""Demo data of the network: the national and coach accounts, about thirty relais in several
départements (the three with printed logins, and others each with an admin) and two
applications waiting for a decision."""

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


# The rest of the network: (key, name, kind, postcode, city, dimensions). Invented structures
# at real places; their admins sign in with the demo password but are not printed.
C, E, A = "connexion", "equipement", "accompagnement"
NETWORK: list[tuple[str, str, str, str, str, list[str]]] = [
    ("merignac", "Centre social de Mérignac", "centre_social", "33700", "Mérignac", [C, A]),
    ("pessac", "France services de Pessac", "france_services", "33600", "Pessac", [C, E, A]),
    ("libourne", "Restos du Cœur — Libourne", "restos_du_coeur", "33500", "Libourne", [C]),
    ("arcachon", "CCAS d'Arcachon", "ccas", "33120", "Arcachon", [C, A]),
    ("embrun", "Accueil de jour d'Embrun", "accueil_de_jour", "05200", "Embrun", [C, E]),
    ("laragne", "Association Le Lien — Laragne", "association", "05300", "Laragne-Montéglin", [C, A]),
    ("marseille3", "CHRS Forbin — Marseille", "chrs", "13003", "Marseille", [C, E, A]),
    ("marseille13", "Croix-Rouge — Marseille Nord", "croix_rouge", "13013", "Marseille", [C, E]),
    ("aix", "CCAS d'Aix-en-Provence", "ccas", "13100", "Aix-en-Provence", [C, E, A]),
    ("arles", "Secours Populaire — Arles", "secours_populaire", "13200", "Arles", [C, A]),
    ("lyon7", "Centre social Gerland — Lyon", "centre_social", "69007", "Lyon", [C, A]),
    ("villeurbanne", "CADA de Villeurbanne", "cada", "69100", "Villeurbanne", [C, E]),
    ("venissieux", "CCAS de Vénissieux", "ccas", "69200", "Vénissieux", [C, E, A]),
    ("lille", "Restos du Cœur — Lille Fives", "restos_du_coeur", "59800", "Lille", [C]),
    ("roubaix", "CIDFF du Nord — Roubaix", "cidff", "59100", "Roubaix", [C, A]),
    ("tourcoing", "MDS de Tourcoing", "mds", "59200", "Tourcoing", [C, E, A]),
    ("saintdenis", "CCAS de Saint-Denis", "ccas", "93200", "Saint-Denis", [C, E, A]),
    ("montreuil", "Association Emmaüs Montreuil", "association", "93100", "Montreuil", [C, E]),
    ("aubervilliers", "France services d'Aubervilliers", "france_services", "93300", "Aubervilliers",
     [C, A]),
    ("nantes", "Accueil de jour Nantes Gare", "accueil_de_jour", "44000", "Nantes", [C, E]),
    ("saintnazaire", "CCAS de Saint-Nazaire", "ccas", "44600", "Saint-Nazaire", [C, A]),
    ("strasbourg", "SIAE Insertion Numérique — Strasbourg", "siae", "67000", "Strasbourg", [C, E, A]),
    ("colmar", "Croix-Rouge — Colmar", "croix_rouge", "68000", "Colmar", [C]),
    ("toulouse", "CHRS Riquet — Toulouse", "chrs", "31000", "Toulouse", [C, E]),
]
# Waiting for the national team's decision (the "Candidatures" list).
APPLICANTS: list[tuple[str, str, str, str, str, list[str]]] = [
    ("rennes", "Centre social de Maurepas — Rennes", "centre_social", "35000", "Rennes", [C, A]),
    ("brest", "Secours Populaire — Brest", "secours_populaire", "29200", "Brest", [C]),
]


def demo_siret(n: int) -> str:
    """A valid, invented SIRET (Luhn key) from a small number."""
    body = f"9{n:012d}"
    return next(body + d for d in "0123456789" if tenants.luhn_valid(body + d))


def network_specs() -> list[dict]:
    """Every active demo relais (printed ones first) as the profile fields of `create_relais`."""
    specs: list[dict] = [dict(spec) for spec in RELAIS]
    for n, (key, name, kind, postcode, city, dimensions) in enumerate(NETWORK, start=1):
        specs.append({"key": key, "name": name, "kind": kind, "siret": demo_siret(n),
                      "address": f"{n} place de la Mairie", "postcode": postcode, "city": city,
                      "dimensions": dimensions, "contact_name": f"Référent·e {city}",
                      "contact_email": f"admin.{key}@demo.relais-numerique.fr"})
    return specs


def _user(email: str, name: str, role: Role, relais: Relais | None, hashed: list[str]) -> User:
    """The demo account (created once); `hashed` caches the password's hash, which is slow to
    compute on purpose and the same for every demo account."""
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = accounts.create_user(email=email, name=name, role=role, relais=relais,
                                    password=None if hashed else DEMO_PASSWORD)
        if hashed:
            user.password_hash = hashed[0]
        elif user.password_hash:
            hashed.append(user.password_hash)
    if email in DEMO_TOTP and not user.has_two_factor:
        user.totp_secret = DEMO_TOTP[email]
        user.totp_confirmed_at = utcnow()
    return user


def load_demo_network() -> list[DemoLogin]:
    """The national and coach accounts, the demo relais, their admins and workers."""
    hashed: list[str] = []
    national = _user("national@demo.relais-numerique.fr", "Nadia Laurent (national)",
                     Role.NATIONAL, None, hashed)
    coach = _user("coach@demo.relais-numerique.fr", "Karim Dubois (coach)", Role.COACH, None, hashed)
    logins = [
        DemoLogin(national.email, "national", None, DEMO_TOTP[national.email]),
        DemoLogin(coach.email, "coach", None, DEMO_TOTP[coach.email]),
    ]
    printed = {spec["siret"] for spec in RELAIS}
    for index, spec in enumerate(network_specs()):
        data = {k: v for k, v in spec.items() if k != "key"}
        relais = db.session.scalar(select(Relais).where(Relais.siret == spec["siret"]))
        if relais is None:
            relais = tenants.create_relais(data)
        if index % 3 != 2:  # the coach follows two relais in three; the others have none yet
            relais.coach_id = coach.id
        admin = _user(spec["contact_email"], spec["contact_name"], Role.RELAIS_ADMIN, relais, hashed)
        if relais.terms_accepted_at is None:
            tenants.accept_terms(relais, admin)
        if spec["siret"] in printed:
            worker = _user(f"equipe.{spec['key']}@demo.relais-numerique.fr",
                           f"Équipe {spec['city']}", Role.RELAIS_WORKER, relais, hashed)
            logins += [
                DemoLogin(admin.email, "relais_admin", relais.name, None),
                DemoLogin(worker.email, "relais_worker", relais.name, None),
            ]
    for n, (key, name, kind, postcode, city, dimensions) in enumerate(APPLICANTS, start=100):
        if db.session.scalar(select(Relais.id).where(Relais.siret == demo_siret(n))) is None:
            tenants.submit_application({
                "name": name, "kind": kind, "siret": demo_siret(n), "postcode": postcode, "city": city,
                "address": "1 rue de la République", "dimensions": dimensions,
                "contact_name": f"Direction {city}",
                "contact_email": f"contact.{key}@demo.relais-numerique.fr",
                "application_message": "Nous accueillons chaque semaine des personnes sans équipement ni "
                                       "connexion et souhaitons rejoindre le réseau."})
    db.session.flush()
    return logins
