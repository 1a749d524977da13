"""Payments recorded by hand by the national team (Stripe not configured, or as a fallback)."""

from __future__ import annotations

import pytest

from relais_platform.accounts.models import Role, User
from relais_platform.domain import Forbidden
from relais_platform.extensions import db
from relais_platform.stock.orders import payments
from relais_platform.stock.orders.models import OrderStatus, PaymentRoute
from relais_platform.stock.orders.services import get_order
from relais_platform.tenancy import TenantScope, tenant_session
from tests import payments_fixtures
from tests.factories import make_user
from tests.payments_fixtures import assert_error, audit_entries, make_order, order_state

people = payments_fixtures.people


def manual_url(order_id: int) -> str:
    return f"/api/v1/orders/{order_id}/payments/manual"


@pytest.fixture
def order_id(app, people):
    # 3 SIM at 12 € + 2 recharges at 5 € = 46 €.
    return make_order(app, people.relais_id, [(people.sim_id, 3, 1200), (people.recharge_id, 2, 500)],
                      route=PaymentRoute.MANUAL)


def test_partial_then_full_payment_moves_the_order_to_paid(app, client, people, order_id):
    first = client.post(manual_url(order_id), json={"amount_cents": 3000, "reference": " VIR-2025-001 "},
                        headers=people.national)
    assert first.status_code == 201, first.get_data(as_text=True)
    body = first.get_json()
    assert body["method"] == "manual" and body["status"] == "succeeded"
    assert body["amount_cents"] == 3000 and body["reference"] == "VIR-2025-001"
    assert order_state(app, order_id)["status"] == OrderStatus.AWAITING_PAYMENT

    second = client.post(manual_url(order_id), json={"amount_cents": 1600, "reference": "CHQ 778812"},
                         headers=people.national)
    assert second.status_code == 201
    state = order_state(app, order_id)
    assert state["status"] == OrderStatus.PAID and state["paid_at"] is not None
    assert state["payments"] == [("manual", "succeeded", 3000), ("manual", "succeeded", 1600)]
    assert state["history"] == ["paid"]

    entries = audit_entries(app, "payment.manual")
    assert [(e.details["amount_cents"], e.details["reference"], e.details["remaining_cents"])
            for e in entries] == [(3000, "VIR-2025-001", 1600), (1600, "CHQ 778812", 0)]
    assert {e.relais_id for e in entries} == {people.relais_id}
    assert all(e.actor_id is not None for e in entries)

    listed = client.get(f"/api/v1/orders/{order_id}/payments", headers=people.worker)
    assert listed.status_code == 200
    assert [p["amount_cents"] for p in listed.get_json()] == [3000, 1600]


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"amount_cents": 0, "reference": "VIR"}, {"amount_cents"}),
        ({"amount_cents": -500, "reference": "VIR"}, {"amount_cents"}),
        ({"amount_cents": "12,50", "reference": "VIR"}, {"amount_cents"}),
        ({"amount_cents": 12.5, "reference": "VIR"}, {"amount_cents"}),
        ({"amount_cents": 4601, "reference": "VIR"}, {"amount_cents"}),  # more than what is due
        ({"amount_cents": 1000, "reference": "   "}, {"reference"}),
        ({"amount_cents": 1000, "reference": "x" * 201}, {"reference"}),
        ({}, {"amount_cents", "reference"}),
    ],
)
def test_invalid_manual_payments_are_422_per_field(app, client, people, order_id, payload, fields):
    body = assert_error(client.post(manual_url(order_id), json=payload, headers=people.national), 422)
    assert set(body["errors"]) == fields
    assert order_state(app, order_id)["payments"] == []


def test_order_not_awaiting_payment_is_409(app, client, people):
    paid = make_order(app, people.relais_id, [(people.sim_id, 1, 1200)], status=OrderStatus.PAID)
    allocated = make_order(app, people.relais_id, [(people.sim_id, 1, 1200)], status=OrderStatus.ALLOCATED)
    for order_id in (paid, allocated):
        assert_error(client.post(manual_url(order_id), json={"amount_cents": 100, "reference": "VIR"},
                                 headers=people.national), 409)


def test_only_the_national_team_records_payments(app, client, people, order_id):
    for headers in (people.admin, people.worker, people.coach):
        assert_error(client.post(manual_url(order_id), json={"amount_cents": 100, "reference": "VIR"},
                                 headers=headers), 403)
    # Another relais' order does not exist for its staff.
    assert_error(client.post(manual_url(order_id), json={"amount_cents": 100, "reference": "VIR"},
                             headers=people.other_admin), 404)
    assert_error(client.post(manual_url(order_id), json={"amount_cents": 100, "reference": "VIR"}), 401)
    assert order_state(app, order_id)["payments"] == []


def test_the_service_refuses_a_non_national_actor(app, people, order_id):
    with app.app_context():
        coach_id = make_user(Role.COACH).id
        with tenant_session(db.session, TenantScope(all_relais=True)) as session:
            coach = session.get(User, coach_id)
            order = get_order(order_id, lock=True)
            with pytest.raises(Forbidden):
                payments.record_manual_payment(order, 100, "VIR", actor=coach)


def test_payment_list_is_for_national_and_the_orders_relais(client, people, order_id):
    url = f"/api/v1/orders/{order_id}/payments"
    for headers in (people.national, people.admin, people.worker):
        assert client.get(url, headers=headers).status_code == 200
    assert_error(client.get(url, headers=people.other_admin), 404)
    assert_error(client.get(url, headers=people.coach), 403)
    assert_error(client.get("/api/v1/orders/999999/payments", headers=people.national), 404)
