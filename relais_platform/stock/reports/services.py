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
the database) until the national team returns it: the relais admin then corrects it and
submits it again, which first takes back what the earlier version wrote to the ledger.

Reasons are coded (`ReasonCode`); the free text is a comment (a text alone, as older clients
send it, is coded `other`). Losses and negative adjustments of a serialized product name the
units lost (`lost_serials`), which are written off, so that the relais' units always match its
stock; a positive adjustment of a serialized product is refused (a stock count finds units).
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

from relais_platform.api import paginate_rows
from relais_platform.audit import services as audit
from relais_platform.audit.services import current_actor_id
from relais_platform.domain import Conflict, NotFound, ValidationFailed
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.stock.catalogue.models import Product
from relais_platform.stock.reports import notifications
from relais_platform.stock.reports.models import ReportStatus, StockReport, StockReportLine
from relais_platform.stock.scope import bound_relais_id, local_today, national_scope
from relais_platform.stock.warehouse import ledger, national
from relais_platform.stock.warehouse.models import (
    ReasonCode,
    RelaisMovementKind,
    RelaisStock,
    RelaisStockMovement,
    SerialUnit,
    UnitStatus,
)
from relais_platform.stock.warehouse.serials import check_serials
from relais_platform.tenants.models import Dimension, Relais, RelaisStatus

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
STOCK_DIMENSIONS = [Dimension.CONNEXION.value, Dimension.EQUIPEMENT.value]
MAX_REASON = 2000
MAX_COUNT = 1_000_000


@dataclass(frozen=True)
class ReviewRow:
    relais_id: int
    name: str
    period: date
    status: ReportStatus
    submitted_at: datetime
    discrepancy: int  # Σ |adjustment| + Σ losses declared


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
    serialized: bool = False

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
               total(in_month, m.kind.in_([kind.ADJUSTMENT, kind.RETURN])), Product.serialized)
        .select_from(RelaisStock)
        .join(Product, Product.id == RelaisStock.product_id)
        .outerjoin(m, and_(m.relais_id == RelaisStock.relais_id, m.product_id == RelaisStock.product_id,
                           m.occurred_at < end))
        .where(RelaisStock.relais_id == relais_id)
        .group_by(Product.id, Product.sku, Product.name, Product.serialized)
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


def _code(value: Any, text: str | None, field: str, problems: list[str], sku: str) -> ReasonCode | None:
    """The coded reason of a line; a text alone (older clients) is coded `other`."""
    if value in (None, ""):
        return ReasonCode.OTHER if text else None
    try:
        return ReasonCode(value)
    except ValueError:
        problems.append(_("%(sku)s : motif inconnu (%(field)s) : lost, damaged, stolen, found, "
                          "count_error ou other.", sku=sku, field=field))
        return None


def _line(prefilled: PrefilledLine, data: Mapping[str, Any], errors: dict[str, list[str]],
          product: Product) -> StockReportLine:
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
    loss_code = _code(data.get("loss_reason_code"), loss_reason, "loss_reason_code", problems, sku)
    if losses is not None and losses > prefilled.losses and loss_code is None:
        problems.append(_("%(sku)s : indiquez la raison des pertes déclarées.", sku=sku))
    adjustment = 0
    adjustment_reason = _text(data.get("adjustment_reason"))
    adjustment_code = _code(data.get("adjustment_reason_code"), adjustment_reason, "adjustment_reason_code",
                            problems, sku)
    if counted is not None and losses is not None:
        adjustment = counted - (prefilled.expected_closing - (losses - prefilled.losses))
        if adjustment and adjustment_code is None:
            problems.append(_("%(sku)s : le stock compté (%(counted)d) diffère de %(diff)+d du stock calculé "
                              "(%(expected)d) ; indiquez la raison de cet ajustement.", sku=sku,
                              counted=counted, diff=adjustment,
                              expected=prefilled.expected_closing - (losses - prefilled.losses)))
    lost_serials = _lost_serials(product, data.get("lost_serials"),
                                 max(0, (losses or 0) - prefilled.losses) + max(0, -adjustment), adjustment,
                                 problems)
    if problems:
        errors[sku] = problems
    return StockReportLine(
        product_id=prefilled.product_id, opening=prefilled.opening, received=prefilled.received,
        distributed=prefilled.distributed, losses=losses or 0, loss_reason=loss_reason, other=prefilled.other,
        counted_closing=counted or 0, adjustment=adjustment,
        # The database wants a text beside an adjustment: the code's when no comment was typed.
        adjustment_reason=(adjustment_reason or (adjustment_code and adjustment_code.value)) if adjustment
        else None,
        loss_reason_code=loss_code if losses else None,
        adjustment_reason_code=adjustment_code if adjustment else None,
        lost_serials=lost_serials,
    )


