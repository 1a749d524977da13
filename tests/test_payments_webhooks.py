"""Stripe webhooks: verified signature, stored once, processed by an RQ job, forward only."""

from __future__ import annotations

import time

import pytest
import stripe
from rq.job import JobStatus

from relais_platform import jobs
from relais_platform.stock.orders.models import OrderStatus, PaymentRoute
from tests import payments_fixtures
from tests.payments_fixtures import make_order, order_state, queued, run_worker, stripe_events
from tests.stripe_standin import signed_event

people = payments_fixtures.people
stripe_standin = payments_fixtures.stripe_standin

WEBHOOK = "/webhooks/stripe"


def deliver(client, payload: bytes, signature: str | None):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return client.post(WEBHOOK, data=payload, headers=headers)


def send(client, event_type: str, obj: dict, **kwargs):
    response = deliver(client, *signed_event(event_type, obj, **kwargs))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"received": True}
    return response


@pytest.fixture
def checkout(app, client, people, stripe_standin) -> tuple[int, str]:
    """An order awaiting payment and its open Checkout Session id."""
    order_id = make_order(app, people.relais_id, [(people.sim_id, 3, 1200), (people.recharge_id, 2, 500)])
    assert client.post(f"/api/v1/orders/{order_id}/checkout", headers=people.admin).status_code == 200
    [session] = stripe_standin.of_type("checkout.session")
    return order_id, session["id"]


def session_object(session_id: str, payment_status: str, amount: int = 4600) -> dict:
    return {"id": session_id, "object": "checkout.session", "payment_status": payment_status,
            "status": "complete", "amount_total": amount}


def test_bad_or_missing_signature_is_400_and_stores_nothing(app, client, stripe_standin):
    payload, signature = signed_event("checkout.session.completed", session_object("cs_x", "paid"))
    _, forged = signed_event("checkout.session.completed", session_object("cs_x", "paid"),
                             secret="whsec_not_ours")
    for header in (forged, None, "garbage", signature.replace("v1=", "v0=")):
        response = deliver(client, payload, header)
        assert response.status_code == 400
        assert response.get_json()["code"] == 400
    # A correct signature over another body does not verify this one.
    assert deliver(client, payload.replace(b"4600", b"1"), signature).status_code == 400
    assert stripe_events(app) == []
    assert queued(app) == 0


def test_stale_signature_is_refused(app, client, stripe_standin):
    old = int(time.time()) - 3600
    payload = b'{"id": "evt_old", "object": "event", "type": "invoice.paid", "data": {"object": {}}}'
    header = stripe.WebhookSignature.generate_signature_header(payload.decode(), "whsec_standin", old)
    assert deliver(client, payload, header).status_code == 400
    assert stripe_events(app) == []


def test_card_payment_marks_the_payment_succeeded_and_the_order_paid(app, client, checkout):
    order_id, session_id = checkout
    send(client, "checkout.session.completed", session_object(session_id, "paid"), event_id="evt_card")
    [event] = stripe_events(app)
    assert (event.id, event.type, event.processed_at) == ("evt_card", "checkout.session.completed", None)
    assert order_state(app, order_id)["status"] == OrderStatus.AWAITING_PAYMENT  # not before the job

    run_worker(app)
    state = order_state(app, order_id)
    assert state["status"] == OrderStatus.PAID and state["paid_at"] is not None
    assert state["payments"] == [("stripe_checkout", "succeeded", 4600)]
    assert state["history"] == ["paid"]
    [event] = stripe_events(app)
    assert event.processed_at is not None and event.error is None


def test_a_redelivered_event_is_stored_once_and_applied_once(app, client, checkout):
    order_id, session_id = checkout
    payload, signature = signed_event("checkout.session.completed", session_object(session_id, "paid"),
                                      event_id="evt_twice")
    for _ in range(2):
        assert deliver(client, payload, signature).status_code == 200
    assert len(stripe_events(app)) == 1
    assert queued(app) == 1
    run_worker(app)
    assert deliver(client, payload, signature).status_code == 200  # after processing, too
    assert queued(app) == 0
    assert order_state(app, order_id)["history"] == ["paid"]


