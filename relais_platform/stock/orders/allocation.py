"""Allocation by the national team: per order, or for one scarce product across every open
order (fair split, then a confirmed batch).

Allocating reserves national stock (ledger `reservation`) under the levels' row locks, so
two allocations running at once can never promise the same units twice.

Batches and partial allocation: `confirm_batch` decides one product's line in many orders.
An order whose lines are then all allocated moves on (allocated, then payment); an order
that still has undecided lines stays `submitted` with that line's stock reserved, and the
national team completes it with `allocate` (lines it omits keep their allocation). A line
given 0 in a batch stays open and appears again in the next proposal.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from relais_platform.domain import Conflict, NotFound, ValidationFailed
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.stock.catalogue.models import Product
from relais_platform.stock.orders.models import Order, OrderLine, OrderStatus, PaymentRoute
from relais_platform.stock.orders.services import (
    available_by_product,
    lock_orders,
    status_label,
    transition,
)
from relais_platform.stock.scope import national_scope
from relais_platform.stock.warehouse import ledger
from relais_platform.stock.warehouse.models import MovementKind, RelaisMovementKind, RelaisStockMovement
from relais_platform.tenants.models import PUBLIC_BODY_KINDS, Relais

HISTORY_DAYS = 90


def _product(sku: str) -> Product:
    product = db.session.scalar(select(Product).where(Product.sku == (sku or "").strip().upper()))
    if product is None:
        raise NotFound(_("Produit inconnu : %(sku)s.", sku=sku))
    return product


def _check_quantity(line: OrderLine, quantity: Any) -> str | None:
    product = line.product
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        return _("La quantité allouée de %(sku)s (%(name)s) doit être un entier positif ou nul.",
                 sku=product.sku, name=product.name)
    if quantity > line.requested:
        return _("Allocation de %(quantity)d pour %(sku)s (%(name)s) supérieure à la quantité "
                 "demandée (%(requested)d) dans la commande n° %(id)d.", quantity=quantity,
                 sku=product.sku, name=product.name, requested=line.requested, id=line.order_id)
    return None


def _reserve(changes: Sequence[tuple[OrderLine, int]]) -> None:
    """Set each line's allocation, reserving (or releasing) the difference.

    Levels are locked first; every product short is named in one 409.
    """
    deltas = [(line, target - line.allocated) for line, target in changes if target != line.allocated]
    if not deltas:
        return
    levels = ledger.lock_national_levels(line.product_id for line, _delta in deltas)
    wanted: dict[int, int] = defaultdict(int)
    for line, delta in deltas:
        wanted[line.product_id] += delta
    errors = {}
    for line, _delta in deltas:
        level = levels[line.product_id]
        if wanted[line.product_id] > level.available:
            errors[line.product.sku] = [_(
                "Stock national insuffisant pour %(sku)s (%(name)s) : %(wanted)d à réserver, "
                "%(available)d disponible(s).", sku=line.product.sku, name=line.product.name,
                wanted=wanted[line.product_id], available=level.available)]
    if errors:
        raise Conflict(next(iter(errors.values()))[0] if len(errors) == 1
                       else _("Stock national insuffisant pour plusieurs produits."), errors)
    # Earmarked stock (a funder's agreement) goes only to the relais it covers.
    from relais_platform.reporting.funders import earmarks

    earmarks.claim(deltas, levels)
    for line, delta in deltas:
        ledger.move_national(
            line.product,
            MovementKind.RESERVATION if delta > 0 else MovementKind.RELEASE,
            reserved_delta=delta, order_id=line.order_id, relais_id=line.relais_id,
            reason=_("Allocation de la commande n° %(id)d", id=line.order_id),
            level=levels[line.product_id],
        )
        line.allocated += delta


def payment_route(order: Order) -> PaymentRoute:
    if order.total_cents == 0:
        return PaymentRoute.FREE
    if not current_app.config.get("STRIPE_SECRET_KEY"):
        return PaymentRoute.MANUAL
    return PaymentRoute.INVOICE if order.relais.kind in PUBLIC_BODY_KINDS else PaymentRoute.CHECKOUT


def _finalize(orders: Sequence[Order]) -> None:
    """Allocated orders: amount from frozen prices, then straight to shippable (free) or to
    awaiting payment; relais admins are told."""
    from relais_platform.stock.orders import notifications, payments

    for order in orders:
        order.total_cents = sum(line.allocated * (line.unit_price_cents or 0) for line in order.lines)
        order.payment_route = payment_route(order)
        transition(order, OrderStatus.ALLOCATED)
        if order.payment_route != PaymentRoute.FREE:
            transition(order, OrderStatus.AWAITING_PAYMENT)
            # Invoices go out by a job after commit: a slow Stripe never undoes an allocation.
            payments.request_payment(order)
    notifications.orders_allocated(orders)


def _require_submitted(order: Order) -> None:
    if order.status != OrderStatus.SUBMITTED:
        raise Conflict(_("La commande n° %(id)d est %(status)s : elle n'attend pas d'allocation.",
                         id=order.id, status=status_label(order.status)))


def allocate(order: Order, quantities: Mapping[str, Any]) -> Order:
    """Allocate a submitted order line by line: ≤ requested (422), ≤ available (409)."""
    national_scope(_("allocation d'une commande"))
    order = lock_orders([order.id])[0]
    _require_submitted(order)
    by_sku = {line.product.sku: line for line in order.lines}
    errors: dict[str, list[str]] = {}
    for sku, quantity in quantities.items():
        line = by_sku.get(sku)
        if line is None:
            errors[sku] = [_("Le produit %(sku)s ne figure pas dans la commande n° %(id)d.",
                             sku=sku, id=order.id)]
        elif problem := _check_quantity(line, quantity):
            errors[sku] = [problem]
    if errors:
        raise ValidationFailed(errors)
    targets = [(line, quantities.get(sku, line.allocated)) for sku, line in by_sku.items()]
    if not any(target for _line, target in targets):
        raise ValidationFailed.field("lines", _("Allouez au moins une unité, ou annulez la commande."))
    _reserve(targets)
    _finalize([order])
    return order


# --- fair split -------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """An open order's unallocated line for the product."""

    order_id: int
    relais_id: int
    relais_name: str
    created_at: datetime
    requested: int


