"""Events a relais organises and its participations in governance bodies (both feed the bilan).

Relais staff log them for their own relais (the session is bound: another relais' event is
simply not found). Rules live here, shared by the web forms and the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import Select, func, select

from relais_platform.audit import services as audit
from relais_platform.audit.services import current_actor_id
from relais_platform.domain import NotFound, ValidationFailed
from relais_platform.extensions import db
from relais_platform.reporting.models import EventKind, ReportingEvent
from relais_platform.stock.scope import bound_relais_id, local_today

MAX_TITLE = 200
MAX_PARTICIPANTS = 100_000
EARLIEST = date(2000, 1, 1)
# Planned events may be logged ahead, within reason.
AHEAD = timedelta(days=366)
FIELDS = ("kind", "title", "date", "participants", "body")


def _clean(data: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    if not partial or "kind" in data:
        raw = data.get("kind")
        kind = raw.value if isinstance(raw, EventKind) else str(raw or "")
        if kind not in {k.value for k in EventKind}:
            errors["kind"] = [_("Choisissez « événement » ou « instance de gouvernance ».")]
        else:
            values["kind"] = EventKind(kind)
    if not partial or "title" in data:
        title = str(data.get("title") or "").strip()
        if not title:
            errors["title"] = [_("Indiquez un intitulé.")]
        elif len(title) > MAX_TITLE:
            errors["title"] = [_("%(n)d caractères au plus.", n=MAX_TITLE)]
        else:
            values["title"] = title
    if not partial or "date" in data:
        held_on = data.get("date")
        if not isinstance(held_on, date):
            errors["date"] = [_("Indiquez une date.")]
        elif not EARLIEST <= held_on <= local_today() + AHEAD:
            errors["date"] = [_("Indiquez une date entre le %(first)s et dans un an au plus.",
                                first=format_date(EARLIEST, "long"))]
        else:
            values["held_on"] = held_on
    if "participants" in data:
        count = data.get("participants")
        if count is None or count == "":
            values["participants"] = None
        elif isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_PARTICIPANTS:
            errors["participants"] = [_("Un nombre entier entre 0 et %(max)d.", max=MAX_PARTICIPANTS)]
        else:
            values["participants"] = count
    if "body" in data:
        body = str(data.get("body") or "").strip()
        if len(body) > MAX_TITLE:
            errors["body"] = [_("%(n)d caractères au plus.", n=MAX_TITLE)]
        else:
            values["body"] = body or None
    if errors:
        raise ValidationFailed(errors)
    return values


def create(data: Mapping[str, Any]) -> ReportingEvent:
    relais_id = bound_relais_id()
    values = _clean(data, partial=False)
    event = ReportingEvent(relais_id=relais_id, created_by_id=current_actor_id(), **values)
    db.session.add(event)
    db.session.flush()
    audit.record("reporting_event_created", target=event, details={"kind": event.kind.value})
    return event


def get(event_id: int) -> ReportingEvent:
    """One event of the bound relais; another relais' (or none) is not found."""
    bound_relais_id()
    event = db.session.scalar(select(ReportingEvent).where(ReportingEvent.id == event_id))
    if event is None:
        raise NotFound(_("Événement introuvable."))
    return event


def update(event: ReportingEvent, data: Mapping[str, Any]) -> ReportingEvent:
    values = _clean(data, partial=True)
    for name, value in values.items():
        setattr(event, name, value)
    db.session.flush()
    audit.record("reporting_event_updated", target=event, details={"fields": sorted(values)})
    return event


def delete(event: ReportingEvent) -> None:
    audit.record("reporting_event_deleted", target=event, details={"kind": event.kind.value})
    db.session.delete(event)
    db.session.flush()


def statement(kind: EventKind | None = None, year: int | None = None) -> Select:
    """The bound relais' events, newest first."""
    bound_relais_id()
    stmt = select(ReportingEvent)
    if kind is not None:
        stmt = stmt.where(ReportingEvent.kind == kind)
    if year is not None:
        stmt = stmt.where(ReportingEvent.held_on >= date(year, 1, 1),
                          ReportingEvent.held_on < date(year + 1, 1, 1))
    return stmt.order_by(ReportingEvent.held_on.desc(), ReportingEvent.id.desc())


def page(kind: EventKind | None, year: int | None, number: int,
         per_page: int) -> tuple[list[ReportingEvent], int]:
    stmt = statement(kind, year)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    items = list(db.session.scalars(stmt.limit(per_page).offset((number - 1) * per_page)))
    return items, total
