"""The monthly stock report of a relais, and what the national team reads of all of them.

Periods are calendar months in the platform's time zone (Europe/Paris). Only a month that
has ended can be reported: the count describes the stock at the month's end, so the
current month is refused (422) until its last day is over.

Every figure is pre-filled from the relais' ledger (`relais_stock_movements`) in one
aggregate query: opening = Σ deltas before the month; received = receipts; distributed =
distributions net of their cancellations; losses = losses already recorded; other =
returns to the national stock and earlier adjustments (usually 0). The relais admin
enters the counted closing stock and may declare further losses (with a reason); whatever
still differs from the count is an adjustment that needs a reason. On submission the
declared losses and the adjustment are written to the ledger, dated at the last instant of
the month, so that the ledger's closing for that month equals the count and the next
month opens from it. A stored report is read-only (one per relais and month, enforced by
the database).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from relais_platform.audit import services as audit
from relais_platform.audit.services import current_actor_id
from relais_platform.domain import Conflict, ValidationFailed
from relais_platform.extensions import db
from relais_platform.stock.catalogue.models import Product
from relais_platform.stock.reports.models import StockReport, StockReportLine
from relais_platform.stock.scope import bound_relais_id, local_today, national_scope
from relais_platform.stock.warehouse import ledger
from relais_platform.stock.warehouse.models import RelaisMovementKind, RelaisStock, RelaisStockMovement
from relais_platform.tenants.models import Dimension, Relais, RelaisStatus

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
STOCK_DIMENSIONS = [Dimension.CONNEXION.value, Dimension.EQUIPEMENT.value]
MAX_REASON = 2000
MAX_COUNT = 1_000_000


@dataclass(frozen=True)
class PrefilledLine:
    product_id: int
    sku: str
    name: str
    opening: int
    received: int
    distributed: int
    losses: int
    other: int

    @property
    def expected_closing(self) -> int:
        return self.opening + self.received - self.distributed - self.losses + self.other


@dataclass(frozen=True)
class ReportingStatus:
    relais_id: int
    name: str
    city: str
    submitted_at: datetime | None
    late: bool  # not reported and past the due date, or reported after it


@dataclass(frozen=True)
class NetworkStockRow:
    sku: str
    name: str
    on_hand: int
    relais_holding: int


# --- periods ----------------------------------------------------------------------------


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def format_period(period: date) -> str:
    return f"{period.year:04d}-{period.month:02d}"


def parse_period(text: str | None, *, ended: bool = True) -> date:
    """First day of the month written `YYYY-MM`; 422 for a month not over (or in the future)."""
    match = _PERIOD.match((text or "").strip())
    if match is None:
        raise ValidationFailed.field("period", _("Indiquez un mois au format AAAA-MM."))
    period = date(int(match[1]), int(match[2]), 1)
    this_month = local_today().replace(day=1)
    if period > this_month or (ended and period == this_month):
        raise ValidationFailed.field(
            "period", _("Le mois %(period)s n'est pas terminé : il ne peut pas encore être déclaré.",
                        period=format_period(period)))
    return period


def last_ended_period() -> date:
    return local_today().replace(day=1) - relativedelta(months=1)


def month_bounds(period: date) -> tuple[datetime, datetime]:
    zone = _zone()
    return (datetime.combine(period, time(), tzinfo=zone),
            datetime.combine(period + relativedelta(months=1), time(), tzinfo=zone))


def due_on(period: date) -> date:
    """Reports of month M are due on day STOCK_REPORT_DUE_DAY of M+1 (late after it)."""
    return (period + relativedelta(months=1)).replace(day=current_app.config["STOCK_REPORT_DUE_DAY"])


# --- the relais' report -----------------------------------------------------------------


def prefill(relais_id: int, period: date) -> list[PrefilledLine]:
    """The month's figures per product from the ledger (one query, whatever the size).

    Products listed: those held at the month's start or moved during it.
    """
    start, end = month_bounds(period)
    m = RelaisStockMovement
    kind = RelaisMovementKind
    in_month = m.occurred_at >= start

    def total(*condition: Any) -> Any:
        return func.coalesce(func.sum(m.quantity_delta).filter(and_(*condition)), 0)

    opening = total(m.occurred_at < start)
    moved = func.count(m.id).filter(in_month)
    rows = db.session.execute(
        select(Product.id, Product.sku, Product.name, opening,
               total(in_month, m.kind == kind.RECEIPT),
               -total(in_month, m.kind.in_([kind.DISTRIBUTION, kind.DISTRIBUTION_CANCELLED])),
               -total(in_month, m.kind == kind.LOSS),
               total(in_month, m.kind.in_([kind.ADJUSTMENT, kind.RETURN])))
        .select_from(RelaisStock)
        .join(Product, Product.id == RelaisStock.product_id)
        .outerjoin(m, and_(m.relais_id == RelaisStock.relais_id, m.product_id == RelaisStock.product_id,
                           m.occurred_at < end))
        .where(RelaisStock.relais_id == relais_id)
        .group_by(Product.id, Product.sku, Product.name)
        .having(or_(opening != 0, moved > 0))
        .order_by(Product.sku)
    )
    return [PrefilledLine(*row) for row in rows]


def stored(relais_id: int, period: date) -> StockReport | None:
    return db.session.scalar(
        select(StockReport)
        .where(StockReport.relais_id == relais_id, StockReport.period == period)
        .options(selectinload(StockReport.lines))
    )


def _int(value: Any, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return None
    return value


def _text(value: Any) -> str | None:
    text = (value or "").strip() if isinstance(value, str) else ""
    return text[:MAX_REASON] or None


def _line(prefilled: PrefilledLine, data: Mapping[str, Any], errors: dict[str, list[str]]) -> StockReportLine:
    sku = prefilled.sku
    problems: list[str] = []
    counted = _int(data.get("counted_closing"), 0, MAX_COUNT)
    if counted is None:
        problems.append(_("%(sku)s : indiquez le stock compté en fin de mois (0 ou plus).", sku=sku))
    losses = data.get("losses")
    losses = prefilled.losses if losses is None else _int(losses, 0, MAX_COUNT)
    loss_reason = _text(data.get("loss_reason"))
    if losses is None:
        problems.append(_("%(sku)s : les pertes sont un nombre entier, 0 ou plus.", sku=sku))
    elif losses < prefilled.losses:
        problems.append(_("%(sku)s : %(n)d perte(s) sont déjà enregistrées ce mois-ci ; déclarez-en au moins "
                          "autant.", sku=sku, n=prefilled.losses))
    elif losses > prefilled.losses and loss_reason is None:
        problems.append(_("%(sku)s : indiquez la raison des pertes déclarées.", sku=sku))
    adjustment = 0
    adjustment_reason = _text(data.get("adjustment_reason"))
    if counted is not None and losses is not None:
        adjustment = counted - (prefilled.expected_closing - (losses - prefilled.losses))
        if adjustment and adjustment_reason is None:
            problems.append(_("%(sku)s : le stock compté (%(counted)d) diffère de %(diff)+d du stock calculé "
                              "(%(expected)d) ; indiquez la raison de cet ajustement.", sku=sku,
                              counted=counted, diff=adjustment,
                              expected=prefilled.expected_closing - (losses - prefilled.losses)))
    if problems:
        errors[sku] = problems
    return StockReportLine(
        product_id=prefilled.product_id, opening=prefilled.opening, received=prefilled.received,
        distributed=prefilled.distributed, losses=losses or 0, loss_reason=loss_reason, other=prefilled.other,
        counted_closing=counted or 0, adjustment=adjustment,
        adjustment_reason=adjustment_reason if adjustment else None,
    )


def submit(period_text: str | None, lines: Sequence[Mapping[str, Any]]) -> StockReport:
    """Store the month's report and write the declared losses and adjustments to the ledger."""
    relais_id = bound_relais_id()
    period = parse_period(period_text)
    if stored(relais_id, period) is not None:
        raise Conflict(_("Le rapport de stock de %(period)s est déjà envoyé.", period=format_period(period)))
    prefilled = prefill(relais_id, period)
    by_sku = {row.sku: row for row in prefilled}
    posted: dict[str, Mapping[str, Any]] = {}
    errors: dict[str, list[str]] = {}
    for data in lines:
        sku = str(data.get("sku") or "").strip().upper()
        if sku not in by_sku:
            errors[sku or "sku"] = [_("%(sku)s ne figure pas dans le stock de votre relais pour ce mois.",
                                      sku=sku)]
        elif sku in posted:
            errors[sku] = [_("%(sku)s apparaît deux fois.", sku=sku)]
        else:
            posted[sku] = data
    missing = [sku for sku in by_sku if sku not in posted]
    if missing:
        errors["lines"] = [_("Indiquez le stock compté de : %(skus)s.", skus=", ".join(missing))]
    report_lines = [_line(by_sku[sku], data, errors) for sku, data in posted.items()]
    if errors:
        raise ValidationFailed(errors)
    report = StockReport(relais_id=relais_id, period=period, submitted_by_id=current_actor_id(),
                         lines=report_lines)
    try:
        with db.session.begin_nested():
            db.session.add(report)
            db.session.flush()
    except IntegrityError:
        raise Conflict(_("Le rapport de stock de %(period)s est déjà envoyé.",
                         period=format_period(period))) from None
    _write_to_ledger(relais_id, period, report, by_sku)
    audit.record("stock_report_submitted", target=report,
                 details={"period": format_period(period),
                          "adjusted_product_ids": [ln.product_id for ln in report_lines if ln.adjustment]})
    return report