def water_fill(capacity: int, demands: Mapping[int, int], weights: Mapping[int, int]
               ) -> tuple[dict[int, Fraction], Fraction | None]:
    """Weighted max-min fair shares (exact): the largest level λ such that giving each key
    min(demand, weight × λ) uses at most `capacity`. Returns the shares and λ (None when
    every demand is met)."""
    remaining, weight_left = Fraction(capacity), sum(weights[k] for k in demands)
    shares: dict[int, Fraction] = {}
    pending = sorted(demands, key=lambda k: (Fraction(demands[k], weights[k]), k))
    for index, key in enumerate(pending):
        level = remaining / weight_left
        if demands[key] <= weights[key] * level:
            shares[key] = Fraction(demands[key])
            remaining -= demands[key]
            weight_left -= weights[key]
            continue
        for other in pending[index:]:
            shares[other] = weights[other] * level
        return shares, level
    return shares, None


def largest_remainder(shares: Mapping[int, Fraction], total: int, priority: Mapping[int, Any]
                      ) -> dict[int, int]:
    """Round shares summing to the integer `total`: floors, then +1 to the largest fractional
    parts (ties by `priority`, smallest first)."""
    rounded = {key: int(share) for key, share in shares.items()}
    left = total - sum(rounded.values())
    by_remainder = sorted((k for k in shares if shares[k] != rounded[k]),
                          key=lambda k: (-(shares[k] - rounded[k]), priority[k]))
    for key in by_remainder[:left]:
        rounded[key] += 1
    return rounded


def fair_split(available: int, claims: Sequence[Claim], distributed: Mapping[int, int]
               ) -> tuple[dict[int, int], dict[int, int], Fraction | None]:
    """Proposed quantity per order, weight per relais, and the fill level.

    Fairness is between relais (splitting a need into several orders gains nothing): each
    relais weighs 1 + its distributions of the product over the last 90 days; its integer
    share then goes to its orders oldest first.
    """
    demand: dict[int, int] = defaultdict(int)
    oldest: dict[int, tuple[datetime, int]] = {}
    for claim in claims:
        demand[claim.relais_id] += claim.requested
        age = (claim.created_at, claim.order_id)
        oldest[claim.relais_id] = min(oldest.get(claim.relais_id, age), age)
    weights = {rid: 1 + max(0, distributed.get(rid, 0)) for rid in demand}
    target = min(max(0, available), sum(demand.values()))
    shares, level = water_fill(target, demand, weights)
    per_relais = largest_remainder(shares, target, oldest)
    proposed: dict[int, int] = {}
    for claim in sorted(claims, key=lambda c: (c.created_at, c.order_id)):
        give = min(claim.requested, per_relais[claim.relais_id])
        per_relais[claim.relais_id] -= give
        proposed[claim.order_id] = give
    return proposed, weights, level


def _open_claims(product: Product) -> list[Claim]:
    rows = db.session.execute(
        select(Order.id, Order.relais_id, Order.created_at, OrderLine.requested)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(Order.status == OrderStatus.SUBMITTED, OrderLine.product_id == product.id,
               OrderLine.allocated == 0)
        .order_by(Order.created_at, Order.id)
    ).all()
    if not rows:
        return []
    # Names apart: joined in, the relais' row-level policy misleads the planner (seconds on
    # 200,000 orders instead of milliseconds).
    names = dict(db.session.execute(
        select(Relais.id, Relais.name).where(Relais.id.in_({row.relais_id for row in rows}))
    ).tuples().all())
    return [Claim(row.id, row.relais_id, names[row.relais_id], row.created_at, row.requested)
            for row in rows]


