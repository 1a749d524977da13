"""Stripe webhooks at /webhooks/stripe (skeleton)."""

from flask import Blueprint

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