def _lost_serials(product: Product, given: Any, expected: int, adjustment: int,
                  problems: list[str]) -> list[str]:
    """The units a serialized product lost this month, as many as its new losses and negative
    adjustment (the units themselves are checked against the relais' stock on submission)."""
    entries = given if isinstance(given, list) else []
    if not product.serialized:
        if entries:
            problems.append(_("%(sku)s n'est pas suivi à l'unité : ne nommez pas d'unités.", sku=product.sku))
        return []
    if adjustment > 0:
        problems.append(_("%(sku)s est suivi à l'unité : les unités retrouvées s'enregistrent par un "
                          "inventaire physique, pas par un ajustement du rapport.", sku=product.sku))
        return []
    checked = check_serials(national.serial_kind(product), [str(entry) for entry in entries])
    problems.extend(checked.problems)
    if not checked.problems and len(checked.serials) != expected:
        problems.append(_("%(sku)s : nommez les %(expected)d unité(s) perdue(s) (%(count)d donnée(s)).",
                          sku=product.sku, expected=expected, count=len(checked.serials)))
    return checked.serials


def submit(period_text: str | None, lines: Sequence[Mapping[str, Any]]) -> StockReport:
    """Store the month's report and write the declared losses and adjustments to the ledger.

    A report the national team returned is submitted again: what its earlier version wrote
    to the ledger is taken back first, then it is replaced."""
    relais_id = bound_relais_id()
    period = parse_period(period_text)
    earlier = stored(relais_id, period)
    if earlier is not None and earlier.status != ReportStatus.RETURNED:
        raise Conflict(_("Le rapport de stock de %(period)s est déjà envoyé.", period=format_period(period)))
    if earlier is not None:
        _take_back(relais_id, period, earlier)
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
    products = {p.id: p for p in db.session.scalars(
        select(Product).where(Product.id.in_([row.product_id for row in prefilled])))}
    report_lines = [_line(by_sku[sku], data, errors, products[by_sku[sku].product_id])
                    for sku, data in posted.items()]
    if errors:
        raise ValidationFailed(errors)
    if earlier is not None:
        for line in list(earlier.lines):
            db.session.delete(line)
        # The old lines go while the report is still returned (the database guard's rule).
        db.session.flush()
        report = earlier
        report.lines = report_lines
        report.submitted_at, report.submitted_by_id = utcnow(), current_actor_id()
        report.status = ReportStatus.SUBMITTED
        db.session.flush()
    else:
        report = StockReport(relais_id=relais_id, period=period, submitted_by_id=current_actor_id(),
                             lines=report_lines)
        try:
            with db.session.begin_nested():
                db.session.add(report)
                db.session.flush()
        except IntegrityError:
            raise Conflict(_("Le rapport de stock de %(period)s est déjà envoyé.",
                             period=format_period(period))) from None
    _write_to_ledger(relais_id, period, report, by_sku, products)
    audit.record("stock_report_submitted", target=report,
                 details={"period": format_period(period),
                          "adjusted_product_ids": [ln.product_id for ln in report_lines if ln.adjustment]})
    return report