def distributions(product: Product, relais_ids: Iterable[int]) -> dict[int, int]:
    """Units of the product each relais distributed in the last 90 days, net of cancellations."""
    ids = sorted(set(relais_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        select(RelaisStockMovement.relais_id, -func.sum(RelaisStockMovement.quantity_delta))
        .where(RelaisStockMovement.product_id == product.id,
               RelaisStockMovement.relais_id.in_(ids),
               RelaisStockMovement.kind.in_([RelaisMovementKind.DISTRIBUTION,
                                             RelaisMovementKind.DISTRIBUTION_CANCELLED]),
               RelaisStockMovement.occurred_at >= utcnow() - timedelta(days=HISTORY_DAYS))
        .group_by(RelaisStockMovement.relais_id)
    )
    return {rid: int(total or 0) for rid, total in rows}


def _explain(product: Product, available: int, claims: Sequence[Claim], level: Fraction | None) -> str:
    demand = sum(c.requested for c in claims)
    if demand <= available:
        return _("La demande ouverte de %(sku)s (%(demand)d) ne dépasse pas le stock disponible "
                 "(%(available)d) : chaque commande reçoit la quantité demandée.",
                 sku=product.sku, demand=demand, available=available)
    return _(
        "Stock disponible de %(sku)s (%(available)d) inférieur à la demande ouverte (%(demand)d, "
        "%(orders)d commande(s) de %(relais)d relais). Partage max-min pondéré : chaque relais pèse "
        "1 + le nombre d'unités de ce produit qu'il a distribuées ces %(days)d derniers jours ; tous "
        "montent ensemble jusqu'à un même niveau par point de poids (ici %(level)s), sans jamais "
        "dépasser leur demande, et ce qu'un relais ne prend pas revient aux autres. Les parts sont "
        "arrondies à l'unité par la méthode des plus forts restes (à égalité, la commande la plus "
        "ancienne d'abord) ; au sein d'un relais, les commandes les plus anciennes sont servies "
        "d'abord. Total proposé : exactement %(available)d.",
        sku=product.sku, available=available, demand=demand, orders=len(claims),
        relais=len({c.relais_id for c in claims}), days=HISTORY_DAYS,
        level=f"{float(level or 0):.2f}".replace(".", ","))


def propose(sku: str) -> dict[str, Any]:
    """A fair split of the product's available stock across every open order (5 queries)."""
    national_scope(_("proposition de partage équitable"))
    product = _product(sku)
    available = max(0, available_by_product([product.id])[product.id])
    claims = _open_claims(product)
    distributed = distributions(product, (c.relais_id for c in claims))
    proposed, weights, level = fair_split(available, claims, distributed)
    return {
        "sku": product.sku,
        "name": product.name,
        "available": available,
        "demand": sum(c.requested for c in claims),
        "rule": _explain(product, available, claims, level),
        "proposals": [
            {"order_id": c.order_id, "relais_id": c.relais_id, "relais_name": c.relais_name,
             "requested": c.requested, "proposed": proposed[c.order_id],
             "weight": weights[c.relais_id], "distributed_90d": distributed.get(c.relais_id, 0)}
            for c in claims
        ],
    }


def confirm_batch(sku: str, allocations: Iterable[tuple[int, Any]]) -> dict[str, Any]:
    """Allocate one product across many orders in one transaction (same checks as `allocate`)."""
    national_scope(_("allocation groupée"))
    product = _product(sku)
    pairs = list(allocations)
    errors: dict[str, list[str]] = {}
    seen: set[int] = set()
    for order_id, _quantity in pairs:
        if order_id in seen:
            errors[str(order_id)] = [_("La commande n° %(id)d apparaît plusieurs fois.", id=order_id)]
        seen.add(order_id)
    if errors:
        raise ValidationFailed(errors)
    orders = {order.id: order for order in lock_orders(seen)}
    changes: list[tuple[OrderLine, int]] = []
    for order_id, quantity in pairs:
        order = orders.get(order_id)
        if order is None:
            errors[str(order_id)] = [_("Commande introuvable : n° %(id)d.", id=order_id)]
            continue
        _require_submitted(order)
        line = next((line for line in order.lines if line.product_id == product.id), None)
        if line is None:
            errors[str(order_id)] = [_("Le produit %(sku)s ne figure pas dans la commande n° %(id)d.",
                                       sku=product.sku, id=order_id)]
        elif line.allocated:
            raise Conflict(_("La ligne %(sku)s de la commande n° %(id)d est déjà allouée.",
                             sku=product.sku, id=order_id))
        elif problem := _check_quantity(line, quantity):
            errors[str(order_id)] = [problem]
        elif quantity:
            changes.append((line, quantity))
    if errors:
        raise ValidationFailed(errors)
    _reserve(changes)
    touched = [orders[line.order_id] for line, _quantity in changes]
    complete = [order for order in touched if all(line.allocated for line in order.lines)]
    _finalize(complete)
    return {
        "sku": product.sku,
        "allocated": sum(quantity for _line, quantity in changes),
        "orders": [{"order_id": order_id, "quantity": quantity, "status": orders[order_id].status.value}
                   for order_id, quantity in pairs],
    }
