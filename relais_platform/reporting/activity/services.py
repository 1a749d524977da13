"""The activity report: any period, any scope the actor may see, breakdowns by profile.

Same reach as the annual bilan (`bilan.resolve_scope`: relais staff their relais, coaches
their portfolio, national the network, narrowed by relais, département, region or an
agreement). Personal data is counted by the database function `activity_personal_counts`
(migration 0016), which returns counts only; the rest are SQL aggregates over
non-personal tables. Outside a relais' own view the report goes through `privacy.protect`.

Definitions: as the bilan's (beneficiaries = named people reached, each once, + anonymous
attendances and distributions; hours = Σ duration × participants). Breakdowns by profile
(situation, age band, housing, banked, nationality, language, département) count the named
people reached in the period, each once ("unknown" when not recorded); session_kind and
theme count sessions ("none": no theme); programme counts quantities distributed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, func, select, text, union

from relais_platform.accounts.models import Role, User
from relais_platform.beneficiaries.models import AccompanimentSession
from relais_platform.domain import ValidationFailed
from relais_platform.extensions import db
from relais_platform.replica import on_replica
from relais_platform.reporting.activity.privacy import protect
from relais_platform.reporting.bilan import BilanScope, resolve_scope
from relais_platform.reporting.models import EventKind, ReportingEvent, ReportingRelaisDays
from relais_platform.training.models import TrainingRecord

MAX_DAYS = 366 * 5
FIRST_DAY = date(2000, 1, 1)
BREAKDOWNS = ("situation", "age_band", "housing", "banked", "nationality", "language", "referrer_kind",
              "session_kind", "theme", "programme", "departement")
TOTALS = ("beneficiaries", "new_beneficiaries", "accompaniment_hours", "sessions", "parcours_completed",
          "events", "governance", "relais_active", "professionals_trained")
STAFF = (Role.RELAIS_ADMIN, Role.RELAIS_WORKER)


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of equal length just before: as many whole months when the period is
        made of whole months (a year: the year before, a quarter: the quarter before), as many
        days otherwise."""
        after_end = self.end + timedelta(days=1)
        if self.start.day == 1 and after_end.day == 1:
            months = (after_end.year - self.start.year) * 12 + after_end.month - self.start.month
            index = self.start.year * 12 + self.start.month - 1 - months
            return Period(date(index // 12, index % 12 + 1, 1), self.start - timedelta(days=1))
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))


def parse_period(start: Any, end: Any) -> Period:
    """Two ISO dates, in order, at most five years apart: 422 naming the field otherwise."""
    errors: dict[str, list[str]] = {}
    days: dict[str, date] = {}
    for name, value in (("from", start), ("to", end)):
        if isinstance(value, date):
            days[name] = value
            continue
        try:
            days[name] = date.fromisoformat(str(value or "").strip())
        except ValueError:
            errors[name] = [_("Date attendue au format AAAA-MM-JJ.")]
    if not errors:
        if days["from"] < FIRST_DAY:
            errors["from"] = [_("Date trop ancienne.")]
        elif days["to"] < days["from"]:
            errors["to"] = [_("La fin de la période précède son début.")]
        elif (days["to"] - days["from"]).days >= MAX_DAYS:
            errors["to"] = [_("Période limitée à cinq ans.")]
    if errors:
        raise ValidationFailed(errors)
    return Period(days["from"], days["to"])


@dataclass(frozen=True)
class ActivityScope:
    bilan: BilanScope
    # Figures exact (the relais' own view) or protected (everyone else).
    exact: bool
    convention_id: int | None = None

    def describe(self) -> dict[str, Any]:
        return {"kind": self.bilan.kind, "label": self.bilan.label, "exact": self.exact,
                **self.bilan.filters,
                **({"convention_id": self.convention_id} if self.convention_id else {})}


def resolve_activity_scope(actor: User, *, relais_id: int | None = None, departement: str | None = None,
                           region: str | None = None,
                           agreement: tuple[int, tuple[int, ...] | None] | None = None) -> ActivityScope:
    """The bilan's reach, narrowed to an agreement's relais when `agreement` (its id and the
    relais it covers, None for all) is given: `funders.services.activity_scope` resolves it."""
    scope = resolve_scope(actor, relais_id=relais_id, departement=departement, region=region)
    exact = actor.role in STAFF
    if agreement is None:
        return ActivityScope(scope, exact)
    convention_id, covered = agreement
    if covered is not None:
        ids = covered if scope.relais_ids is None else tuple(sorted(set(scope.relais_ids) & set(covered)))
        scope = replace(scope, relais_ids=ids)
    filters = {**scope.filters, "convention_id": convention_id}
    return ActivityScope(replace(scope, filters=filters), exact, convention_id)