def _write_to_ledger(relais_id: int, period: date, report: StockReport,
                     prefilled: Mapping[str, PrefilledLine]) -> None:
    """Declared losses and adjustments, dated at the month's last instant."""
    ledger_losses = {row.product_id: row.losses for row in prefilled.values()}
    changed = sorted((line for line in report.lines
                      if line.adjustment or line.losses > ledger_losses[line.product_id]),
                     key=lambda item: item.product_id)
    if not changed:
        return
    ids = [line.product_id for line in changed]
    products = {p.id: p for p in db.session.scalars(select(Product).where(Product.id.in_(ids)))}
    levels = ledger.lock_relais_levels(relais_id, ids)
    month_end = month_bounds(period)[1] - timedelta(microseconds=1)
    for line in changed:
        product, level = products[line.product_id], levels[line.product_id]
        new_losses = line.losses - ledger_losses[line.product_id]
        movements = []
        if new_losses:
            movements.append(ledger.move_relais(relais_id, product, RelaisMovementKind.LOSS, -new_losses,
                                                reference_id=report.id, reason=line.loss_reason, level=level))
        if line.adjustment:
            movements.append(ledger.move_relais(relais_id, product, RelaisMovementKind.ADJUSTMENT,
                                                line.adjustment, reference_id=report.id,
                                                reason=line.adjustment_reason, level=level))
        for movement in movements:
            movement.occurred_at = month_end


