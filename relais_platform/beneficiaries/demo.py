"""A year at the front desk of every demo relais: people registered as they came, what they
received (a SIM card and its recharges, a device, a Connect Refugees kit) and the workshops
they attended. Idempotent: a relais that already has people is left as it is.

Everything goes through the services (registry, distributions, accompaniment) under the
clock of the day it happened, so the rules and the stock ledger hold; invented people, any
resemblance is coincidental.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from relais_platform.beneficiaries import accompaniment, registry
from relais_platform.beneficiaries.models import Beneficiary
from relais_platform.extensions import db
from relais_platform.orm import clock_at
from relais_platform.stock.demo import delivery_lines, demo_start
from relais_platform.stock.distributions import services as distributions
from relais_platform.stock.scope import local_today
from relais_platform.tenancy import TenantScope, tenant_session
from relais_platform.tenants.demo import network_specs
from relais_platform.tenants.models import Relais

# Named people of the printed demo relais, keyed by SIRET (the others get generated names).
PEOPLE = {
    "26330041200016": [  # CCAS de Bordeaux
        {"first_name": "Élodie", "last_name": "Marchand", "birth_year": 1962, "phone": "06 00 00 00 01",
         "language": "fr", "situation": "retired", "housing": "housed", "banked": "yes"},
        {"first_name": "Mamadou", "last_name": "Sissoko", "birth_year": 1994, "no_phone": True,
         "language": "fr", "situation": "job_seeker", "housing": "emergency_shelter", "banked": "no",
         "referrer": "SIAO 33"},
        {"first_name": "Oksana", "last_name": "Melnyk", "birth_year": 1985, "phone": "07 00 00 00 02",
         "language": "uk", "situation": "inactive", "housing": "hosted", "banked": "unknown",
         "nationality": "outside_eu"},
    ],
    "44719082600019": [  # CADA de Briançon
        {"first_name": "Ahmad", "last_name": "Rahimi", "birth_year": 1999, "phone": "07 00 00 00 03",
         "language": "prs", "situation": "inactive", "housing": "emergency_shelter", "banked": "no",
         "nationality": "outside_eu", "referrer": "OFII"},
        {"first_name": "Semhar", "last_name": "Tesfay", "birth_year": 2001, "no_phone": True,
         "language": "ti", "situation": "student", "housing": "emergency_shelter", "banked": "no"},
    ],
}
FIRST_NAMES = ["Fatou", "Jean", "Nadia", "Youssef", "Marie", "Karim", "Aïcha", "Paul", "Leïla", "Ibrahim",
               "Sophie", "Moussa", "Irina", "Hamid", "Claire", "Tarek", "Awa", "Louis", "Samia", "Omar",
               "Rose", "Ali", "Lucie", "Bilal"]
LAST_NAMES = ["Diallo", "Martin", "Benali", "Traoré", "Bernard", "Haddad", "Petit", "Koné", "Moreau",
              "Nguyen", "Garcia", "Mansour", "Lefèvre", "Camara", "Roux", "Petrenko", "Fofana", "Girard"]
PROFILES = [
    {"language": "fr", "situation": "job_seeker", "housing": "hosted", "banked": "yes"},
    {"language": "ar", "situation": "inactive", "housing": "emergency_shelter", "banked": "no",
     "nationality": "outside_eu"},
    {"language": "fr", "situation": "retired", "housing": "housed", "banked": "yes"},
    {"language": "uk", "situation": "inactive", "housing": "hosted", "banked": "unknown",
     "nationality": "outside_eu"},
    {"language": "fr", "situation": "employed", "housing": "housed", "banked": "yes"},
    {"language": "ps", "situation": "inactive", "housing": "emergency_shelter", "banked": "no",
     "nationality": "outside_eu", "referrer": "OFII"},
]
NEEDS = [["online_administration", "email"], ["smartphone", "communication"],
         ["employment", "internet_search"], ["device_basics"], ["health_services", "security"]]
RECHARGES = ["RECH-MOBILE-NET-5GO", "RECH-INTER-30J", "RECH-NET-8GO", "RECH-INTER-ECO-14J"]
DEVICES = ["SMARTPHONE-RECOND", "TEL-BASIQUE", "PC-PORTABLE-RECOND", "TABLETTE-RECOND"]
# What the demo relais charge (at most the product's cap).
PRICES = {"RECH-MOBILE-NET-5GO": 1000, "RECH-INTER-30J": 500, "RECH-NET-8GO": 600,
          "RECH-INTER-ECO-14J": 250, "SMARTPHONE-RECOND": 5000, "TEL-BASIQUE": 1000,
          "PC-PORTABLE-RECOND": 12000, "TABLETTE-RECOND": 4500}
THEMES = ["administration", "communication", "employment", "health", "security", "shopping"]


@dataclass
class Desk:
    """One relais' stock as the demo hands it out: what is left, and which serials."""

    left: dict[str, int]
    serials: dict[str, list[str]] = field(default_factory=dict)

    def take(self, sku: str) -> bool:
        if self.left.get(sku, 0) <= 0:
            return False
        self.left[sku] -= 1
        return True


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"]))