def _zone() -> str:
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def _bounds(period: Period) -> tuple[datetime, datetime]:
    zone = ZoneInfo(_zone())
    return (datetime.combine(period.start, time(), tzinfo=zone),
            datetime.combine(period.end + timedelta(days=1), time(), tzinfo=zone))


def _in_scope(stmt: Select, relais_column: Any, scope: BilanScope) -> Select:
    return stmt if scope.relais_ids is None else stmt.where(relais_column.in_(scope.relais_ids))


def _empty_totals() -> dict[str, Any]:
    return {**dict.fromkeys(TOTALS, 0), "accompaniment_hours": 0.0, "distributions": {}}


def _personal(scope: BilanScope, period: Period, totals: dict[str, Any],
              breakdowns: dict[str, dict[str, int]] | None) -> None:
    rows = db.session.execute(
        text("SELECT metric, label, value FROM activity_personal_counts(:ids, :lo, :hi, :zone, :details)")
        .execution_options(replica=True),
        {"ids": None if scope.relais_ids is None else list(scope.relais_ids), "lo": period.start,
         "hi": period.end, "zone": _zone(), "details": breakdowns is not None},
    )
    anonymous = named = 0
    for metric, label, value in rows:  # aggregate rows only: a few per category
        amount = int(value or 0)
        if metric == "sku":
            totals["distributions"][label] = amount
        elif metric == "minutes":
            totals["accompaniment_hours"] = float((Decimal(value) / 60).quantize(Decimal("0.01")))
        elif metric in ("anonymous_attendances", "anonymous_distributions"):
            anonymous += amount
        elif metric == "named":
            named = amount
        elif metric in ("sessions", "new_beneficiaries", "parcours_completed"):
            totals[metric] = amount
        elif breakdowns is not None and metric in breakdowns:
            breakdowns[metric][label] = amount
    totals["beneficiaries"] = named + anonymous
    totals["distributions"] = dict(sorted(totals["distributions"].items()))


def _events(scope: BilanScope, period: Period, totals: dict[str, Any]) -> None:
    stmt = _in_scope(
        select(ReportingEvent.kind, func.count())
        .where(ReportingEvent.held_on >= period.start, ReportingEvent.held_on <= period.end)
        .group_by(ReportingEvent.kind),
        ReportingEvent.relais_id, scope)
    for kind, count in db.session.execute(stmt):
        totals["events" if kind == EventKind.EVENT else "governance"] = count


def _trained(scope: BilanScope, period: Period, totals: dict[str, Any]) -> None:
    start, end = _bounds(period)
    t = TrainingRecord
    totals["professionals_trained"] = db.session.scalar(_in_scope(
        select(func.count(func.distinct(t.user_id))).where(t.completed_at >= start, t.completed_at < end),
        t.relais_id, scope)) or 0


def _active(scope: BilanScope, period: Period, totals: dict[str, Any]) -> None:
    start, end = _bounds(period)
    s, d, e, t = AccompanimentSession, ReportingRelaisDays, ReportingEvent, TrainingRecord
    activity = union(
        _in_scope(select(s.relais_id.label("relais_id"))
                  .where(s.deleted_at.is_(None), s.held_on >= period.start, s.held_on <= period.end),
                  s.relais_id, scope),
        # Distributions are personal data; the days their ledger movements fell on are not.
        _in_scope(select(d.relais_id).where(
            d.year.between(period.start.year, period.end.year),
            func.bit_count(d.days.op("&")(func.reporting_day_mask(d.year, period.start, period.end))) > 0,
        ), d.relais_id, scope),
        _in_scope(select(e.relais_id).where(e.held_on >= period.start, e.held_on <= period.end),
                  e.relais_id, scope),
        _in_scope(select(t.relais_id).where(t.completed_at >= start, t.completed_at < end),
                  t.relais_id, scope),
    ).subquery()
    totals["relais_active"] = db.session.scalar(select(func.count()).select_from(activity)) or 0


def _totals(scope: BilanScope, period: Period,
            breakdowns: dict[str, dict[str, int]] | None) -> dict[str, Any]:
    totals = _empty_totals()
    if scope.relais_ids == ():  # an agreement or a filter that reaches no relais
        return totals
    _personal(scope, period, totals, breakdowns)
    _events(scope, period, totals)
    _trained(scope, period, totals)
    _active(scope, period, totals)
    return totals


@on_replica
def activity_report(scope: ActivityScope, period: Period) -> dict[str, Any]:
    """The report of `period` in `scope` (already resolved and opened), exact or protected."""
    breakdowns: dict[str, dict[str, int]] = {name: {} for name in BREAKDOWNS}
    totals = _totals(scope.bilan, period, breakdowns)
    previous = _totals(scope.bilan, period.previous(), None)
    report = {
        "period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
        "scope": scope.describe(),
        "totals": totals,
        "previous": previous,
        "breakdowns": {name: dict(sorted(cells.items())) for name, cells in breakdowns.items()},
    }
    return report if scope.exact else protect(report)
