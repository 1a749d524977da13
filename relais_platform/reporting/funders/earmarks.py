"""Earmarked stock (stock fléché): units received for one agreement go only to its relais.

A ledger (`earmark_movements`) keeps each (agreement, product) balance: + at receipt, − when
an order line of a relais the agreement covers is allocated, + when that allocation shrinks.
Allocation (`stock.orders.allocation`) asks `claim` before reserving: the relais' own
agreements are drawn first; what is left must fit in the unearmarked stock
(available − every balance), else 409 naming the agreement holding the units.

What was handed out from the earmark is counted per relais and product as
min(units allocated to it from the earmark, units it distributed since the agreement
began, net of cancellations): earmarked units are assumed to be handed out first.
Units are earmarked by quantity, not by serial. Draws on the lines of a cancelled order no
longer count: its units are back in the agreement's balance.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from relais_platform.audit.services import current_actor_id
from relais_platform.domain import Conflict, ValidationFailed
from relais_platform.extensions import db
from relais_platform.reporting.activity.privacy import protect_cells
from relais_platform.reporting.funders.models import Convention, EarmarkKind, EarmarkMovement
from relais_platform.stock.catalogue.models import Product
from relais_platform.stock.orders.models import Order, OrderLine, OrderStatus
from relais_platform.stock.warehouse.models import NationalStock, RelaisMovementKind, RelaisStockMovement
from relais_platform.tenants.models import Relais


def check_convention(convention_id: Any) -> Convention:
    """The agreement a receipt is earmarked for (422 on `convention_id` when there is none)."""
    valid = isinstance(convention_id, int) and not isinstance(convention_id, bool)
    convention = db.session.get(Convention, convention_id) if valid else None
    if convention is None:
        raise ValidationFailed.field("convention_id", _("Convention inconnue."))
    return convention


def receive(convention: Convention, product: Product, quantity: int) -> None:
    """Earmark units just received into national stock (the caller moved the stock)."""
    db.session.add(EarmarkMovement(convention_id=convention.id, product_id=product.id,
                                   kind=EarmarkKind.RECEIPT, quantity=quantity, actor_id=current_actor_id()))
    db.session.flush()


def _live() -> Any:
    """Movements still in force: a cancelled order gave its units back, to the agreement too
    (the cancellation releases the national reservation without passing through here)."""
    cancelled = (select(OrderLine.id).join(Order, Order.id == OrderLine.order_id)
                 .where(Order.status == OrderStatus.CANCELLED))
    return or_(EarmarkMovement.order_line_id.is_(None), EarmarkMovement.order_line_id.not_in(cancelled))


def _balances(product_ids: Sequence[int]) -> dict[int, dict[int, int]]:
    """product → convention → units still earmarked."""
    rows = db.session.execute(
        select(EarmarkMovement.product_id, EarmarkMovement.convention_id, func.sum(EarmarkMovement.quantity))
        .where(EarmarkMovement.product_id.in_(product_ids), _live())
        .group_by(EarmarkMovement.product_id, EarmarkMovement.convention_id))
    balances: dict[int, dict[int, int]] = defaultdict(dict)
    for product_id, convention_id, balance in rows:
        if balance:
            balances[product_id][convention_id] = int(balance)
    return balances


def _line_draws(line_ids: Sequence[int]) -> dict[int, dict[int, int]]:
    """order line → convention → units it currently holds from the earmark."""
    rows = db.session.execute(
        select(EarmarkMovement.order_line_id, EarmarkMovement.convention_id,
               -func.sum(EarmarkMovement.quantity))
        .where(EarmarkMovement.order_line_id.in_(line_ids),
               EarmarkMovement.kind.in_([EarmarkKind.ALLOCATION, EarmarkKind.RELEASE]))
        .group_by(EarmarkMovement.order_line_id, EarmarkMovement.convention_id))
    draws: dict[int, dict[int, int]] = defaultdict(dict)
    for line_id, convention_id, held in rows:
        if held:
            draws[line_id][convention_id] = int(held)
    return draws


def _covers(convention: Convention, relais: Relais) -> bool:
    return convention.covers(relais.id, relais.departement)


def _move(convention_id: int, line: OrderLine, kind: EarmarkKind, quantity: int) -> None:
    db.session.add(EarmarkMovement(convention_id=convention_id, product_id=line.product_id, kind=kind,
                                   quantity=quantity, order_line_id=line.id, relais_id=line.relais_id,
                                   actor_id=current_actor_id()))


def claim(deltas: Sequence[tuple[OrderLine, int]], levels: Mapping[int, NationalStock]) -> None:
    """Draw each line's extra allocation from its relais' earmarks, or refuse it (409) when it
    would eat units earmarked for agreements that do not cover the relais.

    Called under the national levels' row locks, before the reservation is written.
    """
    product_ids = sorted({line.product_id for line, _delta in deltas})
    balances = _balances(product_ids)
    if not balances:
        return
    conventions = {c.id: c for c in db.session.scalars(
        select(Convention).where(Convention.id.in_({cid for b in balances.values() for cid in b})))}
    relais = {r.id: r for r in db.session.scalars(
        select(Relais).where(Relais.id.in_({line.relais_id for line, _delta in deltas})))}
    draws = _line_draws([line.id for line, _delta in deltas])
    free = {pid: levels[pid].available - sum(balances[pid].values()) for pid in product_ids}
    for line, delta in deltas:
        pools = balances.get(line.product_id, {})
        if delta < 0:  # units go back to the agreements the line drew from, then to free stock
            back = -delta
            for convention_id, held in sorted(draws[line.id].items()):
                give = min(back, held)
                if give:
                    _move(convention_id, line, EarmarkKind.RELEASE, give)
                    pools[convention_id] = pools.get(convention_id, 0) + give
                    back -= give
            free[line.product_id] += back
            continue
        wanted = delta
        for convention_id in sorted(pools):
            covering = _covers(conventions[convention_id], relais[line.relais_id])
            if wanted and pools[convention_id] > 0 and covering:
                take = min(wanted, pools[convention_id])
                _move(convention_id, line, EarmarkKind.ALLOCATION, -take)
                pools[convention_id] -= take
                wanted -= take
        if wanted > free[line.product_id]:
            holders = [conventions[cid].name for cid, balance in sorted(pools.items()) if balance > 0
                       and not _covers(conventions[cid], relais[line.relais_id])]
            raise Conflict(_(
                "%(sku)s : %(wanted)d unité(s) demandée(s) mais %(free)d seulement hors stock fléché ; le "
                "reste est réservé à la convention « %(names)s » et ne peut aller qu'aux relais de son "
                "périmètre.", sku=line.product.sku, wanted=wanted, free=max(0, free[line.product_id]),
                names=" », « ".join(holders)),
                {line.product.sku: [_("Stock fléché : convention « %(names)s ».",
                                      names=" », « ".join(holders))]})
        free[line.product_id] -= wanted
    db.session.flush()


def handed_out(convention: Convention, relais_ids: Sequence[int] | None, *, exact: bool) -> dict[str, Any]:
    """Per sku: units received for the agreement, allocated to (visible) relais, handed out."""
    received = dict(db.session.execute(
        select(Product.sku, func.sum(EarmarkMovement.quantity))
        .join(Product, Product.id == EarmarkMovement.product_id)
        .where(EarmarkMovement.convention_id == convention.id, EarmarkMovement.kind == EarmarkKind.RECEIPT)
        .group_by(Product.sku)).tuples().all())
    allocated_stmt = (
        select(EarmarkMovement.relais_id, EarmarkMovement.product_id, Product.sku,
               -func.sum(EarmarkMovement.quantity))
        .join(Product, Product.id == EarmarkMovement.product_id)
        .where(EarmarkMovement.convention_id == convention.id, EarmarkMovement.relais_id.is_not(None),
               _live())
        .group_by(EarmarkMovement.relais_id, EarmarkMovement.product_id, Product.sku))
    if relais_ids is not None:
        allocated_stmt = allocated_stmt.where(EarmarkMovement.relais_id.in_(relais_ids))
    allocated_rows = db.session.execute(allocated_stmt).all()
    allocated: dict[str, int] = defaultdict(int)
    out: dict[str, int] = defaultdict(int)
    if allocated_rows:
        m = RelaisStockMovement
        distributed = {
            (rid, pid): int(n or 0) for rid, pid, n in db.session.execute(
                select(m.relais_id, m.product_id, -func.sum(m.quantity_delta))
                .where(m.kind.in_([RelaisMovementKind.DISTRIBUTION,
                                   RelaisMovementKind.DISTRIBUTION_CANCELLED]),
                       m.relais_id.in_({row[0] for row in allocated_rows}),
                       m.product_id.in_({row[1] for row in allocated_rows}),
                       func.date(m.occurred_at) >= convention.starts_on)
                .group_by(m.relais_id, m.product_id))}
        for rid, pid, sku, units in allocated_rows:
            allocated[sku] += int(units or 0)
            out[sku] += min(int(units or 0), max(0, distributed.get((rid, pid), 0)))
    skus = sorted(set(received) | set(allocated))
    handed = {sku: out.get(sku, 0) for sku in skus}
    shown = handed if exact else protect_cells(handed)
    return {sku: {"received": int(received.get(sku, 0)), "allocated": allocated.get(sku, 0),
                  "handed_out": shown[sku]} for sku in skus}
