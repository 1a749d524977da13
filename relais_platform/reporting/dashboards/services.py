"""Dashboards of the national team, of a relais and of a coach: SQL aggregates, bounded queries.

Every figure is one aggregate query (a dashboard runs a fixed number of them whatever the
network's size), and none reads a beneficiary's name. Tenant rows are reached through the
session's scope: a relais reads its own rows; the national team and coaches open the audited
network scope (`training.access.open_follow_scope`: every relais, or the coach's portfolio),
which the ORM hook and row-level security both enforce. Distributions are personal data,
invisible through a network scope, so national and coach figures count them from the
relais' stock ledger (`relais_stock_movements`, net of cancellations, by month of recording);
the relais' own dashboard counts its `distributions` by date distributed.

Months are calendar months in the platform's time zone (Europe/Paris). Days of cover and the
reorder suggestion follow the rule documented in `reporting.dashboards.forecast`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    BigInteger,
    Date,
    Float,
    Select,
    and_,
    case,
    cast,
    column,
    distinct,
    func,
    literal_column,
    or_,
    select,
    union_all,
    values,
)
from sqlalchemy.sql.elements import ColumnElement

from relais_platform.accounts.models import Role, User
from relais_platform.beneficiaries.models import AccompanimentSession, Beneficiary, Participation, Referrer
from relais_platform.domain import Forbidden
from relais_platform.extensions import db
from relais_platform.replica import on_replica
from relais_platform.reporting.dashboards import forecast
from relais_platform.stock.catalogue.models import DEVICE_CATEGORIES, Category, Product
from relais_platform.stock.distributions.models import Distribution
from relais_platform.stock.orders import services as orders_service
from relais_platform.stock.orders.models import Order, OrderEvent, OrderLine, OrderStatus
from relais_platform.stock.reports import services as reports
from relais_platform.stock.reports.models import StockReport
from relais_platform.stock.scope import local_today
from relais_platform.stock.warehouse.models import NationalStock, RelaisMonthlyDistribution, RelaisStock
from relais_platform.tenancy import current_scope
from relais_platform.tenants.geography import region_of
from relais_platform.tenants.models import Relais, RelaisStatus
from relais_platform.training.access import open_follow_scope
from relais_platform.training.progress import RelaisOverview, overview

NATIONAL_MONTHS = 24
LOCAL_MONTHS = 12
URGENT_ROWS = 50  # cover table of the national dashboard: the most urgent lines first
PORTFOLIO_URGENT_ROWS = 20
LEAD_TIME_MONTHS = 12  # orders submitted since the start of the month a year ago
LATE_HISTORY_MONTHS = 6
LATE_ROWS = 50

# Open orders and what each status still brings to the relais (see forecast's "on order").
S = OrderStatus
OPEN_STATUSES = (S.DRAFT, S.SUBMITTED, S.ALLOCATED, S.AWAITING_PAYMENT, S.PAID, S.SHIPPED)
ON_ORDER_STATUSES = (S.SUBMITTED, S.ALLOCATED, S.AWAITING_PAYMENT, S.PAID, S.SHIPPED)

CATEGORY_GROUPS: dict[str, Any] = {
    "sim": _l("Cartes SIM"),
    "recharge": _l("Recharges"),
    "device": _l("Équipements"),
    "other": _l("Kits et autres"),
}


def category_group(category: Category) -> str:
    if category == Category.SIM:
        return "sim"
    if category == Category.RECHARGE:
        return "recharge"
    return "device" if category in DEVICE_CATEGORIES else "other"


# --- months -----------------------------------------------------------------------------


def _zone_name() -> str:
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def month_start(month: date) -> datetime:
    """Midnight of the month's first day, local time (a bound for timestamp columns)."""
    return datetime.combine(month, time(), tzinfo=ZoneInfo(_zone_name()))


def months_ending(last: date, count: int) -> list[date]:
    """`count` first-of-month dates, oldest first, ending with `last`."""
    return [last - relativedelta(months=count - 1 - i) for i in range(count)]


# A literal, not a bound parameter: GROUP BY must repeat the SELECT's expression exactly.
_MONTH: ColumnElement[str] = literal_column("'month'")


