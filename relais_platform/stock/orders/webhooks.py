"""Stripe webhooks at /webhooks/stripe.

The body is verified as received (raw bytes: re-serialised JSON would not match the
signature), stored once by event id, and processed by a job after the commit, so Stripe
gets its answer quickly and a redelivery has no second effect.
"""

from __future__ import annotations

import json

import stripe
from flask import Blueprint, request
from flask_babel import gettext as _

from relais_platform.audit.services import network_access
from relais_platform.errors import json_error
from relais_platform.stock.orders import payments, stripe_gateway

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


@bp.post("/stripe")
def stripe_webhook():
    payload = request.get_data()
    try:
        stripe_gateway.verify_webhook(payload, request.headers.get("Stripe-Signature"))
        event = json.loads(payload)
        if not (isinstance(event.get("id"), str) and isinstance(event.get("type"), str)):
            raise ValueError("not a Stripe event")
    except stripe.SignatureVerificationError:
        return json_error(400, _("Signature Stripe invalide ou absente."))
    except (ValueError, AttributeError):
        return json_error(400, _("Événement Stripe illisible."))
    # Not a user: Stripe acts for the whole network.
    network_access(None, reason="stripe webhook")
    payments.store_stripe_event(event)
    return {"received": True}
