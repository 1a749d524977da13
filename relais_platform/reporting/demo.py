"""Demo data of reporting (idempotent): events and governance participations for the demo
relais, so the bilan has them, and a funder's agreement."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.reporting import events
from relais_platform.reporting.models import ReportingEvent
from relais_platform.tenancy import TenantScope, tenant_session
from relais_platform.tenants.models import Relais

# Keyed by the demo relais' SIRET; dates are days before today.
EVENTS = {
    "26330041200016": [  # CCAS de Bordeaux
        {"kind": "event", "title": "Journée portes ouvertes de l'espace numérique", "days_ago": 40,
         "participants": 35},
        {"kind": "governance", "title": "Comité de pilotage du réseau girondin", "days_ago": 20,
         "body": "Comité de pilotage départemental"},
    ],
    "78235513100023": [  # Secours Populaire — antenne de Gap
        {"kind": "event", "title": "Atelier « Mes démarches en ligne » au marché", "days_ago": 12,
         "participants": 14},
    ],
}


def load_demo_events() -> None:
    db.session.commit()  # tenant_session starts from a clean session
    for siret, specs in EVENTS.items():
        relais_id = db.session.scalar(select(Relais.id).where(Relais.siret == siret))
        if relais_id is None:
            continue
        with tenant_session(db.session, TenantScope(relais_id=relais_id)):
            if db.session.scalar(select(ReportingEvent.id).limit(1)) is not None:
                continue
            for spec in specs:
                data = {k: v for k, v in spec.items() if k != "days_ago"}
                days_ago = int(str(spec["days_ago"]))
                events.create({**data, "date": (utcnow() - timedelta(days=days_ago)).date()})
            db.session.commit()


def load_demo_funders() -> None:
    """The Hautes-Alpes agreement of the seeds (SFR's smartphones for the département's
    users), with targets, so the agreements' pages have something to show: idempotent."""
    from relais_platform.reporting.funders.models import Convention, Funder, FunderKind

    db.session.commit()
    with tenant_session(db.session, TenantScope(all_relais=True)):
        if db.session.scalar(select(Funder.id).where(Funder.name == "SFR")) is None:
            funder = Funder(name="SFR", kind=FunderKind.COMPANY)
            start = utcnow().date().replace(month=1, day=1)
            db.session.add(Convention(
                funder=funder, name="Smartphones solidaires des Hautes-Alpes",
                starts_on=start, ends_on=start + timedelta(days=547),
                departements=["05"], targets={"beneficiaries": 300, "accompaniment_hours": 600}))
            db.session.commit()


def load_demo() -> None:
    load_demo_events()
    load_demo_funders()