def _local_month(column: Any) -> ColumnElement[date]:
    """The local calendar month (its 1st) of a timestamp with time zone."""
    return cast(func.date_trunc(_MONTH, func.timezone(_zone_name(), column)), Date)


def _date_month(column: Any) -> ColumnElement[date]:
    return cast(func.date_trunc(_MONTH, column), Date)


def _distributed(*columns: Any, first: date | None = None, before: date | None = None) -> Select:
    """Units distributed (net of cancellations) per `columns`, over the months from `first` to
    before `before`, read from the monthly summary the ledger's trigger keeps (one row per
    relais, product and month instead of every movement)."""
    m = RelaisMonthlyDistribution
    units = cast(func.coalesce(func.sum(m.units), 0), BigInteger)  # a sum of bigint is numeric
    stmt = select(*columns, units.label("units")).group_by(*columns)
    if first is not None:
        stmt = stmt.where(m.month >= first)
    if before is not None:
        stmt = stmt.where(m.month < before)
    return stmt


# --- figures shared by the dashboards -----------------------------------------------------


@dataclass(frozen=True)
class MonthlySeries:
    months: list[date]
    series: dict[str, list[float]]  # key → one value per month

    def total(self) -> list[float]:
        return [sum(values[i] for values in self.series.values()) for i in range(len(self.months))]


@dataclass(frozen=True)
class CoverRow:
    relais_id: int
    relais_name: str
    departement: str
    product_id: int
    sku: str
    product_name: str
    cover: forecast.Cover


def distributions_by_month(months: list[date], relais_ids: list[int] | None = None) -> MonthlySeries:
    """Units distributed per month and category group, from the ledger (one query)."""
    m = RelaisMonthlyDistribution
    stmt = (_distributed(m.month, Product.category, first=months[0],
                         before=months[-1] + relativedelta(months=1))
            .join(Product, Product.id == m.product_id))
    if relais_ids is not None:
        stmt = stmt.where(m.relais_id.in_(relais_ids))
    index = {value: i for i, value in enumerate(months)}
    series: dict[str, list[float]] = {key: [0.0] * len(months) for key in CATEGORY_GROUPS}
    for month_value, category, units in db.session.execute(stmt):
        series[category_group(category)][index[month_value]] += units
    return MonthlySeries(months, series)


def cover_rows(current_month: date, *, urgent_first: bool, limit: int | None = None,
               relais_ids: list[int] | None = None) -> list[CoverRow]:
    """Days of cover per relais and product in the current scope (one query).

    `urgent_first`: only lines being consumed, the shortest cover first (stock on hand ÷ the
    window's distributions orders them as days of cover would); otherwise every product the
    relais holds, uses or has on order, by relais and SKU.
    """
    start, end = forecast.window(current_month)
    m = RelaisMonthlyDistribution
    demand_stmt = _distributed(m.relais_id, m.product_id, first=start, before=end)
    still_to_come = case(
        (Order.status == S.SUBMITTED, OrderLine.requested),
        (Order.status == S.SHIPPED, OrderLine.shipped - OrderLine.received - OrderLine.refused),
        else_=OrderLine.allocated,
    )
    on_order_stmt = (
        select(OrderLine.relais_id, OrderLine.product_id, func.sum(still_to_come).label("units"))
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.status.in_(ON_ORDER_STATUSES))
        .group_by(OrderLine.relais_id, OrderLine.product_id)
    )
    if relais_ids is not None:
        # Narrowed inside each aggregate too: a coach's portfolio, not the whole network's lines.
        demand_stmt = demand_stmt.where(m.relais_id.in_(relais_ids))
        on_order_stmt = on_order_stmt.where(OrderLine.relais_id.in_(relais_ids))
    demand, on_order = demand_stmt.subquery(), on_order_stmt.subquery()
    distributed = func.coalesce(demand.c.units, 0)
    ordered = func.coalesce(on_order.c.units, 0)
    stmt = (
        select(Relais.id, Relais.name, Relais.departement, Product.id, Product.sku, Product.name,
               RelaisStock.on_hand, distributed, ordered)
        .select_from(RelaisStock)
        .join(Relais, Relais.id == RelaisStock.relais_id)
        .join(Product, Product.id == RelaisStock.product_id)
        .outerjoin(demand, and_(demand.c.relais_id == RelaisStock.relais_id,
                                demand.c.product_id == RelaisStock.product_id))
        .outerjoin(on_order, and_(on_order.c.relais_id == RelaisStock.relais_id,
                                  on_order.c.product_id == RelaisStock.product_id))
    )
    if relais_ids is not None:
        stmt = stmt.where(RelaisStock.relais_id.in_(relais_ids))
    if urgent_first:
        stmt = stmt.where(distributed > 0).order_by(
            cast(RelaisStock.on_hand, Float) / distributed, Relais.name, Relais.id, Product.sku)
    else:
        stmt = stmt.where(or_(RelaisStock.on_hand > 0, distributed != 0, ordered > 0)).order_by(
            Relais.name, Relais.id, Product.sku)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [
        CoverRow(rid, rname, dep, pid, sku, pname,
                 forecast.cover(on_hand, on_order_units, units, current_month))
        for rid, rname, dep, pid, sku, pname, on_hand, units, on_order_units in db.session.execute(stmt)
    ]


