"""Stripe Checkout for associations, against the loopback Stripe stand-in."""

from __future__ import annotations

import pytest

from relais_platform.stock.orders import stripe_gateway
from relais_platform.stock.orders.models import OrderStatus, PaymentRoute
from tests import payments_fixtures
from tests.payments_fixtures import assert_error, make_order, order_state

people = payments_fixtures.people
stripe_standin = payments_fixtures.stripe_standin


def checkout_url(order_id: int) -> str:
    return f"/api/v1/orders/{order_id}/checkout"


@pytest.fixture
def order_id(app, people):
    # 3 SIM at 12 €, 2 recharges at 5 €, and a free kit (not charged): 46 €.
    return make_order(app, people.relais_id, [(people.sim_id, 3, 1200), (people.recharge_id, 2, 500),
                                              (people.free_kit_id, 1, 0)])


def test_checkout_session_is_created_with_the_orders_lines(app, client, people, order_id, stripe_standin):
    response = client.post(checkout_url(order_id), headers=people.admin)
    assert response.status_code == 200, response.get_data(as_text=True)
    url = response.get_json()["url"]

    [session] = stripe_standin.of_type("checkout.session")
    assert url == session["url"]
    assert session["amount_total"] == 4600
    [call] = stripe_standin.calls("POST", "/v1/checkout/sessions")
    assert call.idempotency_key == f"order-{order_id}-checkout-1"
    sent = call.params
    assert sent["mode"] == "payment"
    assert sent["payment_method_types"] == ["card", "sepa_debit"]
    assert [(i["quantity"], i["price_data"]["unit_amount"], i["price_data"]["currency"],
             i["price_data"]["product_data"]["name"]) for i in sent["line_items"]] == [
        ("3", "1200", "eur", "Carte SIM solidaire"),
        ("2", "500", "eur", "Recharge Internationale"),
    ]
    assert sent["client_reference_id"] == str(order_id)
    assert sent["metadata"] == {"order_id": str(order_id), "relais_id": str(people.relais_id)}
    assert sent["success_url"].startswith("http://localhost/")
    assert sent["cancel_url"].startswith("http://localhost/")

    [customer] = stripe_standin.of_type("customer")
    assert sent["customer"] == customer["id"]
    assert customer["name"] == "Association Solidaire"
    assert customer["email"] == "referente@asso.example.org"
    assert customer["metadata"] == {"relais_id": str(people.relais_id), "siret": people.relais_siret}
    assert customer["preferred_locales"] == ["fr"]

    state = order_state(app, order_id)
    assert state["payments"] == [("stripe_checkout", "pending", 4600)]
    assert state["status"] == OrderStatus.AWAITING_PAYMENT


def test_an_open_session_is_reused_and_an_expired_one_replaced(app, client, people, order_id,
                                                               stripe_standin):
    first = client.post(checkout_url(order_id), headers=people.admin).get_json()["url"]
    again = client.post(checkout_url(order_id), headers=people.admin).get_json()["url"]
    assert again == first
    assert len(stripe_standin.of_type("checkout.session")) == 1

    [session] = stripe_standin.of_type("checkout.session")
    stripe_standin.expire_session(session["id"])
    renewed = client.post(checkout_url(order_id), headers=people.admin).get_json()["url"]
    assert renewed != first
    keys = [c.idempotency_key for c in stripe_standin.calls("POST", "/v1/checkout/sessions")]
    assert keys == [f"order-{order_id}-checkout-1", f"order-{order_id}-checkout-2"]
    # One customer per relais, created once.
    assert len(stripe_standin.of_type("customer")) == 1
    assert order_state(app, order_id)["payments"] == [
        ("stripe_checkout", "cancelled", 4600), ("stripe_checkout", "pending", 4600)]


def test_idempotency_key_gives_the_same_session_back(app, people, order_id, stripe_standin):
    """A retried request (same key) gets the first session, not a second payment page."""
    params = {"mode": "payment", "line_items": [
        {"quantity": 1, "price_data": {"currency": "eur", "unit_amount": 100,
                                       "product_data": {"name": "Test"}}}]}
    with app.app_context():
        one = stripe_gateway.create_checkout_session(params, idempotency_key="order-1-checkout-1")
        two = stripe_gateway.create_checkout_session(params, idempotency_key="order-1-checkout-1")
    assert one.id == two.id
    assert len(stripe_standin.of_type("checkout.session")) == 1
    assert stripe_standin.calls("POST", "/v1/checkout/sessions")[1].replayed


def test_stripe_refusing_the_call_is_502_and_records_nothing(app, client, people, order_id,
                                                             stripe_standin):
    app.config["STRIPE_SECRET_KEY"] = "sk_test_wrong"  # the stand-in checks the Bearer key
    body = assert_error(client.post(checkout_url(order_id), headers=people.admin), 502)
    assert "réessayez" in body["message"]
    assert stripe_standin.of_type("customer") == []
    assert order_state(app, order_id)["payments"] == []


def test_stripe_not_configured_is_409_and_says_who_records_the_payment(client, people, order_id):
    body = assert_error(client.post(checkout_url(order_id), headers=people.admin), 409)
    assert "équipe nationale" in body["message"]


def test_checkout_is_for_the_orders_relais_admin_only(app, client, people, order_id, stripe_standin):
    assert_error(client.post(checkout_url(order_id), headers=people.other_admin), 404)
    assert_error(client.post(checkout_url(999999), headers=people.admin), 404)
    for headers in (people.worker, people.national, people.coach):
        assert_error(client.post(checkout_url(order_id), headers=headers), 403)
    assert_error(client.post(checkout_url(order_id)), 401)
    assert stripe_standin.requests == []
    assert order_state(app, order_id)["payments"] == []


def test_checkout_needs_an_order_awaiting_payment_by_checkout(app, client, people, stripe_standin):
    allocated = make_order(app, people.relais_id, [(people.sim_id, 1, 1200)], status=OrderStatus.ALLOCATED)
    by_invoice = make_order(app, people.relais_id, [(people.sim_id, 1, 1200)], route=PaymentRoute.INVOICE)
    for order_id in (allocated, by_invoice):
        assert_error(client.post(checkout_url(order_id), headers=people.admin), 409)
    assert stripe_standin.requests == []