def _write_to_ledger(relais_id: int, period: date, report: StockReport,
                     prefilled: Mapping[str, PrefilledLine], products: Mapping[int, Product]) -> None:
    """Declared losses and adjustments, dated at the month's last instant; the units lost are
    written off (`defective` when damaged, `lost` otherwise)."""
    ledger_losses = {row.product_id: row.losses for row in prefilled.values()}
    changed = sorted((line for line in report.lines
                      if line.adjustment or line.losses > ledger_losses[line.product_id]),
                     key=lambda item: item.product_id)
    if not changed:
        return
    ids = [line.product_id for line in changed]
    levels = ledger.lock_relais_levels(relais_id, ids)
    month_end = month_bounds(period)[1] - timedelta(microseconds=1)
    errors: dict[str, list[str]] = {}
    for line in changed:
        product, level = products[line.product_id], levels[line.product_id]
        new_losses = line.losses - ledger_losses[line.product_id]
        movements = []
        if new_losses:
            movements.append(ledger.move_relais(relais_id, product, RelaisMovementKind.LOSS, -new_losses,
                                                reference_id=report.id, reason=line.loss_reason, level=level,
                                                reason_code=line.loss_reason_code))
        if line.adjustment:
            movements.append(ledger.move_relais(relais_id, product, RelaisMovementKind.ADJUSTMENT,
                                                line.adjustment, reference_id=report.id,
                                                reason=line.adjustment_reason, level=level,
                                                reason_code=line.adjustment_reason_code))
        for movement in movements:
            movement.occurred_at = month_end
        if line.lost_serials:
            _write_off(relais_id, product, line, report, errors)
    if errors:
        raise ValidationFailed(errors)


def _write_off(relais_id: int, product: Product, line: StockReportLine, report: StockReport,
               errors: dict[str, list[str]]) -> None:
    units = {unit.serial: unit for unit in db.session.scalars(
        select(SerialUnit)
        .where(SerialUnit.product_id == product.id, SerialUnit.serial.in_(line.lost_serials),
               SerialUnit.relais_id == relais_id, SerialUnit.status == UnitStatus.AT_RELAIS)
        .order_by(SerialUnit.id).with_for_update())}
    if unknown := [serial for serial in line.lost_serials if serial not in units]:
        errors[product.sku] = [_("%(sku)s : unités qui ne sont pas au relais : %(serials)s.", sku=product.sku,
                                 serials=", ".join(unknown))]
        return
    code = line.loss_reason_code or line.adjustment_reason_code
    status = UnitStatus.DEFECTIVE if code == ReasonCode.DAMAGED else UnitStatus.LOST
    note = _("Rapport de stock de %(period)s : %(reason)s", period=format_period(report.period),
             reason=line.loss_reason or line.adjustment_reason or "")
    for serial in line.lost_serials:
        ledger.set_unit_status(units[serial], status, keep_relais=True, note=note)


def _take_back(relais_id: int, period: date, report: StockReport) -> None:
    """Undo what a returned report wrote: its ledger movements (dated at the month's last
    instant, each reversed with its own kind so the month's figures net out), and the units
    it wrote off."""
    month_end = month_bounds(period)[1] - timedelta(microseconds=1)
    m = RelaisStockMovement
    written = list(db.session.execute(
        select(m.product_id, m.kind, func.sum(m.quantity_delta))
        .where(m.relais_id == relais_id, m.reference_id == report.id, m.occurred_at == month_end,
               m.kind.in_([RelaisMovementKind.LOSS, RelaisMovementKind.ADJUSTMENT]))
        .group_by(m.product_id, m.kind).order_by(m.product_id, m.kind)).tuples())
    products = {p.id: p for p in db.session.scalars(
        select(Product).where(Product.id.in_([pid for pid, _kind, _total in written])))}
    levels = ledger.lock_relais_levels(relais_id, products)
    note = _("Rapport de stock de %(period)s renvoyé pour correction", period=format_period(period))
    for product_id, kind, total in written:
        if total:
            movement = ledger.move_relais(relais_id, products[product_id], kind, -total,
                                          reference_id=report.id, reason=note, level=levels[product_id],
                                          reason_code=ReasonCode.COUNT_ERROR)
            movement.occurred_at = month_end
    serials = [serial for line in report.lines for serial in line.lost_serials]
    if serials:
        for unit in db.session.scalars(
            select(SerialUnit)
            .where(SerialUnit.relais_id == relais_id, SerialUnit.serial.in_(serials),
                   SerialUnit.status.in_([UnitStatus.LOST, UnitStatus.DEFECTIVE]))
            .order_by(SerialUnit.id).with_for_update()
        ):
            ledger.set_unit_status(unit, UnitStatus.AT_RELAIS, relais_id=relais_id, note=note)


