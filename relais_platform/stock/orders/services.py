"""Orders: drafting, submission, cancellation, listing, and the one function that moves a
status (`transition`).

Services take plain values, flush and never commit: the request (or job, or command) does.
Relais sessions are bound to their relais, so the ORM hook and row-level security confine
them to their own orders; national services open the audited network scope themselves
(`national_scope`). Rows of one order are changed only under that order's row lock
(`lock_orders`, in id order), then national levels (in product order, see `ledger`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload, selectinload

from relais_platform.audit import services as audit
from relais_platform.audit.services import current_actor_id
from relais_platform.domain import Conflict, Forbidden, NotFound, ValidationFailed
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.stock.catalogue.models import Product
from relais_platform.stock.orders import notifications
from relais_platform.stock.orders.models import (
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    PaymentRoute,
)
from relais_platform.stock.scope import national_scope
from relais_platform.stock.warehouse import ledger
from relais_platform.stock.warehouse.models import MovementKind, NationalStock, SerialUnit
from relais_platform.tenancy import current_scope
from relais_platform.tenants.models import Relais

S = OrderStatus

STATUS_LABELS = {
    S.DRAFT: _l("brouillon"),
    S.SUBMITTED: _l("soumise"),
    S.ALLOCATED: _l("allouée"),
    S.AWAITING_PAYMENT: _l("en attente de paiement"),
    S.PAID: _l("payée"),
    S.SHIPPED: _l("expédiée"),
    S.RECEIVED: _l("reçue"),
    S.PARTIALLY_RECEIVED: _l("reçue partiellement"),
    S.CLOSED: _l("clôturée"),
    S.CANCELLED: _l("annulée"),
}

# The graph. `allocated` → `shipped` is only for orders whose payment route is `free`
# (zero amount): an allocated free order is shippable as it stands.
FLOW: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.DRAFT: frozenset({S.SUBMITTED, S.CANCELLED}),
    S.SUBMITTED: frozenset({S.ALLOCATED, S.CANCELLED}),
    S.ALLOCATED: frozenset({S.AWAITING_PAYMENT, S.SHIPPED, S.CANCELLED}),
    S.AWAITING_PAYMENT: frozenset({S.PAID, S.CANCELLED}),
    S.PAID: frozenset({S.SHIPPED, S.CANCELLED}),
    S.SHIPPED: frozenset({S.RECEIVED, S.PARTIALLY_RECEIVED}),
    S.RECEIVED: frozenset({S.CLOSED}),
    S.PARTIALLY_RECEIVED: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
    S.CANCELLED: frozenset(),
}

# Progress along the flow: a transition to a lower rank is a status already passed.
RANK = {
    S.DRAFT: 0, S.SUBMITTED: 1, S.ALLOCATED: 2, S.AWAITING_PAYMENT: 3, S.PAID: 4, S.SHIPPED: 5,
    S.RECEIVED: 6, S.PARTIALLY_RECEIVED: 6, S.CLOSED: 7,
}

_TIMESTAMPS = {
    S.SUBMITTED: "submitted_at",
    S.ALLOCATED: "allocated_at",
    S.PAID: "paid_at",
    S.SHIPPED: "shipped_at",
    S.RECEIVED: "received_at",
    S.PARTIALLY_RECEIVED: "received_at",
    S.CLOSED: "closed_at",
    S.CANCELLED: "cancelled_at",
}

MAX_QUANTITY = 100_000
UNUSUAL_FACTOR = 5

_LOCKS_KEY = "locked_orders"


def status_label(status: OrderStatus) -> str:
    return str(STATUS_LABELS[status])


# --- scope and locks --------------------------------------------------------------------


def reader_scope(reason: str) -> None:
    """Relais sessions read their own orders; the others read through the national scope."""
    if not current_scope(db.session).is_bound:
        national_scope(reason)


def _locked_ids() -> set[int]:
    # Row locks last until the transaction ends: remember them per transaction.
    transaction = db.session().get_transaction()
    entry = db.session.info.get(_LOCKS_KEY)
    if entry is None or entry[0] is not transaction:
        entry = (transaction, set())
        db.session.info[_LOCKS_KEY] = entry
    return entry[1]


def lock_orders(order_ids: Iterable[int]) -> list[Order]:
    """Orders row-locked (in id order, so that batches never deadlock), with lines and relais."""
    ids = sorted(set(order_ids))
    if not ids:
        return []
    orders = list(
        db.session.scalars(
            select(Order)
            .where(Order.id.in_(ids))
            .order_by(Order.id)
            .with_for_update(of=Order)
            .options(selectinload(Order.lines), selectinload(Order.relais))
            .execution_options(populate_existing=True)
        )
    )
    _locked_ids().update(o.id for o in orders)
    return orders


def get_order(order_id: int, *, lock: bool = False) -> Order:
    """An order visible in this session (404 otherwise: another relais' order does not exist)."""
    if lock:
        found = lock_orders([order_id])
        order = found[0] if found else None
    else:
        order = db.session.scalar(
            select(Order).where(Order.id == order_id)
            .options(selectinload(Order.lines), joinedload(Order.relais))
        )
    if order is None:
        raise NotFound(_("Commande introuvable."))
    return order


# --- the state machine ------------------------------------------------------------------


def transition(order: Order, new_status: OrderStatus | str, *, note: str | None = None) -> bool:
    """The single way to change an order's status. Returns False (nothing done) when the order
    already is at, or past, `new_status`; raises Conflict for a move the flow does not allow.

    Records an OrderEvent and an audit entry; cancelling releases the order's reservations.
    The order row is locked first unless the caller already holds the lock.
    """
    new_status = OrderStatus(new_status)
    if order.id not in _locked_ids():
        db.session.refresh(order, with_for_update=True)
        _locked_ids().add(order.id)
    current = order.status
    if new_status == current:
        return False
    if current == S.CANCELLED:
        raise Conflict(_("La commande n° %(id)d est annulée.", id=order.id))
    if new_status != S.CANCELLED and RANK[new_status] < RANK[current]:
        return False
    if new_status not in FLOW[current]:
        raise Conflict(
            _("Passage impossible de « %(old)s » à « %(new)s » pour la commande n° %(id)d.",
              old=status_label(current), new=status_label(new_status), id=order.id)
        )
    if current == S.ALLOCATED and new_status == S.SHIPPED and order.payment_route != PaymentRoute.FREE:
        raise Conflict(_("La commande n° %(id)d doit être payée avant l'expédition.", id=order.id))
    if new_status == S.CANCELLED:
        _release_reservations(order, note)
    order.status = new_status
    if stamp := _TIMESTAMPS.get(new_status):
        setattr(order, stamp, utcnow())
    db.session.add(OrderEvent(order_id=order.id, relais_id=order.relais_id, from_status=current,
                              to_status=new_status, actor_id=current_actor_id(), note=note))
    audit.record("order_status_changed", target=order, relais_id=order.relais_id,
                 details={"from": current.value, "to": new_status.value, "note": note})
    return True


def _release_reservations(order: Order, reason: str | None) -> None:
    held = [line for line in order.lines if line.allocated > line.shipped]
    if not held:
        return
    if current_scope(db.session).is_bound:
        # The national stock is written under the national scope only.
        raise Forbidden(_("Seule l'équipe nationale peut annuler une commande déjà allouée."))
    levels = ledger.lock_national_levels(line.product_id for line in held)
    for line in held:
        ledger.move_national(
            line.product, MovementKind.RELEASE,
            reserved_delta=-(line.allocated - line.shipped),
            order_id=order.id, relais_id=order.relais_id,
            reason=_("Annulation de la commande n° %(id)d", id=order.id)
            + (f" : {reason}" if reason else ""),
            level=levels[line.product_id],
        )


# --- drafting ---------------------------------------------------------------------------


def _dimension_label(value: str) -> str:
    return {"connexion": _("connexion"), "equipement": _("équipement")}.get(value, value)


def _check_relais(relais: Relais) -> None:
    if not relais.is_active:
        raise ValidationFailed.field(
            "relais_id",
            _("Le relais %(name)s n'est pas actif : il ne peut pas commander.", name=relais.name),
        )


def _check_lines(relais: Relais, lines: Iterable[tuple[str, Any]]) -> list[tuple[Product, int]]:
    """Validate (sku, quantity) pairs; every problem is reported, each naming its product.

    A sku given twice is refused rather than merged: it is more often a typing slip than an
    intended sum.
    """
    # Stored upper case (see catalogue): a client typing "rec-1" means REC-1.
    pairs = [((sku or "").strip().upper(), quantity) for sku, quantity in lines]
    if not pairs:
        raise ValidationFailed.field("lines", _("La commande doit contenir au moins une ligne."))
    products = {
        p.sku: p for p in db.session.scalars(select(Product).where(Product.sku.in_({s for s, _q in pairs})))
    }
    errors: dict[str, list[str]] = {}
    seen: set[str] = set()
    checked = []
    for sku, quantity in pairs:
        problems = errors.setdefault(sku or "sku", [])
        if sku in seen:
            problems.append(_("Le produit %(sku)s apparaît plusieurs fois : regroupez les quantités "
                              "sur une seule ligne.", sku=sku))
            continue
        seen.add(sku)
        product = products.get(sku)
        if product is None:
            problems.append(_("Produit inconnu : %(sku)s.", sku=sku))
            continue
        if not product.active:
            problems.append(_("Le produit %(sku)s (%(name)s) n'est plus proposé.",
                              sku=sku, name=product.name))
        if product.dimension.value not in (relais.dimensions or []):
            problems.append(_("Le produit %(sku)s (%(name)s) relève de la dimension « %(dimension)s », "
                              "que le relais %(relais)s ne couvre pas.", sku=sku, name=product.name,
                              dimension=_dimension_label(product.dimension.value), relais=relais.name))
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            problems.append(_("La quantité de %(sku)s (%(name)s) doit être un entier supérieur à 0.",
                              sku=sku, name=product.name))
        elif quantity > MAX_QUANTITY:
            problems.append(_("La quantité de %(sku)s (%(name)s) dépasse le maximum de %(max)d.",
                              sku=sku, name=product.name, max=MAX_QUANTITY))
        if not problems:
            checked.append((product, quantity))
    errors = {sku: messages for sku, messages in errors.items() if messages}
    if errors:
        raise ValidationFailed(errors)
    return checked


def create_order(relais: Relais, lines: Iterable[tuple[str, Any]], *,
                 placed_by_national: bool = False, note: str | None = None) -> Order:
    """A draft order of `relais` (the national team may enter one on a relais' behalf)."""
    if placed_by_national:
        national_scope(_("saisie d'une commande pour un relais"))
    _check_relais(relais)
    checked = _check_lines(relais, lines)
    order = Order(relais_id=relais.id, status=S.DRAFT, created_by_id=current_actor_id(),
                  placed_by_national=placed_by_national, note=note)
    order.lines = [OrderLine(relais_id=relais.id, product=product, product_id=product.id,
                             requested=quantity) for product, quantity in checked]
    db.session.add(order)
    db.session.flush()
    db.session.add(OrderEvent(order_id=order.id, relais_id=relais.id, from_status=None,
                              to_status=S.DRAFT, actor_id=current_actor_id()))
    audit.record("order_created", target=order, relais_id=relais.id,
                 details={"placed_by_national": placed_by_national,
                          "lines": [[p.sku, q] for p, q in checked]})
    return order


def _require_status(order: Order, *statuses: OrderStatus) -> None:
    if order.status not in statuses:
        raise Conflict(_("La commande n° %(id)d est %(status)s : action impossible.",
                         id=order.id, status=status_label(order.status)))


def update_draft(order: Order, lines: Iterable[tuple[str, Any]]) -> Order:
    """Replace a draft's lines (quantities updated in place, missing products removed)."""
    reader_scope(_("modification d'une commande brouillon"))
    order = lock_orders([order.id])[0]
    _require_status(order, S.DRAFT)
    checked = _check_lines(order.relais, lines)
    wanted = {product.id: (product, quantity) for product, quantity in checked}
    for line in list(order.lines):
        if line.product_id in wanted:
            line.requested = wanted.pop(line.product_id)[1]
        else:
            order.lines.remove(line)
    for product, quantity in wanted.values():
        order.lines.append(OrderLine(relais_id=order.relais_id, product=product,
                                     product_id=product.id, requested=quantity))
    db.session.flush()
    audit.record("order_updated", target=order, relais_id=order.relais_id,
                 details={"lines": [[p.sku, q] for p, q in checked]})
    return order


def _medians(order: Order) -> dict[int, float]:
    """The relais' median submitted quantity per product of this order (one query)."""
    rows = db.session.execute(
        select(OrderLine.product_id,
               func.percentile_cont(0.5).within_group(OrderLine.requested))
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.relais_id == order.relais_id, Order.id != order.id,
               Order.submitted_at.is_not(None), Order.status != S.CANCELLED,
               OrderLine.product_id.in_([line.product_id for line in order.lines]))
        .group_by(OrderLine.product_id)
    )
    return {product_id: float(median) for product_id, median in rows}


