"""The one place that talks to Stripe: a `stripe.StripeClient` built from the settings.

Everything Stripe-specific that the payment services send (parameters, idempotency keys)
goes through the small functions below, so the services read as business steps and tests
can point the SDK at a loopback stand-in with `STRIPE_API_BASE`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import stripe
from flask import current_app
from flask_babel import gettext as _

from relais_platform.domain import DomainError

CURRENCY = "eur"

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")


class StripeUnavailable(DomainError):
    """Stripe refused or could not be reached: nothing was recorded on our side."""

    status = 502


def _stripe_call(func: Callable[P, R]) -> Callable[P, R]:
    @wraps(func)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except stripe.StripeError as exc:
            log.exception("stripe call %s failed", func.__name__)
            raise StripeUnavailable(
                _("Le service de paiement est momentanément indisponible : réessayez plus tard.")
            ) from exc

    return wrapped


def is_configured() -> bool:
    """False in the embedded quick start: the national team then records payments by hand."""
    return bool(current_app.config.get("STRIPE_SECRET_KEY"))


def client() -> stripe.StripeClient:
    """A client for the current settings (cheap to build; settings may change in tests)."""
    base = current_app.config.get("STRIPE_API_BASE")
    return stripe.StripeClient(
        current_app.config["STRIPE_SECRET_KEY"],
        base_addresses={"api": base} if base else None,
    )


def _options(idempotency_key: str | None) -> stripe.RequestOptions:
    return {"idempotency_key": idempotency_key} if idempotency_key else {}


@_stripe_call
def create_customer(params: dict[str, Any], *, idempotency_key: str) -> stripe.Customer:
    return client().v1.customers.create(params, _options(idempotency_key))  # type: ignore[arg-type]


@_stripe_call
def create_checkout_session(params: dict[str, Any], *, idempotency_key: str) -> stripe.checkout.Session:
    return client().v1.checkout.sessions.create(params, _options(idempotency_key))  # type: ignore[arg-type]


@_stripe_call
def retrieve_checkout_session(session_id: str) -> stripe.checkout.Session:
    return client().v1.checkout.sessions.retrieve(session_id)


@_stripe_call
def create_invoice(params: dict[str, Any], *, idempotency_key: str) -> stripe.Invoice:
    return client().v1.invoices.create(params, _options(idempotency_key))  # type: ignore[arg-type]


@_stripe_call
def create_invoice_item(params: dict[str, Any], *, idempotency_key: str) -> stripe.InvoiceItem:
    return client().v1.invoice_items.create(params, _options(idempotency_key))  # type: ignore[arg-type]


@_stripe_call
def finalize_invoice(invoice_id: str, *, idempotency_key: str) -> stripe.Invoice:
    return client().v1.invoices.finalize_invoice(invoice_id, None, _options(idempotency_key))


@_stripe_call
def send_invoice(invoice_id: str, *, idempotency_key: str | None = None) -> stripe.Invoice:
    """E-mail the invoice; without a key, each call is a new sending (a reminder)."""
    return client().v1.invoices.send_invoice(invoice_id, None, _options(idempotency_key))


def verify_webhook(payload: bytes, signature: str | None) -> None:
    """Raise `stripe.SignatureVerificationError` unless Stripe signed this exact body."""
    stripe.WebhookSignature.verify_header(
        payload, signature, current_app.config.get("STRIPE_WEBHOOK_SECRET") or None,
        stripe.Webhook.DEFAULT_TOLERANCE,
    )
