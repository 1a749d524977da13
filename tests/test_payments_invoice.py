"""Stripe invoices paid by bank transfer, for public bodies (CCAS…)."""

from __future__ import annotations

import pytest

from relais_platform.extensions import db
from relais_platform.stock.orders import payments
from relais_platform.stock.orders.models import OrderStatus, PaymentRoute
from relais_platform.stock.orders.services import get_order
from relais_platform.tenancy import TenantScope, tenant_session
from tests import payments_fixtures
from tests.payments_fixtures import assert_error, make_order, order_state, queued, run_worker

people = payments_fixtures.people
stripe_standin = payments_fixtures.stripe_standin


def invoice_url(order_id: int) -> str:
    return f"/api/v1/orders/{order_id}/invoice"


@pytest.fixture
def order_id(app, people):
    # 10 SIM at 12 € and 4 recharges at 5 €: 140 €.
    return make_order(app, people.ccas_id, [(people.sim_id, 10, 1200), (people.recharge_id, 4, 500)],
                      route=PaymentRoute.INVOICE)


def assert_invoice_sent(standin, order_id: int, siret: str) -> dict:
    [invoice] = standin.of_type("invoice")
    assert invoice["collection_method"] == "send_invoice"
    assert invoice["days_until_due"] == "30"
    assert invoice["payment_settings"] == {
        "payment_method_types": ["customer_balance"],
        "payment_method_options": {"customer_balance": {
            "funding_type": "bank_transfer",
            "bank_transfer": {"type": "eu_bank_transfer", "eu_bank_transfer": {"country": "FR"}},
        }},
    }
    assert invoice["custom_fields"] == [{"name": "SIRET", "value": siret},
                                        {"name": "Commande", "value": f"RN-{order_id}"}]
    assert invoice["metadata"]["order_id"] == str(order_id)
    items = standin.of_type("invoiceitem")
    assert [(i["description"], i["quantity"], i["unit_amount_decimal"], i["invoice"]) for i in items] == [
        ("Carte SIM solidaire", "10", "1200", invoice["id"]),
        ("Recharge Internationale", "4", "500", invoice["id"]),
    ]
    assert invoice["amount_due"] == 14000
    assert invoice["status"] == "open" and invoice["sent"] == 1
    [customer] = standin.of_type("customer")
    assert invoice["customer"] == customer["id"]
    assert customer["preferred_locales"] == ["fr"] and customer["metadata"]["siret"] == siret
    return invoice


def test_national_issues_the_invoice(app, client, people, order_id, stripe_standin):
    response = client.post(invoice_url(order_id), headers=people.national)
    assert response.status_code == 200, response.get_data(as_text=True)
    invoice = assert_invoice_sent(stripe_standin, order_id, people.ccas_siret)
    body = response.get_json()
    assert (body["method"], body["status"], body["amount_cents"], body["stripe_object_id"]) == (
        "stripe_invoice", "pending", 14000, invoice["id"])
    keys = [c.idempotency_key for c in stripe_standin.requests if c.method == "POST"]
    assert keys[1:] == [f"order-{order_id}-invoice-1", *(f"order-{order_id}-invoice-1-line-{n}" for n in
                        _line_ids(app, order_id)), f"order-{order_id}-invoice-1-finalize",
                        f"order-{order_id}-invoice-1-send"]


def _line_ids(app, order_id: int) -> list[int]:
    with app.app_context(), tenant_session(db.session, TenantScope(all_relais=True)):
        return [line.id for line in get_order(order_id).lines]


def test_sending_again_reminds_without_a_second_invoice(app, client, people, order_id, stripe_standin):
    client.post(invoice_url(order_id), headers=people.national)
    again = client.post(invoice_url(order_id), headers=people.national)
    assert again.status_code == 200
    [invoice] = stripe_standin.of_type("invoice")
    assert invoice["sent"] == 2
    assert order_state(app, order_id)["payments"] == [("stripe_invoice", "pending", 14000)]


def test_request_payment_issues_the_invoice_in_a_job_after_commit(app, people, order_id, stripe_standin):
    with app.app_context(), tenant_session(db.session, TenantScope(relais_id=people.ccas_id)) as session:
        payments.request_payment(get_order(order_id))
        assert queued(app) == 0
        session.commit()
    assert queued(app) == 1
    run_worker(app)
    assert_invoice_sent(stripe_standin, order_id, people.ccas_siret)
    assert order_state(app, order_id)["payments"] == [("stripe_invoice", "pending", 14000)]


def test_request_payment_leaves_checkout_and_manual_orders_waiting(app, people, stripe_standin):
    for route in (PaymentRoute.CHECKOUT, PaymentRoute.MANUAL):
        order_id = make_order(app, people.relais_id, [(people.sim_id, 1, 1200)], route=route)
        with app.app_context(), tenant_session(db.session, TenantScope(relais_id=people.relais_id)) as s:
            payments.request_payment(get_order(order_id))
            s.commit()
    assert queued(app) == 0
    assert stripe_standin.requests == []


def test_invoice_route_rules(app, client, people, order_id, stripe_standin):
    assert_error(client.post(invoice_url(order_id), headers=people.ccas_admin), 403)
    by_checkout = make_order(app, people.relais_id, [(people.sim_id, 1, 1200)])
    paid = make_order(app, people.ccas_id, [(people.sim_id, 1, 1200)], route=PaymentRoute.INVOICE,
                      status=OrderStatus.PAID)
    for other in (by_checkout, paid):
        assert_error(client.post(invoice_url(other), headers=people.national), 409)
    assert_error(client.post(invoice_url(999999), headers=people.national), 404)
    assert stripe_standin.requests == []


def test_invoice_without_stripe_is_409(client, people, order_id):
    assert_error(client.post(invoice_url(order_id), headers=people.national), 409)