def draft_or_report(period_text: str | None) -> dict[str, Any]:
    """What the relais sees for a month: its stored report, or the pre-filled draft."""
    relais_id = bound_relais_id()
    period = parse_period(period_text)
    report = stored(relais_id, period)
    payload: dict[str, Any] = {"period": format_period(period), "due_on": due_on(period)}
    if report is not None:
        payload.update(status="submitted", id=report.id, submitted_at=report.submitted_at, lines=[
            {"sku": line.product.sku, "name": line.product.name, "opening": line.opening,
             "received": line.received, "distributed": line.distributed, "losses": line.losses,
             "loss_reason": line.loss_reason, "other": line.other,
             "expected_closing": line.counted_closing - line.adjustment,
             "counted_closing": line.counted_closing, "adjustment": line.adjustment,
             "adjustment_reason": line.adjustment_reason}
            for line in sorted(report.lines, key=lambda item: item.product.sku)
        ])
        return payload
    payload.update(status="draft", id=None, submitted_at=None, lines=[
        {"sku": row.sku, "name": row.name, "opening": row.opening, "received": row.received,
         "distributed": row.distributed, "losses": row.losses, "loss_reason": None, "other": row.other,
         "expected_closing": row.expected_closing, "counted_closing": None, "adjustment": 0,
         "adjustment_reason": None}
        for row in prefill(relais_id, period)
    ])
    return payload


# --- national views (aggregates only, audited network scope) ----------------------------


def reporting_status(period: date) -> list[ReportingStatus]:
    """Active relais with stock (connexion or equipement) that owe this month's report:
    reported or not, and late. A relais owes it once its ledger has a movement before the
    month's end (a relais that received its first goods later has nothing to report)."""
    national_scope(_("suivi des rapports de stock mensuels"))
    due = due_on(period)
    overdue = local_today() > due
    zone = _zone()
    month_end = month_bounds(period)[1]
    had_stock = exists().where(RelaisStockMovement.relais_id == Relais.id,
                               RelaisStockMovement.occurred_at < month_end)
    rows = db.session.execute(
        select(Relais.id, Relais.name, Relais.city, StockReport.submitted_at)
        .outerjoin(StockReport, and_(StockReport.relais_id == Relais.id, StockReport.period == period))
        .where(Relais.status == RelaisStatus.ACTIVE, Relais.dimensions.overlap(STOCK_DIMENSIONS),
               or_(StockReport.id.is_not(None), had_stock))
        .order_by(Relais.name, Relais.id)
    )
    return [
        ReportingStatus(rid, name, city, submitted_at,
                        overdue if submitted_at is None else submitted_at.astimezone(zone).date() > due)
        for rid, name, city, submitted_at in rows
    ]


def network_stock() -> list[NetworkStockRow]:
    """Stock held at relais per product, summed over the network."""
    national_scope(_("stock du réseau dans les relais"))
    rows = db.session.execute(
        select(Product.sku, Product.name, func.sum(RelaisStock.on_hand),
               func.count(RelaisStock.id).filter(RelaisStock.on_hand > 0))
        .join(Product, Product.id == RelaisStock.product_id)
        .group_by(Product.id, Product.sku, Product.name)
        .order_by(Product.sku)
    )
    return [NetworkStockRow(sku, name, int(on_hand or 0), holding) for sku, name, on_hand, holding in rows]
