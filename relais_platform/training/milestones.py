"""Onboarding milestones and last activity, computed from what happened (no bookkeeping).

Both read *event sources*: a function that, given the relais ids as SQL, returns a SELECT of
`(relais_id, at)` rows. A milestone is done at its source's earliest event; the last
activity of a relais is the latest event of any activity source. Everything is one
`UNION ALL` query for any number of relais.

Further sources are added with `register_milestone(code, label, events)` and
`register_activity(code, events)`.

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
from relais_platform.training.models import Enrolment, TrainingRecord

EventQuery = Callable[[Select], Select]


@dataclass(frozen=True)
class EventSource:
    code: str
    label: Any  # lazy string
    events: EventQuery


MILESTONES: dict[str, EventSource] = {}
ACTIVITY: dict[str, EventSource] = {}


def register_milestone(code: str, label: Any, events: EventQuery) -> None:
    """Add (or replace) a milestone; milestones show in registration order."""
    MILESTONES[code] = EventSource(code, label, events)


def register_activity(code: str, events: EventQuery) -> None:
    ACTIVITY[code] = EventSource(code, code, events)


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


register_milestone("terms_accepted", _l("Charte et conditions acceptées"), _terms)
register_milestone("first_staff_trained", _l("Premier membre de l'équipe formé"), _trained)
register_milestone("first_order_submitted", _l("Première commande passée"), _order_submitted)
register_milestone("first_goods_received", _l("Premières marchandises reçues"), _goods_received)
register_milestone("first_distribution", _l("Première distribution"), _distribution)
register_milestone("first_monthly_report", _l("Premier état de stock mensuel"), _monthly_report)
register_milestone("first_accompaniment", _l("Premier accompagnement consigné"), _accompaniment)

register_activity("terms_accepted", _terms)
register_activity("staff_trained", _trained)
register_activity("orders", _orders_created)
register_activity("orders_submitted", _order_submitted)
register_activity("goods_received", _goods_received)
register_activity("stock_movements", _stock_movements)
register_activity("staff_logins", _staff_logins)
register_activity("training_enrolments", _enrolments)
register_activity("monthly_reports", _monthly_report)
register_activity("accompaniment", _accompaniment)


def _aggregated(sources: dict[str, EventSource], ids: Select, aggregate: Callable) -> CompoundSelect:
    parts = []
    for source in sources.values():
        events = source.events(ids).subquery()
        relais_col, at_col = list(events.c)
        parts.append(
            select(literal(source.code).label("code"), relais_col.label("relais_id"),
                   aggregate(at_col).label("at"))
            .group_by(relais_col)
        )
    return union_all(*parts)


def milestone_dates(ids: Select) -> dict[int, dict[str, datetime]]:
    """{relais_id: {milestone code: done_at}} for the milestones reached (one query)."""
    result: dict[int, dict[str, datetime]] = {}
    if not MILESTONES:
        return result
    for code, relais_id, at in db.session.execute(_aggregated(MILESTONES, ids, func.min)):
        result.setdefault(relais_id, {})[code] = at
    return result


def activity_events(ids: Select) -> CompoundSelect:
    """Every activity source's latest event per relais, as rows (code, relais_id, at)."""
    return _aggregated(ACTIVITY, ids, func.max)


def last_activity_query(ids: Select) -> Select:
    events = activity_events(ids).subquery()
    return select(events.c.relais_id, func.max(events.c.at).label("at")).group_by(events.c.relais_id)


def last_activity(ids: Select) -> dict[int, datetime]:
    return {relais_id: at for relais_id, at in db.session.execute(last_activity_query(ids))}
