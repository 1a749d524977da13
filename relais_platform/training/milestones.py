"""Onboarding milestones and last activity of the relais.

Both rest on *event sources*: a kind of event (a sign-in, a distribution...) and a function
that, given the relais ids as SQL, returns the facts as a SELECT of `(relais_id, at)` rows. A
milestone is done at its source's earliest event; the last activity of a relais is the latest
event of any activity source. Pages read each relais' first and last event of every kind from
`relais_event_summary`, which triggers keep up to date as the facts are written (migration
0019); `verify_activity` recomputes it from the facts with the sources' queries and reports any
drift (`flask --app wsgi training verify-activity`).

Further sources are added with `register_milestone(code, label, kind, events)` and
`register_activity(code, kind, events)`, plus a trigger for the kind in a migration.

Milestones: `terms_accepted` (relais.terms_accepted_at), `first_staff_trained` (training
records), `first_order_submitted` (orders.submitted_at), `first_goods_received`
(orders.received_at), `first_distribution` (relais stock movements of kind distribution),
`first_monthly_report` (stock_reports.submitted_at), `first_accompaniment`
(accompaniment_sessions.created_at). Only tables without personal data are read: coaches
never reach a beneficiary through a milestone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import CompoundSelect, Select, func, literal, select, union_all

from relais_platform.accounts.models import User
from relais_platform.beneficiaries.models import AccompanimentSession
from relais_platform.extensions import db
from relais_platform.stock.orders.models import Order
from relais_platform.stock.reports.models import StockReport
from relais_platform.stock.warehouse.models import RelaisMovementKind, RelaisStockMovement
from relais_platform.tenants.models import Relais
from relais_platform.training.models import Enrolment, RelaisEventSummary, TrainingRecord

EventQuery = Callable[[Select], Select]


@dataclass(frozen=True)
class EventSource:
    code: str
    label: Any  # lazy string
    kind: str  # its kind in relais_event_summary
    events: EventQuery


MILESTONES: dict[str, EventSource] = {}
ACTIVITY: dict[str, EventSource] = {}


def register_milestone(code: str, label: Any, kind: str, events: EventQuery) -> None:
    """Add (or replace) a milestone; milestones show in registration order."""
    MILESTONES[code] = EventSource(code, label, kind, events)


def register_activity(code: str, kind: str, events: EventQuery) -> None:
    ACTIVITY[code] = EventSource(code, code, kind, events)


def _terms(ids: Select) -> Select:
    return select(Relais.id, Relais.terms_accepted_at).where(
        Relais.id.in_(ids), Relais.terms_accepted_at.is_not(None))


def _trained(ids: Select) -> Select:
    return select(TrainingRecord.relais_id, TrainingRecord.completed_at).where(
        TrainingRecord.relais_id.in_(ids))


def _order_submitted(ids: Select) -> Select:
    return select(Order.relais_id, Order.submitted_at).where(
        Order.relais_id.in_(ids), Order.submitted_at.is_not(None))


def _goods_received(ids: Select) -> Select:
    return select(Order.relais_id, Order.received_at).where(
        Order.relais_id.in_(ids), Order.received_at.is_not(None))


def _distribution(ids: Select) -> Select:
    return select(RelaisStockMovement.relais_id, RelaisStockMovement.occurred_at).where(
        RelaisStockMovement.relais_id.in_(ids),
        RelaisStockMovement.kind == RelaisMovementKind.DISTRIBUTION)


def _monthly_report(ids: Select) -> Select:
    return select(StockReport.relais_id, StockReport.submitted_at).where(StockReport.relais_id.in_(ids))


def _accompaniment(ids: Select) -> Select:
    return select(AccompanimentSession.relais_id, AccompanimentSession.created_at).where(
        AccompanimentSession.relais_id.in_(ids), AccompanimentSession.deleted_at.is_(None))


def _orders_created(ids: Select) -> Select:
    return select(Order.relais_id, Order.created_at).where(Order.relais_id.in_(ids))


def _stock_movements(ids: Select) -> Select:
    return select(RelaisStockMovement.relais_id, RelaisStockMovement.occurred_at).where(
        RelaisStockMovement.relais_id.in_(ids))


def _staff_logins(ids: Select) -> Select:
    return select(User.relais_id, User.last_login_at).where(
        User.relais_id.in_(ids), User.last_login_at.is_not(None))


def _enrolments(ids: Select) -> Select:
    return select(Enrolment.relais_id, Enrolment.created_at).where(Enrolment.relais_id.in_(ids))


register_milestone("terms_accepted", _l("Charte et conditions acceptées"), "terms_accepted", _terms)
register_milestone("first_staff_trained", _l("Premier membre de l'équipe formé"), "staff_trained", _trained)
register_milestone("first_order_submitted", _l("Première commande passée"), "order_submitted",
                   _order_submitted)
register_milestone("first_goods_received", _l("Premières marchandises reçues"), "goods_received",
                   _goods_received)
register_milestone("first_distribution", _l("Première distribution"), "distribution", _distribution)
register_milestone("first_monthly_report", _l("Premier état de stock mensuel"), "monthly_report",
                   _monthly_report)
register_milestone("first_accompaniment", _l("Premier accompagnement consigné"), "accompaniment",
                   _accompaniment)

register_activity("terms_accepted", "terms_accepted", _terms)
register_activity("staff_trained", "staff_trained", _trained)
register_activity("orders", "order_created", _orders_created)
register_activity("orders_submitted", "order_submitted", _order_submitted)
register_activity("goods_received", "goods_received", _goods_received)
register_activity("stock_movements", "stock_movement", _stock_movements)
register_activity("staff_logins", "staff_login", _staff_logins)
register_activity("training_enrolments", "training_enrolment", _enrolments)
register_activity("monthly_reports", "monthly_report", _monthly_report)
register_activity("accompaniment", "accompaniment", _accompaniment)


def _sources() -> dict[str, EventSource]:
    """One source per kind of event (milestones and activity share some)."""
    return {source.kind: source for source in [*MILESTONES.values(), *ACTIVITY.values()]}


def _from_facts(ids: Select) -> CompoundSelect:
    """(kind, relais_id, first, last) of every kind, computed from the facts."""
    parts = []
    for source in _sources().values():
        events = source.events(ids).subquery()
        relais_col, at_col = list(events.c)
        parts.append(
            select(literal(source.kind).label("kind"), relais_col.label("relais_id"),
                   func.min(at_col).label("first_at"), func.max(at_col).label("last_at"))
            .where(at_col.is_not(None)).group_by(relais_col)
        )
    return union_all(*parts)


def milestone_dates(ids: Select) -> dict[int, dict[str, datetime]]:
    """{relais_id: {milestone code: done_at}} for the milestones reached (one query)."""
    result: dict[int, dict[str, datetime]] = {}
    codes = {source.kind: code for code, source in MILESTONES.items()}
    if not codes:
        return result
    s = RelaisEventSummary
    rows = db.session.execute(
        select(s.kind, s.relais_id, s.first_at).where(s.relais_id.in_(ids), s.kind.in_(list(codes))))
    for kind, relais_id, at in rows:
        result.setdefault(relais_id, {})[codes[kind]] = at
    return result


def last_activity(ids: Select) -> dict[int, datetime]:
    """Each relais' latest event of any activity source (one query)."""
    s = RelaisEventSummary
    kinds = sorted({source.kind for source in ACTIVITY.values()})
    rows = db.session.execute(
        select(s.relais_id, func.max(s.last_at)).where(s.relais_id.in_(ids), s.kind.in_(kinds))
        .group_by(s.relais_id))
    return {relais_id: at for relais_id, at in rows}


@dataclass(frozen=True)
class Drift:
    relais_id: int
    kind: str
    summary: tuple[datetime, datetime] | None
    facts: tuple[datetime, datetime] | None


def verify_activity() -> list[Drift]:
    """Every (relais, kind) whose summary row differs from what the facts say (national scope)."""
    ids = select(Relais.id)
    facts = {(r.relais_id, r.kind): (r.first_at, r.last_at) for r in db.session.execute(_from_facts(ids))}
    s = RelaisEventSummary
    summary = {(r.relais_id, r.kind): (r.first_at, r.last_at)
               for r in db.session.execute(select(s.relais_id, s.kind, s.first_at, s.last_at))}
    return [Drift(relais_id, kind, summary.get((relais_id, kind)), facts.get((relais_id, kind)))
            for relais_id, kind in sorted(facts.keys() | summary.keys())
            if summary.get((relais_id, kind)) != facts.get((relais_id, kind))]
