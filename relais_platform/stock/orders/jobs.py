"""RQ jobs of the payments (queued by `relais_platform.stock.orders.payments`, run through `run_job`).

Both are safe to run again: RQ retries them with backoff (`payments.STRIPE_RETRY`).
"""

from __future__ import annotations

from relais_platform.audit.services import network_access
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.stock.orders import payments
from relais_platform.stock.orders.models import OrderStatus, PaymentRoute, StripeEvent
from relais_platform.stock.orders.services import get_order


def process_stripe_event(event_id: str) -> None:
    """Apply a stored webhook event once; on failure keep the error and raise for a retry."""
    network_access(None, reason="stripe webhook")
    # Locked: a retry and a late duplicate job never apply the same event side by side.
    event = db.session.get(StripeEvent, event_id, with_for_update=True)
    if event is None or event.processed_at is not None:
        return
    try:
        with db.session.begin_nested():
            payments.apply_stripe_event(event.payload)
    except Exception as exc:
        event.error = f"{type(exc).__name__}: {exc}"[:2000]
        # Committed before raising so that the error is visible while RQ retries.
        db.session.commit()
        raise
    event.processed_at = utcnow()
    event.error = None


def issue_invoice(order_id: int) -> None:
    """Issue the invoice of an order awaiting payment (the relais is bound by `run_job`)."""
    order = get_order(order_id, lock=True)
    if order.status != OrderStatus.AWAITING_PAYMENT or order.payment_route != PaymentRoute.INVOICE:
        return
    payments.request_invoice(order)