# --- national -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductStock:
    product_id: int
    sku: str
    name: str
    available: int
    reserved: int
    in_transit: int  # shipped, not yet received
    at_relais: int
    cover: forecast.Cover  # at relais, network-wide


@dataclass(frozen=True)
class LeadTime:
    leg: str  # "submitted_to_shipped", "shipped_to_received", "submitted_to_received"
    label: Any
    orders: int
    median_days: float | None
    average_days: float | None


@dataclass(frozen=True)
class TerritoryRow:
    code: str  # département code, or region name
    name: str
    relais_active: int
    stock_at_relais: int
    distributed: int  # over the last LOCAL_MONTHS months
    sessions: int
    accompaniment_hours: float


@dataclass(frozen=True)
class LateReporter:
    relais_id: int
    name: str
    city: str
    late: int  # months reported after the due date, or not reported once due
    missing: int  # of which never reported


@dataclass
class NationalDashboard:
    current_month: date
    stock: list[ProductStock]
    distributions: MonthlySeries
    orders_by_status: list[tuple[OrderStatus, int]]
    lead_times: list[LeadTime]
    report_period: date
    report_due_on: date
    reporting: list[reports.ReportingStatus]
    late_history: list[LateReporter]
    cover: list[CoverRow]
    departements: list[TerritoryRow]
    regions: list[TerritoryRow]
    cover_target_days: int = field(default_factory=forecast.cover_target_days)

    @property
    def late_reporters(self) -> list[reports.ReportingStatus]:
        return [row for row in self.reporting if row.late]

    @property
    def reported(self) -> int:
        return sum(1 for row in self.reporting if row.submitted_at is not None)

    @property
    def moving_average(self) -> list[float | None]:
        return forecast.moving_average(self.distributions.total())


def _open_scope(actor: User, reason: str, role: Role) -> list[int] | None:
    """The audited network scope of a national or coach dashboard; 403 for anyone else."""
    if actor.role != role or current_scope(db.session).is_bound:
        raise Forbidden(_("Ce tableau de bord n'est pas accessible avec votre rôle."))
    return open_follow_scope(actor, reason=reason)


@on_replica
def national_dashboard(actor: User) -> NationalDashboard:
    _open_scope(actor, "tableau de bord national", Role.NATIONAL)
    current_month = local_today().replace(day=1)
    period = reports.last_ended_period()
    last_complete = current_month - relativedelta(months=1)
    departements = by_departement(current_month)
    return NationalDashboard(
        current_month=current_month,
        stock=stock_by_product(current_month),
        distributions=distributions_by_month(months_ending(last_complete, NATIONAL_MONTHS)),
        orders_by_status=orders_by_status(),
        lead_times=lead_times(month_start(current_month - relativedelta(months=LEAD_TIME_MONTHS))),
        report_period=period,
        report_due_on=reports.due_on(period),
        reporting=reports.reporting_status(period),
        late_history=late_reporting(period),
        cover=cover_rows(current_month, urgent_first=True, limit=URGENT_ROWS),
        departements=departements,
        regions=by_region(departements),
    )


