"""Fictitious beneficiaries for the demo relais (Bordeaux, Briançon): idempotent."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from relais_platform.beneficiaries import accompaniment, registry
from relais_platform.beneficiaries.models import Beneficiary
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.tenancy import TenantScope, tenant_session
from relais_platform.tenants.models import Relais

# Invented people (any resemblance is coincidental), keyed by the demo relais' SIRET.
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


def load_demo_beneficiaries() -> None:
    """Register the people above in their relais (once), with a diagnostic and a workshop."""
    db.session.commit()  # tenant_session starts from a clean session
    for siret, people in PEOPLE.items():
        relais_id = db.session.scalar(select(Relais.id).where(Relais.siret == siret))
        if relais_id is None:
            continue
        with tenant_session(db.session, TenantScope(relais_id=relais_id)):
            if db.session.scalar(select(Beneficiary.id).limit(1)) is not None:
                continue
            ids = []
            for person in people:
                beneficiary, _duplicates = registry.create({**person, "consent": True})
                accompaniment.record_diagnostic(beneficiary, "beginner", ["online_administration", "email"])
                ids.append(beneficiary.id)
            accompaniment.record_session({
                "kind": "atelier_thematique", "theme": "administration",
                "date": (utcnow() - timedelta(days=7)).date(), "duration_minutes": 120,
                "beneficiary_ids": ids, "anonymous_count": 2,
            })
            db.session.commit()