def draft_or_report(period_text: str | None) -> dict[str, Any]:
    """What the relais sees for a month: its stored report, or the pre-filled draft."""
    relais_id = bound_relais_id()
    period = parse_period(period_text)
    report = stored(relais_id, period)
    payload: dict[str, Any] = {"period": format_period(period), "due_on": due_on(period)}
    if report is not None:
        return _stored_payload(report, payload)
    payload.update(status="draft", id=None, submitted_at=None, lines=[
        {"sku": row.sku, "name": row.name, "serialized": row.serialized, "opening": row.opening,
         "received": row.received,
         "distributed": row.distributed, "losses": row.losses, "loss_reason": None, "other": row.other,
         "expected_closing": row.expected_closing, "counted_closing": None, "adjustment": 0,
         "adjustment_reason": None}
        for row in prefill(relais_id, period)
    ])
    return payload


def _stored_payload(report: StockReport, payload: dict[str, Any]) -> dict[str, Any]:
    payload.update(
        status=report.status.value, id=report.id, submitted_at=report.submitted_at,
        reviewed_at=report.reviewed_at, review_comment=report.review_comment, lines=[
            {"sku": line.product.sku, "name": line.product.name, "serialized": line.product.serialized,
             "opening": line.opening, "received": line.received, "distributed": line.distributed,
             "losses": line.losses, "loss_reason": line.loss_reason,
             "loss_reason_code": line.loss_reason_code, "other": line.other,
             "expected_closing": line.counted_closing - line.adjustment,
             "counted_closing": line.counted_closing, "adjustment": line.adjustment,
             "adjustment_reason": line.adjustment_reason,
             "adjustment_reason_code": line.adjustment_reason_code, "lost_serials": line.lost_serials}
            for line in sorted(report.lines, key=lambda item: item.product.sku)
        ])
    return payload


@dataclass(frozen=True)
class ReportSummary:
    id: int
    period: date
    status: ReportStatus
    submitted_at: datetime
    reviewed_at: datetime | None
    review_comment: str | None
    line_count: int
    losses: int
    adjustment: int
    discrepancy: int


def own_reports(page: int, per_page: int, *, status: str | None = None) -> tuple[list[ReportSummary], int]:
    """The bound relais' stored reports, the latest month first, each with its lines' totals
    (losses, net adjustment, losses + |adjustments|): two queries a page."""
    relais_id = bound_relais_id()
    stmt = (
        select(StockReport.id, StockReport.period, StockReport.status, StockReport.submitted_at,
               StockReport.reviewed_at, StockReport.review_comment, func.count(StockReportLine.id),
               func.coalesce(func.sum(StockReportLine.losses), 0),
               func.coalesce(func.sum(StockReportLine.adjustment), 0),
               func.coalesce(func.sum(func.abs(StockReportLine.adjustment) + StockReportLine.losses), 0))
        .outerjoin(StockReportLine, StockReportLine.report_id == StockReport.id)
        .where(StockReport.relais_id == relais_id)
        .group_by(StockReport.id)
        .order_by(StockReport.period.desc(), StockReport.id.desc())
    )
    if status is not None:
        stmt = stmt.where(StockReport.status == ReportStatus(status))
    rows, total = paginate_rows(stmt, page, per_page)
    return [ReportSummary(*row) for row in rows], total