def stock_by_product(current_month: date) -> list[ProductStock]:
    """National available and reserved, in transit, at relais, per product (one query)."""
    start, end = forecast.window(current_month)
    m = RelaisMonthlyDistribution
    at_relais = (select(RelaisStock.product_id, func.sum(RelaisStock.on_hand).label("units"))
                 .group_by(RelaisStock.product_id).subquery())
    in_transit = (
        select(OrderLine.product_id,
               func.sum(OrderLine.shipped - OrderLine.received - OrderLine.refused).label("units"))
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.status == S.SHIPPED)
        .group_by(OrderLine.product_id).subquery()
    )
    demand = _distributed(m.product_id, first=start, before=end).subquery()
    on_hand = func.coalesce(NationalStock.on_hand, 0)
    reserved = func.coalesce(NationalStock.reserved, 0)
    transit = func.coalesce(in_transit.c.units, 0)
    held = func.coalesce(at_relais.c.units, 0)
    rows = db.session.execute(
        select(Product.id, Product.sku, Product.name, on_hand - reserved, reserved, transit, held,
               func.coalesce(demand.c.units, 0))
        .outerjoin(NationalStock, NationalStock.product_id == Product.id)
        .outerjoin(in_transit, in_transit.c.product_id == Product.id)
        .outerjoin(at_relais, at_relais.c.product_id == Product.id)
        .outerjoin(demand, demand.c.product_id == Product.id)
        .where(or_(Product.active, on_hand != 0, transit != 0, held != 0))
        .order_by(Product.sku)
    )
    return [ProductStock(pid, sku, name, int(available), int(res), int(tr), int(at),
                         forecast.cover(int(at), int(tr), int(units), current_month))
            for pid, sku, name, available, res, tr, at, units in rows]


def late_reporting(last_period: date, months: int = LATE_HISTORY_MONTHS,
                   limit: int = LATE_ROWS) -> list[LateReporter]:
    """Relais late with their monthly stock report over the last `months` periods (one query).

    Same rule as `stock.reports.reporting_status`, per period: late when reported after its
    due date, or not reported once the due date has passed. Only active relais holding
    stock, and only the periods since the month of their activation; most often late first.
    """
    periods = months_ending(last_period, months)
    due = values(column("period", Date), column("due_on", Date), name="periods").data(
        [(period, reports.due_on(period)) for period in periods])
    submitted_on = cast(func.timezone(_zone_name(), StockReport.submitted_at), Date)
    late = or_(and_(StockReport.id.is_(None), due.c.due_on < local_today()), submitted_on > due.c.due_on)
    late_count = func.count().filter(late)
    rows = db.session.execute(
        select(Relais.id, Relais.name, Relais.city, late_count,
               func.count().filter(StockReport.id.is_(None), due.c.due_on < local_today()))
        .select_from(Relais)
        .join(due, due.c.period >= _local_month(Relais.status_changed_at))
        .outerjoin(StockReport, and_(StockReport.relais_id == Relais.id, StockReport.period == due.c.period))
        .where(Relais.status == RelaisStatus.ACTIVE, Relais.dimensions.overlap(reports.STOCK_DIMENSIONS))
        .group_by(Relais.id, Relais.name, Relais.city)
        .having(late_count > 0)
        .order_by(late_count.desc(), Relais.name, Relais.id)
        .limit(limit)
    )
    return [LateReporter(*row) for row in rows]


def orders_by_status() -> list[tuple[OrderStatus, int]]:
    counts: dict[OrderStatus, int] = dict(
        db.session.execute(select(Order.status, func.count()).group_by(Order.status)).tuples().all())
    return [(status, counts.get(status, 0)) for status in OrderStatus]


LEGS = {
    "submitted_to_shipped": _l("De la soumission à l'expédition"),
    "shipped_to_received": _l("De l'expédition à la réception"),
    "submitted_to_received": _l("De la soumission à la réception"),
}