def test_sepa_debit_waits_for_the_async_confirmation(app, client, checkout):
    order_id, session_id = checkout
    send(client, "checkout.session.completed", session_object(session_id, "unpaid"))
    run_worker(app)
    state = order_state(app, order_id)
    assert (state["status"], state["payments"]) == (
        OrderStatus.AWAITING_PAYMENT, [("stripe_checkout", "pending", 4600)])

    send(client, "checkout.session.async_payment_succeeded", session_object(session_id, "paid"))
    run_worker(app)
    assert order_state(app, order_id)["status"] == OrderStatus.PAID


def test_a_failed_sepa_debit_leaves_the_order_awaiting_payment(app, client, checkout):
    order_id, session_id = checkout
    send(client, "checkout.session.async_payment_failed", session_object(session_id, "unpaid"))
    run_worker(app)
    state = order_state(app, order_id)
    assert (state["status"], state["payments"]) == (
        OrderStatus.AWAITING_PAYMENT, [("stripe_checkout", "failed", 4600)])


def test_an_older_event_arriving_late_never_moves_the_order_back(app, client, checkout):
    order_id, session_id = checkout
    now = int(time.time())
    send(client, "checkout.session.async_payment_succeeded", session_object(session_id, "paid"),
         created=now)
    run_worker(app)
    # Delivered late, out of order: a failure and an expiry that Stripe emitted earlier.
    send(client, "checkout.session.async_payment_failed", session_object(session_id, "unpaid"),
         created=now - 60)
    send(client, "checkout.session.expired", session_object(session_id, "unpaid"), created=now - 120)
    run_worker(app)
    state = order_state(app, order_id)
    assert state["status"] == OrderStatus.PAID
    assert state["payments"] == [("stripe_checkout", "succeeded", 4600)]
    assert state["history"] == ["paid"]
    assert all(e.processed_at is not None for e in stripe_events(app))


def test_paid_invoice_settles_a_public_bodys_order(app, client, people, stripe_standin):
    order_id = make_order(app, people.ccas_id, [(people.sim_id, 10, 1200)], route=PaymentRoute.INVOICE)
    assert client.post(f"/api/v1/orders/{order_id}/invoice", headers=people.national).status_code == 200
    [invoice] = stripe_standin.of_type("invoice")
    send(client, "invoice.payment_failed", {"id": invoice["id"], "object": "invoice", "amount_paid": 0})
    run_worker(app)
    assert order_state(app, order_id)["payments"] == [("stripe_invoice", "failed", 12000)]
    # The public accountant's transfer arrives later: the invoice is paid after all.
    send(client, "invoice.paid", {"id": invoice["id"], "object": "invoice", "amount_paid": 12000})
    run_worker(app)
    state = order_state(app, order_id)
    assert state["status"] == OrderStatus.PAID
    assert state["payments"] == [("stripe_invoice", "succeeded", 12000)]


def test_unknown_event_types_and_objects_are_stored_and_marked_processed(app, client, checkout):
    order_id, _session_id = checkout
    send(client, "customer.updated", {"id": "cus_123", "object": "customer"})
    send(client, "invoice.paid", {"id": "in_not_ours", "object": "invoice", "amount_paid": 100})
    run_worker(app)
    events = stripe_events(app)
    assert len(events) == 2 and all(e.processed_at is not None and e.error is None for e in events)
    assert order_state(app, order_id)["status"] == OrderStatus.AWAITING_PAYMENT


def test_a_failing_event_keeps_its_error_and_is_retried(app, client, checkout):
    send(client, "checkout.session.completed", {"object": "checkout.session", "payment_status": "paid"})
    with app.app_context():
        [job] = jobs.queue().jobs
    run_worker(app)
    [event] = stripe_events(app)
    assert event.processed_at is None and event.error.startswith("KeyError")
    job.refresh()
    assert job.get_status() == JobStatus.SCHEDULED
    assert job.retries_left == 4
