"""The demo relais' reporting: monthly stock reports (mostly on time, some late, a few still
missing), events and governance participations for the bilan, and a funder's agreement.
Idempotent: a relais that already reported or logged events is skipped for that part.

Runs last, once the year's hand-overs are in the ledger; each report is sent through the
service under the clock of its sending day.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from flask import current_app
from sqlalchemy import select

from relais_platform.extensions import db
from relais_platform.orm import clock_at, utcnow
from relais_platform.reporting import events
from relais_platform.reporting.models import ReportingEvent
from relais_platform.stock.catalogue.models import Product
from relais_platform.stock.demo import demo_start
from relais_platform.stock.reports import services as reports
from relais_platform.stock.reports.models import StockReport
from relais_platform.stock.warehouse.models import SerialUnit, UnitStatus
from relais_platform.tenancy import TenantScope, tenant_session
from relais_platform.tenants.demo import network_specs
from relais_platform.tenants.models import Relais

# Keyed by the demo relais' SIRET; dates are days before today.
EVENTS: dict[str, list[dict[str, Any]]] = {
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
    "44719082600019": [  # CADA de Briançon
        {"kind": "event", "title": "Soirée d'accueil des familles arrivées cet été", "days_ago": 70,
         "participants": 22},
    ],
}
# Events of the other relais, spread over the year.
NETWORK_EVENTS: list[dict[str, Any]] = [
    {"kind": "event", "title": "Forum de l'accès aux droits", "participants": 40},
    {"kind": "event", "title": "Café numérique du quartier", "participants": 12},
    {"kind": "governance", "title": "Réunion du collectif départemental d'inclusion numérique",
     "body": "Collectif départemental"},
]


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def _send_reports(relais: Relais, index: int, periods: list[date]) -> None:
    """Each month's report, counted as computed (a lost SIM card now and then); a few late,
    and one relais in five has sent neither of the last two (one of them overdue)."""
    rng = random.Random(f"reports-{relais.siret}")
    for position, period in enumerate(periods):
        recent = position >= len(periods) - 2
        if (recent and index % 5 == 0) or rng.random() < 0.05:
            continue
        lines = []
        for row in reports.prefill(relais.id, period):
            line = {"sku": row.sku, "counted_closing": row.expected_closing, "losses": row.losses}
            if row.sku == "SIM-SOLIDAIRE" and row.expected_closing > 2 and rng.random() < 0.15:
                # A lost serialized unit is named: it is written off with the report.
                lost = db.session.scalar(
                    select(SerialUnit.serial).join(Product, Product.id == SerialUnit.product_id)
                    .where(Product.sku == row.sku, SerialUnit.status == UnitStatus.AT_RELAIS)
                    .order_by(SerialUnit.serial).limit(1))
                if lost is not None:
                    line.update(losses=row.losses + 1, counted_closing=row.expected_closing - 1,
                                loss_reason_code="damaged", loss_reason="Carte SIM abîmée, inutilisable.",
                                lost_serials=[lost])
            lines.append(line)
        if not lines:
            continue
        late = rng.random() < 0.15
        delay = rng.randrange(3, 12) if late else -rng.randrange(1, 9)
        sent_on = reports.due_on(period) + timedelta(days=delay)
        sent_at = datetime.combine(sent_on, time(14), tzinfo=_zone())
        if sent_at >= utcnow():
            continue
        with clock_at(sent_at):
            reports.submit(reports.format_period(period), lines)


def _log_events(relais: Relais, index: int, today: date) -> None:
    specs = EVENTS.get(relais.siret)
    if specs is None:
        if index % 3:
            return
        specs = [{**spec, "days_ago": 30 + 110 * n + index % 20} for n, spec in enumerate(NETWORK_EVENTS)]
    for spec in specs:
        data = {k: v for k, v in spec.items() if k != "days_ago"}
        day = today - timedelta(days=spec["days_ago"])
        with clock_at(datetime.combine(day, time(18), tzinfo=_zone())):
            events.create({**data, "date": day})


def load_demo_events() -> None:
    """Monthly stock reports since the year's delivery, and events, per active demo relais."""
    db.session.commit()  # tenant_session starts from a clean session
    sirets = [spec["siret"] for spec in network_specs()]
    relais_ids = [(r.id, n) for n, r in enumerate(db.session.scalars(
        select(Relais).where(Relais.siret.in_(sirets)).order_by(Relais.id))) if r.is_active]
    today = utcnow().astimezone(_zone()).date()
    first = demo_start().date().replace(day=1)
    last = reports.last_ended_period()
    periods = [first + relativedelta(months=n) for n in range(120) if first + relativedelta(months=n) <= last]
    for relais_id, index in relais_ids:
        with tenant_session(db.session, TenantScope(relais_id=relais_id)):
            relais = db.session.get_one(Relais, relais_id)
            if db.session.scalar(select(StockReport.id).limit(1)) is None:
                _send_reports(relais, index, periods)
            if db.session.scalar(select(ReportingEvent.id).limit(1)) is None:
                _log_events(relais, index, today)
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