def lead_times(since: datetime) -> list[LeadTime]:
    """Median and average days between order events, for orders submitted since `since`.

    Each order counts once per leg, from the first event reaching each status (one query).
    """
    e = OrderEvent
    per_order = (
        select(e.order_id,
               func.min(e.occurred_at).filter(e.to_status == S.SUBMITTED).label("submitted"),
               func.min(e.occurred_at).filter(e.to_status == S.SHIPPED).label("shipped"),
               func.min(e.occurred_at).filter(e.to_status.in_([S.RECEIVED, S.PARTIALLY_RECEIVED]))
               .label("received"))
        .group_by(e.order_id)
        .subquery()
    )
    c = per_order.c
    legs = {"submitted_to_shipped": (c.submitted, c.shipped), "shipped_to_received": (c.shipped, c.received),
            "submitted_to_received": (c.submitted, c.received)}
    columns = []
    for start, end in legs.values():
        days = func.extract("epoch", end - start) / 86400
        columns += [func.count(days), func.percentile_cont(0.5).within_group(days), func.avg(days)]
    row = db.session.execute(select(*columns).where(c.submitted >= since)).one()
    result = []
    for i, leg in enumerate(legs):
        count, median, average = row[3 * i:3 * i + 3]
        result.append(LeadTime(leg, LEGS[leg], count,
                               None if median is None else round(float(median), 1),
                               None if average is None else round(float(average), 1)))
    return result


def by_departement(current_month: date) -> list[TerritoryRow]:
    """Per département: active relais, stock held, distributions and accompaniment (12 months)."""
    since = current_month - relativedelta(months=LOCAL_MONTHS - 1)
    m = RelaisMonthlyDistribution
    s = AccompanimentSession
    stock = (select(RelaisStock.relais_id, func.sum(RelaisStock.on_hand).label("units"))
             .group_by(RelaisStock.relais_id).subquery())
    distributed = _distributed(m.relais_id, first=since).subquery()
    sessions = (select(s.relais_id, func.count(s.id).label("sessions"),
                       func.sum(s.duration_minutes).label("minutes"))
                .where(s.deleted_at.is_(None), s.held_on >= since).group_by(s.relais_id).subquery())
    rows = db.session.execute(
        select(Relais.departement,
               func.count(Relais.id).filter(Relais.status == RelaisStatus.ACTIVE),
               func.coalesce(func.sum(stock.c.units), 0),
               func.coalesce(func.sum(distributed.c.units), 0),
               func.coalesce(func.sum(sessions.c.sessions), 0),
               func.coalesce(func.sum(sessions.c.minutes), 0))
        .outerjoin(stock, stock.c.relais_id == Relais.id)
        .outerjoin(distributed, distributed.c.relais_id == Relais.id)
        .outerjoin(sessions, sessions.c.relais_id == Relais.id)
        .where(Relais.status.in_([RelaisStatus.ACTIVE, RelaisStatus.SUSPENDED]))
        .group_by(Relais.departement)
        .order_by(Relais.departement)
    )
    return [TerritoryRow(dep, region_of(dep), active, int(units), int(dist), int(count),
                         round(float(minutes) / 60, 1))
            for dep, active, units, dist, count, minutes in rows]


def by_region(departements: list[TerritoryRow]) -> list[TerritoryRow]:
    """The département rows summed per region (at most a hundred rows: no query)."""
    totals: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0, 0, 0.0])
    for row in departements:
        total = totals[row.name]
        for i, value in enumerate((row.relais_active, row.stock_at_relais, row.distributed, row.sessions,
                                   row.accompaniment_hours)):
            total[i] += value
    return [TerritoryRow(region, region, int(t[0]), int(t[1]), int(t[2]), int(t[3]), round(t[4], 1))
            for region, t in sorted(totals.items())]


# --- relais -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthActivity:
    month: date
    distributed: int  # units
    distributions: int  # handovers
    sessions: int
    accompaniment_hours: float
    beneficiaries: int  # distinct named beneficiaries served (distributions or sessions)
    anonymous: int  # anonymous distributions + anonymous session participants

    @property
    def people(self) -> int:
        return self.beneficiaries + self.anonymous


