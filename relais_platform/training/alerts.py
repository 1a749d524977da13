"""Alerts per relais, computed in SQL for any number of relais in one query.

An alert rule is a function of an `AlertContext` returning a SELECT of
`(relais_id, since, detail)` rows: `since` is the date the condition started, `detail` an
optional text (e.g. the product running out). Other packages register their own rules,
with `register_alert(code, label, query)`.

Rules registered today: `no_activity` (60 days), `report_overdue` (the monthly stock report of
the last month past its due date is missing), `stock_low` (stock below 14 days of the last 30
days' distribution rate), `training_stalled` (path incomplete, no progress for 90 days),
`next_step_overdue`, `milestone_overdue` (custom milestones).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, Select, and_, cast, func, literal, null, select, union_all
from sqlalchemy.dialects.postgresql import INTERVAL

from relais_platform.extensions import db
from relais_platform.stock.models import (
    Product,
    RelaisMovementKind,
    RelaisStock,
    RelaisStockMovement,
    StockReport,
)
from relais_platform.stock.reports import STOCK_DIMENSIONS
from relais_platform.tenants.models import Relais, RelaisStatus
from relais_platform.training.milestones import last_activity_query
from relais_platform.training.models import CustomMilestone, NextStep
from relais_platform.training.paths import completed_modules, required_modules

INACTIVITY_DAYS = 60
STALLED_DAYS = 90
STOCK_COVER_DAYS = 14
RATE_WINDOW_DAYS = 30


@dataclass(frozen=True)
class AlertContext:
    ids: Select
    now: datetime

    @property
    def today(self) -> date:
        return self.now.date()


@dataclass(frozen=True)
class AlertRule:
    code: str
    label: Any  # lazy string
    query: Callable[[AlertContext], Select]


@dataclass(frozen=True)
class Alert:
    code: str
    since: date
    detail: str | None = None

    @property
    def label(self) -> str:
        return str(RULES[self.code].label) if self.code in RULES else self.code


RULES: dict[str, AlertRule] = {}


def register_alert(code: str, label: Any, query: Callable[[AlertContext], Select]) -> None:
    RULES[code] = AlertRule(code, label, query)


def _no_activity(ctx: AlertContext) -> Select:
    last = last_activity_query(ctx.ids).subquery()
    reference = func.coalesce(last.c.at, Relais.created_at)
    return (
        select(Relais.id, cast(reference + timedelta(days=INACTIVITY_DAYS), Date), null())
        .outerjoin(last, last.c.relais_id == Relais.id)
        .where(Relais.id.in_(ctx.ids), Relais.status == RelaisStatus.ACTIVE,
               reference < ctx.now - timedelta(days=INACTIVITY_DAYS))
    )


def _last_overdue_period(today: date, due_day: int) -> date:
    """The latest month whose report is due before `today` (reports of M are due on day
    `due_day` of M+1, as in stock.reports.due_on)."""
    period = today.replace(day=1) - relativedelta(months=1)
    if today <= (period + relativedelta(months=1)).replace(day=due_day):
        period -= relativedelta(months=1)
    return period


def _report_overdue(ctx: AlertContext) -> Select:
    """Relais holding stock (connexion or equipement) that miss the last report now due.

    `since` is the day after the due date of the first month missing in a row: the month
    after the last report, or the month the relais joined.
    """
    due_day = current_app.config["STOCK_REPORT_DUE_DAY"]
    period = _last_overdue_period(ctx.today, due_day)
    zone = current_app.config["BABEL_DEFAULT_TIMEZONE"]
    joined = cast(func.date_trunc("month", func.timezone(zone, Relais.created_at)), Date)
    reported = (
        select(StockReport.relais_id, func.max(StockReport.period).label("last_period"),
               func.bool_or(StockReport.period == period).label("has_period"))
        .where(StockReport.relais_id.in_(ctx.ids), StockReport.period <= period)
        .group_by(StockReport.relais_id)
        .subquery()
    )
    month = cast(literal("1 month"), INTERVAL)
    first_missing = func.coalesce(cast(reported.c.last_period + month, Date), joined)
    return (
        select(Relais.id, cast(first_missing + month + timedelta(days=due_day), Date), null())
        .outerjoin(reported, reported.c.relais_id == Relais.id)
        .where(Relais.id.in_(ctx.ids), Relais.status == RelaisStatus.ACTIVE,
               Relais.dimensions.overlap(STOCK_DIMENSIONS),
               joined <= period, func.coalesce(reported.c.has_period, False).is_(False))
    )


def _stock_low(ctx: AlertContext) -> Select:
    out_kinds = (RelaisMovementKind.DISTRIBUTION, RelaisMovementKind.DISTRIBUTION_CANCELLED)
    rate = (
        select(RelaisStockMovement.relais_id, RelaisStockMovement.product_id,
               (-func.sum(RelaisStockMovement.quantity_delta)).label("distributed"),
               func.max(RelaisStockMovement.occurred_at).label("last_at"))
        .where(RelaisStockMovement.relais_id.in_(ctx.ids),
               RelaisStockMovement.kind.in_(out_kinds),
               RelaisStockMovement.occurred_at >= ctx.now - timedelta(days=RATE_WINDOW_DAYS))
        .group_by(RelaisStockMovement.relais_id, RelaisStockMovement.product_id)
        .subquery()
    )
    return (
        select(RelaisStock.relais_id, cast(rate.c.last_at, Date), Product.name)
        .join(rate, and_(rate.c.relais_id == RelaisStock.relais_id,
                         rate.c.product_id == RelaisStock.product_id))
        .join(Product, Product.id == RelaisStock.product_id)
        .where(rate.c.distributed > 0,
               RelaisStock.on_hand * RATE_WINDOW_DAYS < rate.c.distributed * STOCK_COVER_DAYS)
    )


def _training_stalled(ctx: AlertContext) -> Select:
    required = required_modules(ctx.ids).subquery()
    completed = completed_modules(ctx.ids).subquery()
    gaps = (
        select(required.c.relais_id)
        .outerjoin(completed, and_(completed.c.relais_id == required.c.relais_id,
                                   completed.c.module_id == required.c.module_id))
        .where(completed.c.module_id.is_(None))
        .distinct()
        .subquery()
    )
    progress = (
        select(completed.c.relais_id, func.max(completed.c.last_at).label("at"))
        .group_by(completed.c.relais_id)
        .subquery()
    )
    # The clock starts when the relais joined the network (terms signed), then at each step.
    started = func.coalesce(Relais.terms_accepted_at, Relais.created_at)
    reference = func.greatest(started, func.coalesce(progress.c.at, started))
    return (
        select(Relais.id, cast(reference + timedelta(days=STALLED_DAYS), Date), null())
        .join(gaps, gaps.c.relais_id == Relais.id)
        .outerjoin(progress, progress.c.relais_id == Relais.id)
        .where(Relais.status == RelaisStatus.ACTIVE,
               reference < ctx.now - timedelta(days=STALLED_DAYS))
    )


def _next_step_overdue(ctx: AlertContext) -> Select:
    return (
        select(NextStep.relais_id, func.min(NextStep.due_date), null())
        .where(NextStep.relais_id.in_(ctx.ids), NextStep.done_at.is_(None),
               NextStep.due_date < ctx.today)
        .group_by(NextStep.relais_id)
    )


def _milestone_overdue(ctx: AlertContext) -> Select:
    return (
        select(CustomMilestone.relais_id, CustomMilestone.due_date, CustomMilestone.title)
        .where(CustomMilestone.relais_id.in_(ctx.ids), CustomMilestone.done_at.is_(None),
               CustomMilestone.due_date < ctx.today)
    )


register_alert("no_activity", _l("Aucune activité depuis 60 jours"), _no_activity)
register_alert("report_overdue", _l("État de stock mensuel en retard"), _report_overdue)
register_alert("stock_low", _l("Stock de moins de 14 jours"), _stock_low)
register_alert("training_stalled", _l("Parcours de formation à l'arrêt depuis 90 jours"),
               _training_stalled)
register_alert("next_step_overdue", _l("Prochaine étape en retard"), _next_step_overdue)
register_alert("milestone_overdue", _l("Jalon en retard"), _milestone_overdue)


def open_alerts(ids: Select, now: datetime) -> dict[int, list[Alert]]:
    """{relais_id: alerts}, oldest first (one query whatever the number of relais)."""
    ctx = AlertContext(ids, now)
    parts = []
    for rule in RULES.values():
        rows = rule.query(ctx).subquery()
        relais_col, since_col, detail_col = list(rows.c)
        parts.append(select(literal(rule.code).label("code"), relais_col.label("relais_id"),
                            cast(since_col, Date).label("since"),
                            cast(detail_col, db.String).label("detail")))
    result: dict[int, list[Alert]] = {}
    if not parts:
        return result
    union = union_all(*parts).subquery()
    for code, relais_id, since, detail in db.session.execute(
        select(union).order_by(union.c.relais_id, union.c.since, union.c.code)
    ):
        result.setdefault(relais_id, []).append(Alert(code, since, detail))
    return result
