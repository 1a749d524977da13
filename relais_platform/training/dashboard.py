"""The coach dashboard (a portfolio) and the national progress table: filter, sort, bound queries."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select

from relais_platform.accounts.models import Role, User
from relais_platform.extensions import db
from relais_platform.tenants.models import Relais
from relais_platform.training.access import followed_relais_ids, open_follow_scope
from relais_platform.training.progress import RelaisOverview, overview

_OLDEST = datetime.min.replace(year=1900)

SORT_KEYS: dict[str, Callable[[RelaisOverview], Any]] = {
    "name": lambda o: o.relais.name.lower(),
    "milestones": lambda o: o.milestones_percent,
    "training": lambda o: o.training.percent,
    "activity": lambda o: o.last_activity_at.replace(tzinfo=None) if o.last_activity_at else _OLDEST,
    "alerts": lambda o: len(o.alerts),
}


@dataclass(frozen=True)
class DashboardQuery:
    q: str | None = None
    departement: str | None = None
    alert: str | None = None  # an alert code, or "any"
    coach_id: int | None = None  # national table only
    sort: str = "name"
    descending: bool = False


def dashboard(actor: User, query: DashboardQuery) -> list[RelaisOverview]:
    """The relais `actor` follows (coach: its portfolio; national: all), with their progress."""
    open_follow_scope(actor, reason="coaching dashboard")
    stmt = select(Relais).where(Relais.id.in_(followed_relais_ids(actor)))
    if query.q:
        pattern = f"%{query.q.strip()}%"
        stmt = stmt.where(or_(Relais.name.ilike(pattern), Relais.city.ilike(pattern)))
    if query.departement:
        stmt = stmt.where(Relais.departement == query.departement.strip().upper())
    if query.coach_id and actor.role == Role.NATIONAL:
        stmt = stmt.where(Relais.coach_id == query.coach_id)
    rows = overview(stmt.order_by(Relais.name, Relais.id))
    if query.alert == "any":
        rows = [r for r in rows if r.alerts]
    elif query.alert:
        rows = [r for r in rows if any(a.code == query.alert for a in r.alerts)]
    key = SORT_KEYS.get(query.sort, SORT_KEYS["name"])
    return sorted(rows, key=key, reverse=query.descending)


def coaches() -> list[User]:
    return list(db.session.scalars(
        select(User).where(User.role == Role.COACH).order_by(User.name)))