@dataclass(frozen=True)
class OpenOrder:
    id: int
    status: OrderStatus
    submitted_at: datetime | None
    shipped_at: datetime | None
    lines: int
    units: int
    total_cents: int

    @property
    def status_label(self) -> str:
        return orders_service.status_label(self.status)


@dataclass
class RelaisDashboard:
    relais: Relais
    current_month: date
    activity: list[MonthActivity]
    stock: list[CoverRow]
    open_orders: list[OpenOrder]
    referred: list[tuple[str, int]] = field(default_factory=list)
    cover_target_days: int = field(default_factory=forecast.cover_target_days)


@on_replica
def relais_dashboard(actor: User) -> RelaisDashboard:
    """The signed-in relais' own figures (its bound scope; no network access)."""
    relais_id = current_scope(db.session).relais_id
    if not actor.role.is_relais_role or relais_id is None or relais_id != actor.relais_id:
        raise Forbidden(_("Ce tableau de bord n'est pas accessible avec votre rôle."))
    current_month = local_today().replace(day=1)
    relais = db.session.get_one(Relais, relais_id)
    return RelaisDashboard(
        relais=relais,
        current_month=current_month,
        activity=monthly_activity(months_ending(current_month, LOCAL_MONTHS)),
        stock=cover_rows(current_month, urgent_first=False),
        open_orders=open_orders(),
        referred=referred_people(month_start(current_month - relativedelta(months=LOCAL_MONTHS - 1))),
    )


def referred_people(since: datetime) -> list[tuple[str, int]]:
    """The bound relais' people registered since `since`, per kind of referring structure
    ("none" when no structure was named): one aggregate query, no name read."""
    b, r = Beneficiary, Referrer
    kind = func.coalesce(r.kind, "none")
    return [(k, n) for k, n in db.session.execute(
        select(kind, func.count(b.id)).outerjoin(r, r.id == b.referrer_id)
        .where(b.created_at >= since).group_by(kind).order_by(func.count(b.id).desc(), kind))]


def monthly_activity(months: list[date]) -> list[MonthActivity]:
    """The bound relais' activity per month: three aggregate queries.

    Named beneficiaries are counted once a month whether they received goods, attended a
    session or both; personal rows are read as counts only (no name is selected).
    """
    start, end = months[0], months[-1] + relativedelta(months=1)
    d, s, p = Distribution, AccompanimentSession, Participation
    live = d.cancelled_at.is_(None)
    goods = {row[0]: row[1:] for row in db.session.execute(
        select(_date_month(d.distributed_on), func.sum(d.quantity), func.count(d.id),
               func.count(d.id).filter(d.beneficiary_id.is_(None)))
        .where(live, d.distributed_on >= start, d.distributed_on < end)
        .group_by(_date_month(d.distributed_on)))}
    sessions = {row[0]: row[1:] for row in db.session.execute(
        select(_date_month(s.held_on), func.count(s.id), func.sum(s.duration_minutes),
               func.sum(s.anonymous_count))
        .where(s.deleted_at.is_(None), s.held_on >= start, s.held_on < end)
        .group_by(_date_month(s.held_on)))}
    served = union_all(
        select(_date_month(d.distributed_on).label("month"), d.beneficiary_id.label("who"))
        .where(live, d.beneficiary_id.is_not(None), d.distributed_on >= start, d.distributed_on < end),
        select(_date_month(s.held_on).label("month"), p.beneficiary_id.label("who"))
        .join(s, s.id == p.session_id)
        .where(s.deleted_at.is_(None), s.held_on >= start, s.held_on < end),
    ).subquery()
    named: dict[Any, int] = dict(db.session.execute(
        select(served.c.month, func.count(distinct(served.c.who))).group_by(served.c.month)).tuples().all())
    result = []
    for month in months:
        units, count, anonymous_goods = goods.get(month, (0, 0, 0))
        session_count, minutes, anonymous_people = sessions.get(month, (0, 0, 0))
        result.append(MonthActivity(month, int(units or 0), count, session_count,
                                    round(float(minutes or 0) / 60, 1), named.get(month, 0),
                                    anonymous_goods + int(anonymous_people or 0)))
    return result


