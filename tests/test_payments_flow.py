"""The whole payment step with the real order services: allocation → Checkout → webhook → paid."""

from __future__ import annotations

from relais_platform.extensions import db
from relais_platform.stock.catalogue.models import Product
from relais_platform.stock.orders import allocation
from relais_platform.stock.orders import services as orders
from relais_platform.stock.orders.models import OrderStatus, PaymentRoute
from relais_platform.stock.scope import national_scope
from relais_platform.stock.warehouse import national
from relais_platform.tenancy import TenantScope, tenant_session
from relais_platform.tenants.models import Relais
from tests import payments_fixtures
from tests.payments_fixtures import order_state, run_worker
from tests.stripe_standin import signed_event

people = payments_fixtures.people
stripe_standin = payments_fixtures.stripe_standin


def allocated_order(app, relais_id: int, sim_id: int, quantity: int) -> int:
    """Drafted and submitted by the relais, stocked and allocated by the national team."""
    with app.app_context():
        with tenant_session(db.session, TenantScope(relais_id=relais_id)) as session:
            relais = session.get(Relais, relais_id)
            sku = session.get(Product, sim_id).sku
            order = orders.create_order(relais, [(sku, quantity)])
            orders.submit(order)
            session.commit()
            order_id = order.id
        with tenant_session(db.session, TenantScope()) as session:
            national_scope("test: stock and allocation")
            national.receive(session.get(Product, sim_id), quantity=quantity)
            allocation.allocate(orders.get_order(order_id), {sku: quantity})
            session.commit()
    return order_id


def test_an_allocated_association_order_is_paid_through_checkout(app, client, people, stripe_standin):
    order_id = allocated_order(app, people.relais_id, people.sim_id, 4)
    with app.app_context(), tenant_session(db.session, TenantScope(relais_id=people.relais_id)):
        order = orders.get_order(order_id)
        assert (order.status, order.payment_route, order.total_cents) == (
            OrderStatus.AWAITING_PAYMENT, PaymentRoute.CHECKOUT, 4800)

    assert client.post(f"/api/v1/orders/{order_id}/checkout", headers=people.admin).status_code == 200
    [session] = stripe_standin.of_type("checkout.session")
    assert session["amount_total"] == 4800
    payload, signature = signed_event("checkout.session.completed", {
        "id": session["id"], "object": "checkout.session", "payment_status": "paid",
        "amount_total": 4800})
    response = client.post("/webhooks/stripe", data=payload,
                           headers={"Stripe-Signature": signature, "Content-Type": "application/json"})
    assert response.status_code == 200
    run_worker(app)
    state = order_state(app, order_id)
    assert state["status"] == OrderStatus.PAID
    assert state["history"] == ["draft", "submitted", "allocated", "awaiting_payment", "paid"]