def _hand_over(desk: Desk, day: date, sku: str, person_id: int, price: int | None = None,
               programme: str | None = None) -> None:
    if not desk.take(sku):
        return
    serial = desk.serials[sku].pop() if sku in desk.serials else None
    product_price = {"SIM-SOLIDAIRE": 100, "KIT-CONNECT-REFUGEES": 0}.get(sku)
    with clock_at(_at(day, 11)):
        distributions.record({"sku": sku, "serial": serial, "beneficiary_id": person_id, "date": day,
                              "price_cents": price if price is not None else product_price or 0,
                              "programme": programme})


def _people(siret: str, index: int, rng: random.Random) -> list[dict]:
    named = [dict(p) for p in PEOPLE.get(siret, [])]
    count = 7 + (index * 5) % 6
    for n in range(count - len(named)):
        profile = PROFILES[(index + n) % len(PROFILES)]
        person = {"first_name": FIRST_NAMES[(index * 3 + n) % len(FIRST_NAMES)],
                  "last_name": LAST_NAMES[(index + n * 5) % len(LAST_NAMES)],
                  "birth_year": 1950 + rng.randrange(55), **profile}
        if n % 4 == 3:
            person["no_phone"] = True
        else:
            person["phone"] = f"07 00 {index:02d} {n // 10:02d} {n % 100:02d}"
        named.append(person)
    return named


def _relais_year(relais: Relais, index: int, start: date, today: date) -> None:
    """Register the relais' people over the year, hand them what they need, hold workshops."""
    rng = random.Random(relais.siret)
    planned = dict(delivery_lines(relais))
    on_hand = {product.sku: quantity for product, quantity in distributions.on_hand_products(relais.id)}
    desk = Desk({sku: min(quantity, planned.get(sku, 0)) for sku, quantity in on_hand.items()})
    for product, _quantity in distributions.on_hand_products(relais.id):
        if product.serialized:
            desk.serials[product.sku] = distributions.units_at_relais(relais.id, product)
    refugees = "KIT-CONNECT-REFUGEES" in desk.left
    span = (today - start).days
    visits: list[tuple[date, int]] = []
    people = sorted(_people(relais.siret, index, rng), key=lambda p: p["last_name"])
    for n, person in enumerate(people):
        first = start + timedelta(days=(n * span) // len(people) + rng.randrange(10))
        first = min(first, today - timedelta(days=1 + n % 5))
        with clock_at(_at(first, 10)):
            beneficiary, _duplicates = registry.create({**person, "consent": True})
            accompaniment.record_diagnostic(beneficiary, ["beginner", "intermediate"][n % 2],
                                            NEEDS[n % len(NEEDS)])
        visits.append((first, beneficiary.id))
        if "connexion" in relais.dimensions:
            if refugees and person.get("nationality") == "outside_eu" and n % 2 == 0:
                _hand_over(desk, first, "KIT-CONNECT-REFUGEES", beneficiary.id, programme="connect_refugees")
            else:
                _hand_over(desk, first, "SIM-SOLIDAIRE", beneficiary.id)
                _hand_over(desk, first, "RECH-MOBILE-NET-5GO", beneficiary.id, 1000)
            # A recharge a month for a few months, within the year of solidarity connection.
            for month in range(1, 1 + rng.randrange(4)):
                day = first + timedelta(days=30 * month)
                if day < today:
                    sku = RECHARGES[(n + month) % len(RECHARGES)]
                    _hand_over(desk, day, sku, beneficiary.id, PRICES[sku])
        if "equipement" in relais.dimensions and n % 3 == 1:
            sku = DEVICES[n % len(DEVICES)]
            _hand_over(desk, min(first + timedelta(days=7), today), sku, beneficiary.id, PRICES[sku])
    if "accompagnement" in relais.dimensions or relais.siret in PEOPLE:
        # A workshop every three weeks with the people registered by then, and an open desk.
        for week in range(0, span // 7, 3):
            day = start + timedelta(days=week * 7 + 3)
            present = [pid for first, pid in visits if first <= day]
            if day >= today:
                break
            with clock_at(_at(day, 16)):
                accompaniment.record_session({
                    "kind": "atelier_thematique" if week % 4 else "permanence",
                    "theme": THEMES[week % len(THEMES)] if week % 4 else None, "date": day,
                    "duration_minutes": 120 if week % 4 else 180,
                    "beneficiary_ids": rng.sample(present, min(len(present), 2 + week % 4)),
                    "anonymous_count": week % 3 if present else 3,
                })


def load_demo_beneficiaries() -> None:
    """A year of front-desk activity in every active demo relais that has no people yet."""
    db.session.commit()  # tenant_session starts from a clean session
    sirets = [spec["siret"] for spec in network_specs()]
    relais_ids = [(r.id, n) for n, r in enumerate(db.session.scalars(
        select(Relais).where(Relais.siret.in_(sirets)).order_by(Relais.id))) if r.is_active]
    start = demo_start().date() + timedelta(days=35)  # once the year's delivery has arrived
    today = local_today()
    for relais_id, index in relais_ids:
        with tenant_session(db.session, TenantScope(relais_id=relais_id)):
            if db.session.scalar(select(Beneficiary.id).limit(1)) is not None:
                continue
            _relais_year(db.session.get_one(Relais, relais_id), index, start, today)
            db.session.commit()