def open_orders() -> list[OpenOrder]:
    lines = (select(OrderLine.order_id, func.count(OrderLine.id).label("lines"),
                    func.sum(OrderLine.requested).label("units"))
             .group_by(OrderLine.order_id).subquery())
    rows = db.session.execute(
        select(Order.id, Order.status, Order.submitted_at, Order.shipped_at,
               func.coalesce(lines.c.lines, 0), func.coalesce(lines.c.units, 0), Order.total_cents)
        .outerjoin(lines, lines.c.order_id == Order.id)
        .where(Order.status.in_(OPEN_STATUSES))
        .order_by(Order.created_at.desc(), Order.id.desc())
    )
    return [OpenOrder(*row) for row in rows]


# --- coach --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RelaisActivity:
    distributed: int  # units over the last three complete months
    sessions: int
    accompaniment_hours: float
    stock_on_hand: int


@dataclass
class PortfolioRow:
    progress: RelaisOverview
    activity: RelaisActivity


@dataclass
class CoachDashboard:
    current_month: date
    rows: list[PortfolioRow]
    distributions: MonthlySeries
    sessions_by_month: list[int]
    cover: list[CoverRow]
    cover_target_days: int = field(default_factory=forecast.cover_target_days)


@on_replica
def coach_dashboard(actor: User) -> CoachDashboard:
    """The coach's portfolio only: activity, training and milestone progress, stock cover."""
    ids = _open_scope(actor, "tableau de bord du coach", Role.COACH) or []
    current_month = local_today().replace(day=1)
    months = months_ending(current_month, LOCAL_MONTHS)
    progress = overview(select(Relais).where(Relais.id.in_(ids)).order_by(Relais.name, Relais.id))
    activity = portfolio_activity(ids, current_month)
    empty = RelaisActivity(0, 0, 0.0, 0)
    return CoachDashboard(
        current_month=current_month,
        rows=[PortfolioRow(row, activity.get(row.relais.id, empty)) for row in progress],
        distributions=distributions_by_month(months, ids),
        sessions_by_month=sessions_by_month(months, ids),
        cover=cover_rows(current_month, urgent_first=True, limit=PORTFOLIO_URGENT_ROWS, relais_ids=ids),
    )


def portfolio_activity(relais_ids: list[int], current_month: date) -> dict[int, RelaisActivity]:
    """Per relais: distributions and accompaniment of the last three complete months, stock (one query)."""
    start, end = forecast.window(current_month)
    m = RelaisMonthlyDistribution
    s = AccompanimentSession
    stock = (select(RelaisStock.relais_id, func.sum(RelaisStock.on_hand).label("units"))
             .group_by(RelaisStock.relais_id).subquery())
    distributed = _distributed(m.relais_id, first=start, before=end).subquery()
    sessions = (select(s.relais_id, func.count(s.id).label("sessions"),
                       func.sum(s.duration_minutes).label("minutes"))
                .where(s.deleted_at.is_(None), s.held_on >= start, s.held_on < end)
                .group_by(s.relais_id).subquery())
    rows = db.session.execute(
        select(Relais.id, func.coalesce(distributed.c.units, 0), func.coalesce(sessions.c.sessions, 0),
               func.coalesce(sessions.c.minutes, 0), func.coalesce(stock.c.units, 0))
        .outerjoin(stock, stock.c.relais_id == Relais.id)
        .outerjoin(distributed, distributed.c.relais_id == Relais.id)
        .outerjoin(sessions, sessions.c.relais_id == Relais.id)
        .where(Relais.id.in_(relais_ids))
    )
    return {rid: RelaisActivity(int(units), count, round(float(minutes) / 60, 1), int(held))
            for rid, units, count, minutes, held in rows}


def sessions_by_month(months: list[date], relais_ids: list[int]) -> list[int]:
    s = AccompanimentSession
    month = _date_month(s.held_on)
    counts: dict[date, int] = dict(db.session.execute(
        select(month, func.count(s.id))
        .where(s.relais_id.in_(relais_ids), s.deleted_at.is_(None), s.held_on >= months[0],
               s.held_on < months[-1] + relativedelta(months=1))
        .group_by(month)).tuples().all())
    return [counts.get(month_value, 0) for month_value in months]
