"""Fixtures and builders shared by the payment tests (imported by tests/test_payments_*.py).

HTTP calls run outside any app context (each request has its own, as in production); the
builders and readers below open one of their own.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyotp
import pytest
from flask import Flask
from rq import SimpleWorker
from sqlalchemy import select

from relais_platform import jobs
from relais_platform.accounts import services as accounts
from relais_platform.accounts.models import Role
from relais_platform.audit.models import AuditEntry
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.stock.catalogue.models import Category, Product
from relais_platform.stock.orders.models import (
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentRoute,
    StripeEvent,
)
from relais_platform.tenancy import TenantScope, tenant_session
from relais_platform.tenants.models import Dimension, Relais, RelaisKind
from tests.factories import bearer, make_relais
from tests.stripe_standin import SECRET_KEY, WEBHOOK_SECRET, StripeStandIn

_STRIPE_SETTINGS = ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE")
NATIONAL = TenantScope(all_relais=True)
_emails = itertools.count(1)


@pytest.fixture
def stripe_standin(app: Flask) -> Iterator[StripeStandIn]:
    """Stripe configured for this test only, pointing at a fresh loopback stand-in."""
    saved = {key: app.config.get(key) for key in _STRIPE_SETTINGS}
    standin = StripeStandIn().start()
    app.config.update(STRIPE_SECRET_KEY=SECRET_KEY, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
                      STRIPE_API_BASE=standin.url)
    try:
        yield standin
    finally:
        standin.stop()
        app.config.update(saved)


def api_user(role: Role, relais: Relais | None = None) -> dict[str, str]:
    """Bearer headers of a new user. No password: these tests only use the API, and hashing
    one (argon2, about 0.5 s) for every user of every test would dominate the run."""
    user = accounts.create_user(email=f"{role.value}.{next(_emails)}@example.org", name=f"{role.value}",
                                role=role, relais=relais)
    if role.requires_two_factor:  # enrolled: an account that must use two-factor and has not is refused
        user.totp_secret = pyotp.random_base32()
        user.totp_confirmed_at = utcnow()
    db.session.commit()
    return bearer(user)


@dataclass
class People:
    relais_id: int
    relais_siret: str
    ccas_id: int
    ccas_siret: str
    admin: dict[str, str]
    worker: dict[str, str]
    ccas_admin: dict[str, str]
    national: dict[str, str]
    coach: dict[str, str]
    other_admin: dict[str, str]
    sim_id: int
    recharge_id: int
    free_kit_id: int


@pytest.fixture
def people(app: Flask) -> People:
    """An association and a CCAS with their staff, another relais' admin, national, coach
    (as Bearer headers), and three products (12 €, 5 €, free)."""
    with app.app_context():
        relais = make_relais(name="Association Solidaire", contact_email="referente@asso.example.org")
        ccas = make_relais(name="CCAS de Pessac", kind=RelaisKind.CCAS.value,
                           contact_email="ccas@pessac.example.org")
        other = make_relais(name="Autre relais")
        products = [
            Product(sku=sku, name=name, category=category, dimension=Dimension.CONNEXION,
                    serialized=False, unit_price_cents=price, max_resale_price_cents=0)
            for sku, name, category, price in (
                ("SIM-SOL", "Carte SIM solidaire", Category.SIM, 1200),
                ("RECH-INT", "Recharge Internationale", Category.RECHARGE, 500),
                ("KIT-CR", "Kit Connect Refugees", Category.KIT, 0),
            )
        ]
        db.session.add_all(products)
        db.session.commit()
        return People(
            relais_id=relais.id, relais_siret=relais.siret, ccas_id=ccas.id, ccas_siret=ccas.siret,
            admin=api_user(Role.RELAIS_ADMIN, relais),
            worker=api_user(Role.RELAIS_WORKER, relais),
            ccas_admin=api_user(Role.RELAIS_ADMIN, ccas),
            national=api_user(Role.NATIONAL),
            coach=api_user(Role.COACH),
            other_admin=api_user(Role.RELAIS_ADMIN, other),
            sim_id=products[0].id, recharge_id=products[1].id, free_kit_id=products[2].id,
        )


def make_order(app: Flask, relais_id: int, lines: list[tuple[int, int, int]], *,
               route: PaymentRoute = PaymentRoute.CHECKOUT,
               status: OrderStatus = OrderStatus.AWAITING_PAYMENT) -> int:
    """An allocated order with (product id, quantity, frozen unit price) lines; its id."""
    with app.app_context(), tenant_session(db.session, TenantScope(relais_id=relais_id)) as session:
        order = Order(
            status=status,
            payment_route=route,
            total_cents=sum(quantity * price for _pid, quantity, price in lines),
            lines=[OrderLine(product_id=pid, requested=quantity, allocated=quantity, unit_price_cents=price)
                   for pid, quantity, price in lines],
        )
        session.add(order)
        session.commit()
        return order.id


def order_state(app: Flask, order_id: int) -> dict[str, Any]:
    """The order's status, its payments and its status history, as stored."""
    with app.app_context(), tenant_session(db.session, NATIONAL) as session:
        order = session.get(Order, order_id)
        assert order is not None
        payments = session.scalars(select(Payment).where(Payment.order_id == order_id)
                                   .order_by(Payment.id))
        events = session.scalars(select(OrderEvent.to_status).where(OrderEvent.order_id == order_id)
                                 .order_by(OrderEvent.id))
        return {
            "status": order.status,
            "paid_at": order.paid_at,
            "payments": [(p.method.value, p.status.value, p.amount_cents) for p in payments],
            "history": [status.value for status in events],
        }


def stripe_events(app: Flask) -> list[StripeEvent]:
    with app.app_context(), tenant_session(db.session, NATIONAL) as session:
        rows = list(session.scalars(select(StripeEvent).order_by(StripeEvent.received_at)))
        session.expunge_all()
        return rows


def audit_entries(app: Flask, action: str) -> list[AuditEntry]:
    with app.app_context(), tenant_session(db.session, NATIONAL) as session:
        rows = list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                    .order_by(AuditEntry.id)))
        session.expunge_all()
        return rows


def queued(app: Flask) -> int:
    with app.app_context():
        return jobs.queue("default").count


def run_worker(app: Flask) -> None:
    """Drain the default queue as a worker process would: its own app context and session."""
    with app.app_context():
        SimpleWorker([jobs.queue("default")], connection=jobs.redis_connection()).work(burst=True)


def assert_error(response: Any, code: int) -> dict[str, Any]:
    """The response is the API's JSON error format with this code."""
    assert response.status_code == code, response.get_data(as_text=True)
    body = response.get_json()
    assert body["code"] == code and body["message"]
    return body
