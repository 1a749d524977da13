"""Alerts per relais, for any number of relais in one query.

An alert rule is a function of an `AlertContext` returning a SELECT of
`(relais_id, since, detail)` rows (or None for the two rules derived from what the overview
already loaded: `no_activity`, `training_stalled`): `since` is the date the condition started, `detail` an
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
from datetime import UTC, date, datetime, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, Select, and_, cast, exists, func, literal, null, select, union_all
from sqlalchemy.dialects.postgresql import INTERVAL

from relais_platform.extensions import db
from relais_platform.stock.catalogue.models import Product
from relais_platform.stock.reports.models import StockReport
from relais_platform.stock.reports.services import STOCK_DIMENSIONS
from relais_platform.stock.warehouse.models import RelaisMovementKind, RelaisStock, RelaisStockMovement
from relais_platform.tenants.models import Relais, RelaisStatus
from relais_platform.training.models import CustomMilestone, NextStep
from relais_platform.training.paths import TrainingProgress

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
    # None: derived in Python by progress.overview from what it already loaded (last
    # activity, training progress). Joining those aggregates again per relais inside the
    # alerts query made PostgreSQL re-run them for every relais (minutes for 2,000 relais).
    query: Callable[[AlertContext], Select] | None


@dataclass(frozen=True)
class Alert:
    code: str
    since: date
    detail: str | None = None

    @property
    def label(self) -> str:
        return str(RULES[self.code].label) if self.code in RULES else self.code


RULES: dict[str, AlertRule] = {}


def register_alert(code: str, label: Any, query: Callable[[AlertContext], Select] | None) -> None:
    RULES[code] = AlertRule(code, label, query)


def no_activity_since(relais: Relais, last_activity_at: datetime | None, now: datetime) -> date | None:
    """`no_activity`: nothing happened for 60 days (counted from joining when nothing ever did)."""
    reference = last_activity_at or relais.created_at
    if relais.status != RelaisStatus.ACTIVE or reference >= now - timedelta(days=INACTIVITY_DAYS):
        return None
    return _utc_day(reference + timedelta(days=INACTIVITY_DAYS))


def training_stalled_since(relais: Relais, training: TrainingProgress, now: datetime) -> date | None:
    """`training_stalled`: the path is incomplete and no required module was completed for 90
    days. The clock starts when the relais joined the network (terms signed), then at each step."""
    if relais.status != RelaisStatus.ACTIVE or len(training.completed) >= len(training.required):
        return None
    started = relais.terms_accepted_at or relais.created_at
    reference = max(started, training.last_completed_at or started)
    if reference >= now - timedelta(days=STALLED_DAYS):
        return None
    return _utc_day(reference + timedelta(days=STALLED_DAYS))


def _utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


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
    # Correlated look-ups on the (relais_id, period) unique index: a few index probes per
    # relais whatever the plan (a join to an aggregate was re-run for every relais).
    reported = exists().where(StockReport.relais_id == Relais.id, StockReport.period == period)
    last_period = (
        select(func.max(StockReport.period))
        .where(StockReport.relais_id == Relais.id, StockReport.period < period)
        .scalar_subquery()
    )
    month = cast(literal("1 month"), INTERVAL)
    first_missing = func.coalesce(cast(last_period + month, Date), joined)
    return (
        select(Relais.id, cast(first_missing + month + timedelta(days=due_day), Date), null())
        .where(Relais.id.in_(ctx.ids), Relais.status == RelaisStatus.ACTIVE,
               Relais.dimensions.overlap(STOCK_DIMENSIONS), joined <= period, ~reported)
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


register_alert("no_activity", _l("Aucune activité depuis 60 jours"), None)
register_alert("report_overdue", _l("État de stock mensuel en retard"), _report_overdue)
register_alert("stock_low", _l("Stock de moins de 14 jours"), _stock_low)
register_alert("training_stalled", _l("Parcours de formation à l'arrêt depuis 90 jours"), None)
register_alert("next_step_overdue", _l("Prochaine étape en retard"), _next_step_overdue)
register_alert("milestone_overdue", _l("Jalon en retard"), _milestone_overdue)


def open_alerts(ids: Select, now: datetime) -> dict[int, list[Alert]]:
    """{relais_id: alerts of the SQL rules}, oldest first (one query whatever the number of relais)."""
    ctx = AlertContext(ids, now)
    parts = []
    for rule in RULES.values():
        if rule.query is None:
            continue
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