class UnusualQuantities(ValidationFailed):
    """Quantities far above the relais' habit: the caller must ask for confirmation."""


def submit(order: Order, *, confirm_unusual: bool = False) -> Order:
    """Submit a draft: rules checked again, unusual quantities confirmed, prices frozen."""
    reader_scope(_("soumission d'une commande"))
    order = lock_orders([order.id])[0]
    _require_status(order, S.DRAFT)
    _check_relais(order.relais)
    _check_lines(order.relais, [(line.product.sku, line.requested) for line in order.lines])
    medians = _medians(order)
    unusual: dict[str, list[str]] = {}
    for line in order.lines:
        median = medians.get(line.product_id)
        if median and line.requested >= UNUSUAL_FACTOR * median:
            if confirm_unusual:
                line.unusual_confirmed = True
            else:
                unusual[line.product.sku] = [_(
                    "Quantité inhabituelle pour %(sku)s (%(name)s) : %(quantity)d, soit au moins "
                    "%(factor)d fois la médiane de vos commandes (%(median)s). Confirmez-la "
                    "(« confirm_unusual ») ou corrigez-la.",
                    sku=line.product.sku, name=line.product.name, quantity=line.requested,
                    factor=UNUSUAL_FACTOR, median=f"{median:g}")]
    if unusual:
        raise UnusualQuantities(unusual, _("Certaines quantités sont inhabituelles : confirmez-les."))
    for line in order.lines:
        line.unit_price_cents = line.product.unit_price_cents
    transition(order, S.SUBMITTED)
    notifications.order_submitted(order)
    return order