def returned_periods(relais_id: int) -> list[date]:
    """Months whose report the national team sent back to this relais for correction."""
    return list(db.session.scalars(
        select(StockReport.period)
        .where(StockReport.relais_id == relais_id, StockReport.status == ReportStatus.RETURNED)
        .order_by(StockReport.period)))


# --- national review ------------------------------------------------------------------


def national_report(relais_id: int, period_text: str | None) -> dict[str, Any]:
    """A relais' stored report as the national team reads it (lines, formula, reasons)."""
    national_scope(_("lecture d'un rapport de stock mensuel"))
    period = parse_period(period_text)
    report = stored(relais_id, period)
    if report is None:
        raise NotFound(_("Rapport de stock introuvable."))
    relais = db.session.get(Relais, relais_id)
    return _stored_payload(report, {"period": format_period(period), "due_on": due_on(period),
                                    "relais_id": relais_id, "relais_name": relais.name if relais else ""})


def review(relais_id: int, period_text: str | None, decision: Any, comment: Any) -> StockReport:
    """Accept a submitted report, or return it to the relais for correction (with a comment;
    its admins are told by e-mail and on their home page)."""
    national_scope(_("revue d'un rapport de stock mensuel"))
    period = parse_period(period_text)
    report = db.session.scalar(
        select(StockReport).where(StockReport.relais_id == relais_id, StockReport.period == period)
        .with_for_update().execution_options(populate_existing=True))
    if report is None:
        raise NotFound(_("Rapport de stock introuvable."))
    status: ReportStatus | None
    try:
        status = ReportStatus(decision)
    except ValueError:
        status = None
    text = _text(comment)
    errors: dict[str, list[str]] = {}
    if status not in (ReportStatus.ACCEPTED, ReportStatus.RETURNED):
        errors["decision"] = [_("Décision attendue : accepted ou returned.")]
    elif status == ReportStatus.RETURNED and text is None:
        errors["comment"] = [_("Dites au relais ce qu'il doit corriger.")]
    if errors:
        raise ValidationFailed(errors)
    if report.status != ReportStatus.SUBMITTED or status is None:
        raise Conflict(_("Le rapport de %(period)s n'attend pas de revue (%(status)s).",
                         period=format_period(period), status=report.status.value))
    report.status = status
    report.reviewed_at, report.reviewed_by_id, report.review_comment = utcnow(), current_actor_id(), text
    audit.record("stock_report_reviewed", target=report,
                 details={"period": format_period(period), "decision": status.value})
    if status == ReportStatus.RETURNED:
        notifications.report_returned(report)
    return report


def to_review(page: int, per_page: int) -> tuple[list[ReviewRow], int]:
    """Submitted reports waiting for review, the largest discrepancies first (losses declared
    and adjustments, in units)."""
    national_scope(_("rapports de stock à relire"))
    discrepancy = func.sum(func.abs(StockReportLine.adjustment) + StockReportLine.losses)
    stmt = (
        select(StockReport.relais_id, Relais.name, StockReport.period, StockReport.status,
               StockReport.submitted_at, func.coalesce(discrepancy, 0).label("discrepancy"))
        .join(Relais, Relais.id == StockReport.relais_id)
        .outerjoin(StockReportLine, StockReportLine.report_id == StockReport.id)
        .where(StockReport.status == ReportStatus.SUBMITTED)
        .group_by(StockReport.id, Relais.name)
    )
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.execute(stmt.order_by(func.coalesce(discrepancy, 0).desc(), StockReport.submitted_at)
                              .limit(per_page).offset((page - 1) * per_page))
    return [ReviewRow(*row) for row in rows], total


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
