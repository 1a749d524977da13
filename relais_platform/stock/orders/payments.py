"""Payment of allocated orders.

Routes (chosen at allocation, see `PaymentRoute`): a Stripe Checkout Session (card or SEPA
Direct Debit) that the relais admin opens, a Stripe invoice paid by bank transfer for public
bodies, or payments recorded by hand by the national team (always possible, and the only way
when Stripe is not configured). Whatever the route, the order moves to `paid` once the
succeeded payments cover its total, and only ever forward: Stripe may deliver an event
twice or out of order.

Services flush and audit; the request (or `run_job`) commits. Stripe calls carry
idempotency keys derived from the order and the attempt, so a retried request or job gets
the same Stripe object back instead of a second one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from rq import Retry
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from relais_platform.accounts.models import Role, User
from relais_platform.audit import services as audit
from relais_platform.domain import Conflict, Forbidden, ValidationFailed
from relais_platform.extensions import db
from relais_platform.jobs import enqueue_after_commit
from relais_platform.orm import utcnow
from relais_platform.stock.orders import stripe_gateway
from relais_platform.stock.orders.models import (
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentMethod,
    PaymentRoute,
    PaymentStatus,
    StripeCustomer,
    StripeEvent,
)
from relais_platform.stock.orders.services import get_order, transition
from relais_platform.tenants.models import Relais

log = logging.getLogger(__name__)

# Stripe or the network may be down for a while: retry with backoff up to about 1h20.
STRIPE_RETRY = Retry(max=5, interval=[10, 60, 300, 900, 3600])
_JOBS = "relais_platform.stock.orders.jobs"
# A Checkout Session about to expire is not handed out again.
_CHECKOUT_MARGIN = timedelta(minutes=10)


def order_payments(order: Order) -> list[Payment]:
    return list(db.session.scalars(
        select(Payment).where(Payment.order_id == order.id).order_by(Payment.created_at, Payment.id)
    ))


def amount_paid(order: Order) -> int:
    return db.session.scalar(
        select(func.coalesce(func.sum(Payment.amount_cents), 0)).where(
            Payment.order_id == order.id, Payment.status == PaymentStatus.SUCCEEDED
        )
    ) or 0


def _require_awaiting_payment(order: Order) -> None:
    if order.status != OrderStatus.AWAITING_PAYMENT:
        raise Conflict(_("La commande RN-%(id)s n'est pas en attente de paiement.", id=order.id))


def _settle(order: Order) -> bool:
    """Move the order to paid when the succeeded payments cover its total."""
    if order.status != OrderStatus.AWAITING_PAYMENT or amount_paid(order) < order.total_cents:
        return False
    return transition(order, OrderStatus.PAID, note=_("Paiement reçu."))


# --- by hand -------------------------------------------------------------------------------

def record_manual_payment(order: Order, amount_cents: Any, reference: Any, *, actor: User) -> Payment:
    """A payment received outside Stripe (transfer, cheque, mandate), recorded by the national team.

    Several payments may settle one order; more than what remains due is refused (a typo
    such as 50000 for 5000 would otherwise pass unnoticed).
    """
    if actor.role != Role.NATIONAL:
        raise Forbidden(_("Seule l'équipe nationale enregistre les paiements."))
    _require_awaiting_payment(order)
    reference = reference.strip() if isinstance(reference, str) else ""
    errors: dict[str, list[str]] = {}
    remaining = order.total_cents - amount_paid(order)
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
        errors["amount_cents"] = [_("Le montant doit être un nombre entier de centimes supérieur à 0.")]
    elif amount_cents > remaining:
        errors["amount_cents"] = [_("Le montant dépasse le reste à payer (%(remaining)s centimes).",
                                    remaining=remaining)]
    if not reference:
        errors["reference"] = [_("Indiquez la référence du paiement (virement, chèque, mandat…).")]
    elif len(reference) > 200:
        errors["reference"] = [_("La référence ne doit pas dépasser 200 caractères.")]
    if errors:
        raise ValidationFailed(errors)
    payment = Payment(
        order_id=order.id,
        relais_id=order.relais_id,
        method=PaymentMethod.MANUAL,
        status=PaymentStatus.SUCCEEDED,
        amount_cents=amount_cents,
        reference=reference,
        recorded_by_id=actor.id,
        paid_at=utcnow(),
    )
    db.session.add(payment)
    db.session.flush()
    audit.record(
        "payment.manual",
        target=payment,
        relais_id=order.relais_id,
        actor_id=actor.id,
        details={"order_id": order.id, "amount_cents": amount_cents, "reference": reference,
                 "total_cents": order.total_cents, "remaining_cents": remaining - amount_cents},
    )
    _settle(order)
    return payment


# --- Stripe: shared pieces -----------------------------------------------------------------

def _billable_lines(order: Order) -> Iterator[tuple[OrderLine, int]]:
    """(line, unit price) of what is charged; free items have nothing to pay at Stripe."""
    for line in order.lines:
        if line.allocated > 0 and (line.unit_price_cents or 0) > 0:
            yield line, line.unit_price_cents or 0


def _require_stripe() -> None:
    if not stripe_gateway.is_configured():
        raise Conflict(_("Le paiement en ligne n'est pas activé : l'équipe nationale enregistrera "
                         "votre paiement à réception."))


def _require_route(order: Order, route: PaymentRoute) -> None:
    _require_awaiting_payment(order)
    if order.payment_route != route:
        messages = {
            PaymentRoute.CHECKOUT: _("Cette commande ne se règle pas en ligne."),
            PaymentRoute.INVOICE: _("Cette commande ne se règle pas sur facture."),
        }
        raise Conflict(messages[route])


def _attempt(order: Order, method: PaymentMethod) -> int:
    """Number of this attempt (1, 2…): part of the idempotency keys sent to Stripe."""
    count = db.session.scalar(
        select(func.count()).select_from(Payment).where(
            Payment.order_id == order.id, Payment.method == method
        )
    ) or 0
    return count + 1


def _pending(order: Order, method: PaymentMethod) -> Payment | None:
    return db.session.scalars(
        select(Payment)
        .where(Payment.order_id == order.id, Payment.method == method,
               Payment.status == PaymentStatus.PENDING)
        .order_by(Payment.id.desc())
        .limit(1)
    ).first()


def _metadata(order: Order) -> dict[str, str]:
    return {"order_id": str(order.id), "relais_id": str(order.relais_id)}


def ensure_customer(relais: Relais) -> str:
    """The Stripe customer of this relais, created on first use and kept."""
    existing = db.session.scalar(
        select(StripeCustomer.customer_id).where(StripeCustomer.relais_id == relais.id)
    )
    if existing:
        return existing
    params: dict[str, Any] = {
        "name": relais.name,
        "preferred_locales": ["fr"],
        "metadata": {"relais_id": str(relais.id), "siret": relais.siret},
        "address": {"line1": relais.address or "", "postal_code": relais.postcode,
                    "city": relais.city, "country": "FR"},
    }
    if relais.contact_email:
        params["email"] = relais.contact_email
    # Two concurrent first payments get the same customer back thanks to the key.
    customer = stripe_gateway.create_customer(params, idempotency_key=f"relais-{relais.id}-customer")
    db.session.execute(
        insert(StripeCustomer)
        .values(relais_id=relais.id, customer_id=customer.id)
        .on_conflict_do_nothing(index_elements=[StripeCustomer.relais_id])
    )
    return customer.id


# --- Stripe Checkout (associations) --------------------------------------------------------

def start_checkout(order: Order) -> str:
    """URL of the Checkout Session where the relais pays by card or SEPA Direct Debit.

    An open session that is not about to expire is handed out again, so clicking "pay"
    twice never opens two payments.
    """
    _require_stripe()
    _require_route(order, PaymentRoute.CHECKOUT)
    pending = _pending(order, PaymentMethod.STRIPE_CHECKOUT)
    if pending is not None and pending.stripe_object_id:
        session = stripe_gateway.retrieve_checkout_session(pending.stripe_object_id)
        if session.status == "complete":
            raise Conflict(_("Le paiement de cette commande est en cours de confirmation."))
        expires_at = datetime.fromtimestamp(session.expires_at, UTC)
        if session.status == "open" and expires_at > utcnow() + _CHECKOUT_MARGIN:
            return session.url or pending.checkout_url or ""
        pending.status = PaymentStatus.CANCELLED

    lines = list(_billable_lines(order))
    amount = sum(line.allocated * unit for line, unit in lines)
    attempt = _attempt(order, PaymentMethod.STRIPE_CHECKOUT)
    base_url = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    session = stripe_gateway.create_checkout_session(
        {
            "mode": "payment",
            "payment_method_types": ["card", "sepa_debit"],
            "line_items": [
                {
                    "quantity": line.allocated,
                    "price_data": {
                        "currency": stripe_gateway.CURRENCY,
                        "unit_amount": unit,
                        "product_data": {"name": line.product.name},
                    },
                }
                for line, unit in lines
            ],
            "customer": ensure_customer(order.relais),
            "client_reference_id": str(order.id),
            "metadata": _metadata(order),
            "payment_intent_data": {"metadata": _metadata(order)},
            "locale": "fr",
            "success_url": f"{base_url}/stock/orders/{order.id}?payment=success",
            "cancel_url": f"{base_url}/stock/orders/{order.id}?payment=cancelled",
        },
        idempotency_key=f"order-{order.id}-checkout-{attempt}",
    )
    db.session.add(Payment(
        order_id=order.id,
        relais_id=order.relais_id,
        method=PaymentMethod.STRIPE_CHECKOUT,
        status=PaymentStatus.PENDING,
        amount_cents=amount,
        stripe_object_id=session.id,
        checkout_url=session.url,
    ))
    audit.record("payment.checkout_started", target=order, relais_id=order.relais_id,
                 details={"session": session.id, "amount_cents": amount, "attempt": attempt})
    return session.url or ""


# --- Stripe invoice paid by bank transfer (public bodies) ----------------------------------

def request_invoice(order: Order) -> Payment:
    """Issue and e-mail the Stripe invoice of the order (once; see `send_invoice`).

    Paid by bank transfer to the virtual IBAN Stripe prints on it (`customer_balance`), due
    in 30 days, with the SIRET and order number public accountants ask for.
    """
    _require_stripe()
    _require_route(order, PaymentRoute.INVOICE)
    pending = _pending(order, PaymentMethod.STRIPE_INVOICE)
    if pending is not None:
        return pending
    relais: Relais = order.relais
    customer = ensure_customer(relais)
    key = f"order-{order.id}-invoice-{_attempt(order, PaymentMethod.STRIPE_INVOICE)}"
    invoice = stripe_gateway.create_invoice(
        {
            "customer": customer,
            "currency": stripe_gateway.CURRENCY,
            "collection_method": "send_invoice",
            "days_until_due": 30,
            # Only the items added below, not whatever else is pending for this customer.
            "pending_invoice_items_behavior": "exclude",
            "payment_settings": {
                "payment_method_types": ["customer_balance"],
                "payment_method_options": {
                    "customer_balance": {
                        "funding_type": "bank_transfer",
                        "bank_transfer": {"type": "eu_bank_transfer",
                                          "eu_bank_transfer": {"country": "FR"}},
                    }
                },
            },
            "custom_fields": [
                {"name": "SIRET", "value": relais.siret},
                {"name": "Commande", "value": f"RN-{order.id}"},
            ],
            "metadata": _metadata(order),
        },
        idempotency_key=key,
    )
    amount = 0
    for line, unit in _billable_lines(order):
        stripe_gateway.create_invoice_item(
            {
                "customer": customer,
                "invoice": invoice.id,
                "currency": stripe_gateway.CURRENCY,
                "description": line.product.name,
                "quantity": line.allocated,
                "unit_amount_decimal": str(unit),
                "metadata": {"order_line_id": str(line.id)},
            },
            idempotency_key=f"{key}-line-{line.id}",
        )
        amount += line.allocated * unit
    stripe_gateway.finalize_invoice(invoice.id, idempotency_key=f"{key}-finalize")
    stripe_gateway.send_invoice(invoice.id, idempotency_key=f"{key}-send")
    payment = Payment(
        order_id=order.id,
        relais_id=order.relais_id,
        method=PaymentMethod.STRIPE_INVOICE,
        status=PaymentStatus.PENDING,
        amount_cents=amount,
        stripe_object_id=invoice.id,
    )
    db.session.add(payment)
    db.session.flush()
    audit.record("payment.invoice_sent", target=payment, relais_id=order.relais_id,
                 details={"order_id": order.id, "invoice": invoice.id, "amount_cents": amount})
    return payment


def send_invoice(order: Order) -> Payment:
    """National team: issue the invoice, or e-mail the open one again (a reminder)."""
    _require_stripe()
    _require_route(order, PaymentRoute.INVOICE)
    pending = _pending(order, PaymentMethod.STRIPE_INVOICE)
    if pending is None or not pending.stripe_object_id:
        return request_invoice(order)
    stripe_gateway.send_invoice(pending.stripe_object_id)
    audit.record("payment.invoice_resent", target=pending, relais_id=order.relais_id,
                 details={"order_id": order.id, "invoice": pending.stripe_object_id})
    return pending


def request_payment(order: Order) -> None:
    """Start the payment of an order that has just become `awaiting_payment`.

    Invoices are issued by a job after the commit (Stripe being slow or down must not undo
    an allocation); Checkout waits for the relais admin to click "pay"; manual payments
    wait for the national team.
    """
    if order.payment_route == PaymentRoute.INVOICE and stripe_gateway.is_configured():
        enqueue_after_commit(f"{_JOBS}.issue_invoice", order.id, relais_id=order.relais_id,
                             retry=STRIPE_RETRY)


# --- Stripe webhooks -----------------------------------------------------------------------

def store_stripe_event(event: Mapping[str, Any]) -> bool:
    """Keep a verified event once (by id) and queue its processing; False for a redelivery.

    Needs the national network scope (stripe_events is a national table).
    """
    stored = db.session.scalar(
        insert(StripeEvent)
        .values(id=event["id"], type=event["type"], payload=dict(event))
        .on_conflict_do_nothing(index_elements=[StripeEvent.id])
        .returning(StripeEvent.id)
    )
    if stored is None:
        return False
    enqueue_after_commit(f"{_JOBS}.process_stripe_event", event["id"], retry=STRIPE_RETRY)
    return True


def apply_stripe_event(event: Mapping[str, Any]) -> None:
    """The effect of one Stripe event on our payments and orders (national scope)."""
    kind = event["type"]
    obj = event["data"]["object"]
    occurred = datetime.fromtimestamp(event["created"], UTC) if event.get("created") else utcnow()
    if kind == "checkout.session.completed":
        # Card payments are final here; a SEPA debit confirms days later
        # (checkout.session.async_payment_succeeded) and is "unpaid" until then.
        if obj.get("payment_status") == "paid":
            _succeeded(obj["id"], obj.get("amount_total"), occurred)
    elif kind in ("checkout.session.async_payment_succeeded", "invoice.paid"):
        amount = obj.get("amount_total") if kind.startswith("checkout") else obj.get("amount_paid")
        _succeeded(obj["id"], amount, occurred)
    elif kind in ("checkout.session.async_payment_failed", "invoice.payment_failed"):
        _ended(obj["id"], PaymentStatus.FAILED)
    elif kind == "checkout.session.expired":
        _ended(obj["id"], PaymentStatus.CANCELLED)
    else:
        log.info("stripe event %s of type %s ignored", event.get("id"), kind)


def _payment_for(stripe_object_id: str) -> tuple[Order, Payment] | None:
    """The payment and its order, both row-locked (order first, as every payment path does)."""
    order_id = db.session.scalar(
        select(Payment.order_id).where(Payment.stripe_object_id == stripe_object_id)
    )
    if order_id is None:
        log.warning("stripe object %s matches no payment", stripe_object_id)
        return None
    order = get_order(order_id, lock=True)
    payment = db.session.scalars(
        select(Payment).where(Payment.stripe_object_id == stripe_object_id)
        .with_for_update().execution_options(populate_existing=True)
    ).one()
    return order, payment


def _succeeded(stripe_object_id: str, amount_cents: int | None, occurred: datetime) -> None:
    found = _payment_for(stripe_object_id)
    if found is None or found[1].status == PaymentStatus.SUCCEEDED:
        return
    order, payment = found
    # Money that arrives is recorded even after a failure or an expiry: it was received.
    payment.status = PaymentStatus.SUCCEEDED
    payment.paid_at = occurred
    if amount_cents is not None:
        payment.amount_cents = amount_cents
    audit.record("payment.succeeded", target=payment, relais_id=payment.relais_id,
                 details={"order_id": order.id, "stripe_object_id": stripe_object_id,
                          "amount_cents": payment.amount_cents})
    db.session.flush()
    if order.status == OrderStatus.CANCELLED:
        log.warning("payment %s received for cancelled order %s: refund it", payment.id, order.id)
    _settle(order)


def _ended(stripe_object_id: str, status: PaymentStatus) -> None:
    """A failure or expiry only ends a pending payment (never undoes a success)."""
    found = _payment_for(stripe_object_id)
    if found is None or found[1].status != PaymentStatus.PENDING:
        return
    payment = found[1]
    payment.status = status
    audit.record(f"payment.{status.value}", target=payment, relais_id=payment.relais_id,
                 details={"order_id": payment.order_id, "stripe_object_id": stripe_object_id})