def cancel(order: Order, reason: str | None = None) -> Order:
    """A relais cancels until allocation starts; the national team until shipment."""
    reader_scope(_("annulation d'une commande"))
    order = lock_orders([order.id])[0]
    reason = (reason or "").strip() or None
    if order.status == S.CANCELLED:
        raise Conflict(_("La commande n° %(id)d est déjà annulée.", id=order.id))
    if RANK[order.status] >= RANK[S.SHIPPED]:
        raise Conflict(_("La commande n° %(id)d est déjà expédiée : elle ne peut plus être annulée.",
                         id=order.id))
    if current_scope(db.session).is_bound and (
        order.status not in (S.DRAFT, S.SUBMITTED) or any(line.allocated for line in order.lines)
    ):
        raise Conflict(_("La commande n° %(id)d est déjà allouée : seule l'équipe nationale peut "
                         "encore l'annuler.", id=order.id))
    order.cancel_reason = reason
    transition(order, S.CANCELLED, note=reason)
    return order


# --- reading ----------------------------------------------------------------------------


def order_query(*, status: OrderStatus | str | None = None, relais_id: int | None = None) -> Select:
    """Orders newest first: the national team's across the network, a relais' own otherwise."""
    reader_scope(_("liste des commandes"))
    stmt = (
        select(Order)
        .options(selectinload(Order.lines), joinedload(Order.relais))
        .order_by(Order.id.desc())
    )
    if status:
        stmt = stmt.where(Order.status == OrderStatus(status))
    if relais_id is not None:
        stmt = stmt.where(Order.relais_id == relais_id)
    return stmt


def available_by_product(product_ids: Iterable[int]) -> dict[int, int]:
    """National available stock of these products (one query; 0 when never stocked)."""
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        select(NationalStock.product_id, NationalStock.on_hand - NationalStock.reserved)
        .where(NationalStock.product_id.in_(ids))
    )
    found = dict(rows.tuples().all())
    return {pid: found.get(pid, 0) for pid in ids}


def order_events(order: Order) -> list[OrderEvent]:
    return list(db.session.scalars(
        select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id)
    ))


def estimated_cents(order: Order) -> int:
    """What the requested quantities cost (frozen prices once submitted)."""
    return sum(line.requested * (line.unit_price_cents if line.unit_price_cents is not None
                                 else line.product.unit_price_cents) for line in order.lines)


def shipped_units(order: Order) -> dict[int, list[SerialUnit]]:
    """Serialized units shipped on each line of the order (one query)."""
    units: dict[int, list[SerialUnit]] = {line.id: [] for line in order.lines}
    if units:
        for unit in db.session.scalars(
            select(SerialUnit).where(SerialUnit.order_line_id.in_(units.keys()))
            .order_by(SerialUnit.serial)
        ):
            units[unit.order_line_id or 0].append(unit)  # selected by order_line_id: never None
    return units
