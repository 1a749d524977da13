"""The annual bilan owed to funders: one relais, a coach's portfolio, a département, a region
or the whole network, for a calendar year, with the previous year beside it.

Every figure is an SQL aggregate: a handful of queries whatever the size of the network,
never a loop over rows, never a name.

- Relais users get their own relais (their session is bound to it).
- Coaches get their portfolio (or one relais of it), national users the network (or a
  relais, a département, a region); both through the audited network scope
  (`audit.services.network_access`), opened here before anything is read.
- Beneficiaries and what is logged about them are personal data, never reachable through a
  network scope: they are counted by the database function `bilan_personal_counts`
  (migration 0006), which returns counts only, for the relais the caller's scope allows.

Definitions (also shown on the page and in the exports):
- beneficiaries accompanied = named people who attended a session or received something
  during the year, each counted once, + anonymous attendances + anonymous distributions
  (anonymous people cannot be told apart, so each occurrence counts);
- hours of accompaniment = Σ session duration × participants (named + anonymous);
- distributions = quantities distributed, cancellations excluded;
- professionals trained = relais staff who completed at least one training module;
- relais active = relais with a session, a distribution, an event or a training completed;
- referrers = structures that referred at least one person registered during the year, and
  the new people per kind of referring structure ("none" when no structure was named).
Deleted accompaniment sessions count nowhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Integer, Select, String, column, func, select, text, union, values

from relais_platform.accounts.models import Role, User
from relais_platform.audit.services import network_access
from relais_platform.beneficiaries.models import AccompanimentSession
from relais_platform.domain import NotFound, ValidationFailed
from relais_platform.extensions import db
from relais_platform.replica import on_replica
from relais_platform.reporting.models import EventKind, ReportingEvent, ReportingRelaisDays
from relais_platform.stock.scope import local_today
from relais_platform.tenancy import current_scope
from relais_platform.tenants.geography import all_regions, region_of
from relais_platform.tenants.models import Relais
from relais_platform.training.models import TrainingRecord

FIRST_YEAR = 2000

# Metropolitan codes 01–95 (Corsica as 2A/2B), then the overseas départements.
ALL_DEPARTEMENTS: tuple[str, ...] = tuple(
    [f"{n:02d}" for n in range(1, 96) if n != 20] + ["2A", "2B", "971", "972", "973", "974", "976"]
)
REGIONS: tuple[str, ...] = tuple(all_regions())

CATEGORY_GROUPS: dict[str, str] = {
    "sim": "sims", "recharge": "recharges", "laptop": "devices", "smartphone": "devices",
    "tablet": "devices", "basic_phone": "devices", "kit": "kits", "other": "other",
}
CATEGORY_ORDER = ("sims", "recharges", "devices", "kits", "other")

SCOPE_KINDS = ("relais", "portfolio", "departement", "region", "network")


@dataclass(frozen=True)
class BilanScope:
    kind: str  # one of SCOPE_KINDS
    label: str
    # None: every relais the opened network scope allows; else these relais only.
    relais_ids: tuple[int, ...] | None
    relais_id: int | None = None
    departement: str | None = None
    region: str | None = None
    filters: dict[str, Any] = field(default_factory=dict)


def parse_year(value: Any) -> int:
    """A calendar year already begun: 422 otherwise."""
    this_year = local_today().year
    try:
        year = int(str(value).strip())
    except (TypeError, ValueError):
        year = 0
    if not FIRST_YEAR <= year <= this_year:
        raise ValidationFailed.field(
            "year", _("Indiquez une année entre %(first)d et %(last)d.", first=FIRST_YEAR, last=this_year))
    return year


def region_values() -> Any:
    """The département → region mapping as an SQL VALUES list (joins and groupings)."""
    return values(column("departement", String), column("region", String),
                  name="regions").data([(dep, region_of(dep)) for dep in ALL_DEPARTEMENTS])


def _normalise_departement(value: str | None) -> str | None:
    code = (value or "").strip().upper()
    if not code:
        return None
    if code not in ALL_DEPARTEMENTS:
        raise ValidationFailed.field("departement", _("Département inconnu."))
    return code


def _normalise_region(value: str | None) -> str | None:
    name = (value or "").strip()
    if not name:
        return None
    if name not in REGIONS:
        raise ValidationFailed.field("region", _("Région inconnue."))
    return name


def resolve_scope(actor: User, *, relais_id: int | None = None, departement: str | None = None,
                  region: str | None = None) -> BilanScope:
    """What `actor` may see, narrowed by the filters; opens the audited scope it needs.

    Another relais (for relais staff) or a relais outside the portfolio (for a coach) is
    answered 404, like a relais that does not exist.
    """
    departement = _normalise_departement(departement)
    region = _normalise_region(region)
    filters = {k: v for k, v in (("relais_id", relais_id), ("departement", departement),
                                 ("region", region)) if v is not None}
    if actor.role not in (Role.NATIONAL, Role.COACH):
        own = current_scope(db.session).relais_id
        if own is None or own != actor.relais_id or (relais_id is not None and relais_id != own):
            raise NotFound(_("Relais introuvable."))
        name = db.session.scalar(select(Relais.name).where(Relais.id == own))
        return BilanScope("relais", name or "", (own,), relais_id=own, filters={"relais_id": own})

    reachable = select(Relais.id)
    if actor.role == Role.COACH:
        reachable = reachable.where(Relais.coach_id == actor.id)
    if relais_id is not None:
        relais = db.session.execute(
            select(Relais.id, Relais.name).where(Relais.id == relais_id, Relais.id.in_(reachable))
        ).one_or_none()
        if relais is None:
            raise NotFound(_("Relais introuvable."))
        network_access([relais.id], reason="annual bilan")
        return BilanScope("relais", relais.name, (relais.id,), relais_id=relais.id, filters=filters)

    narrowed = reachable
    if departement is not None:
        narrowed = narrowed.where(Relais.departement == departement)
    if region is not None:
        regions = region_values()
        narrowed = narrowed.join(regions, regions.c.departement == Relais.departement).where(
            regions.c.region == region)
    if actor.role == Role.NATIONAL and departement is None and region is None:
        network_access(None, reason="annual bilan")
        return BilanScope("network", _("Réseau national"), None, filters=filters)
    ids = tuple(sorted(db.session.scalars(narrowed)))
    network_access(ids, reason="annual bilan")
    if departement is not None:
        kind, label = "departement", _("Département %(code)s", code=departement)
    elif region is not None:
        kind, label = "region", region
    else:
        kind, label = "portfolio", _("Portefeuille de %(name)s", name=actor.name)
    return BilanScope(kind, label, ids, departement=departement, region=region, filters=filters)


# --- the figures --------------------------------------------------------------------------


def _zone_name() -> str:
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def _year_bounds(first: int, last: int) -> tuple[datetime, datetime]:
    zone = ZoneInfo(_zone_name())
    return (datetime.combine(date(first, 1, 1), time(), tzinfo=zone),
            datetime.combine(date(last + 1, 1, 1), time(), tzinfo=zone))


def _in_scope(stmt: Select, relais_column: Any, scope: BilanScope) -> Select:
    # The network scope already limits what is visible; the ids narrow it further.
    return stmt if scope.relais_ids is None else stmt.where(relais_column.in_(scope.relais_ids))


def _local_year(moment: Any) -> Any:
    return func.extract("year", func.timezone(_zone_name(), moment)).cast(Integer)


def _empty_year() -> dict[str, Any]:
    return {
        "beneficiaries": 0, "beneficiaries_named": 0, "beneficiaries_anonymous": 0,
        "new_beneficiaries": 0, "parcours_completed": 0, "accompaniment_hours": 0.0,
        "accompaniment_sessions": 0, "events": 0, "event_participants": 0,
        "governance_participations": 0, "distributions": {},
        "distributions_by_category": dict.fromkeys(CATEGORY_ORDER, 0),
        "connect_refugees": {"kits": 0, "programme": 0},
        "professionals_trained": 0, "relais_active": 0,
        "referrers": 0, "new_beneficiaries_by_referrer_kind": {},
    }


def _personal_counts(scope: BilanScope, first: int, last: int, years: dict[int, dict[str, Any]]) -> None:
    rows = db.session.execute(
        text("SELECT metric, year, label, value FROM bilan_personal_counts(:ids, :first, :last, :zone)")
        .execution_options(replica=True),
        {"ids": None if scope.relais_ids is None else list(scope.relais_ids), "first": first,
         "last": last, "zone": _zone_name()},
    )
    minutes: dict[int, Decimal] = {}
    for metric, year, label, value in rows:  # aggregate rows: a few per product and year
        figures = years[year]
        amount = int(value or 0)
        if metric == "sku":
            figures["distributions"][label] = amount
        elif metric == "category":
            group = CATEGORY_GROUPS.get(label, "other")
            figures["distributions_by_category"][group] += amount
            if label == "kit":
                figures["connect_refugees"]["kits"] = amount
        elif metric == "programme":
            if label == "connect_refugees":
                figures["connect_refugees"]["programme"] = amount
        elif metric == "minutes":
            minutes[year] = Decimal(value or 0)
        elif metric == "sessions":
            figures["accompaniment_sessions"] = amount
        elif metric in ("anonymous_attendances", "anonymous_distributions"):
            figures["beneficiaries_anonymous"] += amount
        elif metric == "named":
            figures["beneficiaries_named"] = amount
        elif metric == "referrer_kind":
            figures["new_beneficiaries_by_referrer_kind"][label] = amount
        elif metric in ("new_beneficiaries", "parcours_completed", "referrers"):
            figures[metric] = amount
    for year, total in minutes.items():
        years[year]["accompaniment_hours"] = float((total / 60).quantize(Decimal("0.01")))


def _events(scope: BilanScope, first: int, last: int, years: dict[int, dict[str, Any]]) -> None:
    year = func.extract("year", ReportingEvent.held_on).cast(Integer)
    participants = func.coalesce(func.sum(ReportingEvent.participants), 0)
    stmt = _in_scope(
        select(year, ReportingEvent.kind, func.count(), participants)
        .where(ReportingEvent.held_on >= date(first, 1, 1),
               ReportingEvent.held_on < date(last + 1, 1, 1))
        .group_by(year, ReportingEvent.kind),
        ReportingEvent.relais_id, scope)
    for y, kind, count, participants in db.session.execute(stmt):
        if kind == EventKind.EVENT:
            years[y]["events"] = count
            years[y]["event_participants"] = int(participants)
        else:
            years[y]["governance_participations"] = count


def _trained(scope: BilanScope, first: int, last: int, years: dict[int, dict[str, Any]]) -> None:
    start, end = _year_bounds(first, last)
    year = _local_year(TrainingRecord.completed_at)
    stmt = _in_scope(
        select(year, func.count(func.distinct(TrainingRecord.user_id)))
        .where(TrainingRecord.completed_at >= start, TrainingRecord.completed_at < end)
        .group_by(year),
        TrainingRecord.relais_id, scope)
    for y, count in db.session.execute(stmt):
        years[y]["professionals_trained"] = count


def _active(scope: BilanScope, first: int, last: int, years: dict[int, dict[str, Any]]) -> None:
    start, end = _year_bounds(first, last)
    lo, hi = start.date(), end.date()
    s, d, e, t = AccompanimentSession, ReportingRelaisDays, ReportingEvent, TrainingRecord
    activity = union(
        _in_scope(select(func.extract("year", s.held_on).cast(Integer).label("year"),
                         s.relais_id.label("relais_id"))
                  .where(s.deleted_at.is_(None), s.held_on >= lo, s.held_on < hi), s.relais_id, scope),
        # Distributions are personal data; the days their ledger movements fell on are not.
        _in_scope(select(d.year, d.relais_id)
                  .where(d.year.between(first, last), func.bit_count(d.days) > 0), d.relais_id, scope),
        _in_scope(select(func.extract("year", e.held_on).cast(Integer), e.relais_id)
                  .where(e.held_on >= lo, e.held_on < hi), e.relais_id, scope),
        _in_scope(select(_local_year(t.completed_at), t.relais_id)
                  .where(t.completed_at >= start, t.completed_at < end), t.relais_id, scope),
    ).subquery()
    stmt = select(activity.c.year, func.count(func.distinct(activity.c.relais_id))).group_by(activity.c.year)
    for y, count in db.session.execute(stmt):
        years[y]["relais_active"] = count


@on_replica
def annual_bilan(scope: BilanScope, year: int) -> dict[str, Any]:
    """The bilan of `year` in `scope` (already resolved and opened), previous year beside it."""
    first, last = year - 1, year
    years = {first: _empty_year(), last: _empty_year()}
    _personal_counts(scope, first, last, years)
    _events(scope, first, last, years)
    _trained(scope, first, last, years)
    _active(scope, first, last, years)
    for figures in years.values():
        figures["beneficiaries"] = figures["beneficiaries_named"] + figures["beneficiaries_anonymous"]
        figures["distributions"] = dict(sorted(figures["distributions"].items()))
    previous = {"year": first, **years[first]}
    return {
        "year": year, "scope": scope.kind, "scope_label": scope.label, "filters": scope.filters,
        **years[last], "previous_year": previous,
    }


def relais_choices(actor: User) -> list[tuple[int, str]]:
    """The relais a national user or coach may pick for a bilan (directory only, no data)."""
    stmt = select(Relais.id, Relais.name).order_by(Relais.name, Relais.id)
    if actor.role == Role.COACH:
        stmt = stmt.where(Relais.coach_id == actor.id)
    return [(rid, name) for rid, name in db.session.execute(stmt)]


def departements_in_use() -> list[str]:
    return list(db.session.scalars(select(Relais.departement).distinct().order_by(Relais.departement)))

