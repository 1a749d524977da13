"""A loopback stand-in for the part of Stripe's HTTP API the platform uses, and signed events.

The real `stripe.StripeClient` talks to it over HTTP (`STRIPE_API_BASE`), so the tests
exercise what the SDK actually sends: form-encoded bodies with Stripe's nested keys
(`line_items[0][price_data][currency]`), the Bearer key and the Idempotency-Key header.
Every object created is kept, and every request recorded, for the tests to inspect.

Webhook events are signed for real with the configured secret (HMAC-SHA256, the
`t=...,v1=...` header Stripe sends).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import stripe
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

SECRET_KEY = "sk_test_standin"
WEBHOOK_SECRET = "whsec_standin"


@dataclass
class Recorded:
    method: str
    path: str
    params: dict[str, Any]
    idempotency_key: str | None
    replayed: bool


def parse_stripe_form(body: str) -> dict[str, Any]:
    """Decode `a[b][0][c]=v` pairs into nested dicts and lists, as Stripe's API does."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(root)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if node and all(key.isdigit() for key in node):
        return [_lists(node[key]) for key in sorted(node, key=int)]
    return {key: _lists(value) for key, value in node.items()}


def _error(status: int, message: str, kind: str = "invalid_request_error") -> Response:
    return Response(json.dumps({"error": {"type": kind, "message": message}}), status=status,
                    content_type="application/json")


class StripeStandIn:
    """Served by werkzeug on 127.0.0.1 (a free port) in a thread; `url` is its base address."""

    def __init__(self, api_key: str = SECRET_KEY) -> None:
        self.api_key = api_key
        self.objects: dict[str, dict[str, Any]] = {}
        self.requests: list[Recorded] = []
        self._replies: dict[str, tuple[int, str]] = {}
        self._lock = threading.Lock()
        self._routes = Map([
            Rule("/v1/customers", methods=["POST"], endpoint="create_customer"),
            Rule("/v1/checkout/sessions", methods=["POST"], endpoint="create_session"),
            Rule("/v1/checkout/sessions/<sid>", methods=["GET"], endpoint="retrieve"),
            Rule("/v1/invoices", methods=["POST"], endpoint="create_invoice"),
            Rule("/v1/invoices/<sid>", methods=["GET"], endpoint="retrieve"),
            Rule("/v1/invoiceitems", methods=["POST"], endpoint="create_invoice_item"),
            Rule("/v1/invoices/<sid>/finalize", methods=["POST"], endpoint="finalize_invoice"),
            Rule("/v1/invoices/<sid>/send", methods=["POST"], endpoint="send_invoice"),
        ])
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> StripeStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- what tests look at ----------------------------------------------------------------

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [obj for obj in self.objects.values() if obj["object"] == kind]

    def calls(self, method: str, path_prefix: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    def expire_session(self, session_id: str) -> None:
        session = self.objects[session_id]
        session.update(status="expired", expires_at=int(time.time()) - 1)

    # --- the HTTP side ---------------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self._handle(Request(environ))(environ, start_response)

    def _handle(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _error(401, "Invalid API Key provided.", "authentication_error")
        try:
            endpoint, args = self._routes.bind_to_environ(request.environ).match()
        except NotFound:
            return _error(404, f"Unrecognized request URL ({request.method}: {request.path}).")
        except HTTPException as exc:
            return _error(exc.code or 400, exc.description or "")
        params = parse_stripe_form(request.get_data(as_text=True)) if request.method == "POST" else {}
        key = request.headers.get("Idempotency-Key") if request.method == "POST" else None
        with self._lock:
            replay = self._replies.get(key) if key else None
            self.requests.append(Recorded(request.method, request.path, params, key, replay is not None))
            if replay is None:
                try:
                    status, body = 200, getattr(self, f"_{endpoint}")(params, **args)
                except LookupError as exc:
                    status, body = 404, {"error": {"type": "invalid_request_error",
                                                   "message": f"No such object: {exc}"}}
                except ValueError as exc:
                    status, body = 400, {"error": {"type": "invalid_request_error", "message": str(exc)}}
                replay = (status, json.dumps(body))
                if key:
                    self._replies[key] = replay
        return Response(replay[1], status=replay[0], content_type="application/json")

    def _new(self, prefix: str, kind: str, fields: dict[str, Any]) -> dict[str, Any]:
        obj = {**fields, "id": f"{prefix}_{secrets.token_hex(12)}", "object": kind, "livemode": False,
               "created": int(time.time())}
        self.objects[obj["id"]] = obj
        return obj

    def _get(self, object_id: str, kind: str) -> dict[str, Any]:
        obj = self.objects.get(object_id)
        if obj is None or obj["object"] != kind:
            raise LookupError(object_id)
        return obj

    def _create_customer(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._new("cus", "customer", {"metadata": {}, **params})

    def _create_session(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("mode") != "payment":
            raise ValueError("mode must be payment")
        if "customer" in params:
            self._get(params["customer"], "customer")
        items = params.get("line_items") or []
        total = sum(int(i["quantity"]) * int(i["price_data"]["unit_amount"]) for i in items)
        session = self._new("cs_test", "checkout.session", {
            **{k: v for k, v in params.items() if k != "line_items"},
            "status": "open", "payment_status": "unpaid", "amount_total": total, "currency": "eur",
            "expires_at": int(time.time()) + 24 * 3600,
        })
        session["url"] = f"https://checkout.stripe.test/c/pay/{session['id']}"
        return session

    def _retrieve(self, params: dict[str, Any], sid: str) -> dict[str, Any]:
        if sid not in self.objects:
            raise LookupError(sid)
        return self.objects[sid]

    def _create_invoice(self, params: dict[str, Any]) -> dict[str, Any]:
        self._get(params.get("customer", ""), "customer")
        if params.get("collection_method") == "send_invoice" and "days_until_due" not in params:
            raise ValueError("days_until_due is required with send_invoice")
        invoice = self._new("in", "invoice", {"currency": "eur", **params, "status": "draft",
                                              "amount_due": 0, "amount_paid": 0, "lines": [], "sent": 0})
        invoice["hosted_invoice_url"] = f"https://invoice.stripe.test/i/{invoice['id']}"
        return invoice

    def _create_invoice_item(self, params: dict[str, Any]) -> dict[str, Any]:
        invoice = self._get(params.get("invoice", ""), "invoice")
        if invoice["status"] != "draft":
            raise ValueError("items can only be added to a draft invoice")
        quantity = int(params.get("quantity", 1))
        amount = int(Decimal(params["unit_amount_decimal"]) * quantity)
        item = self._new("ii", "invoiceitem", {**params, "amount": amount})
        invoice["lines"].append(item["id"])
        invoice["amount_due"] += amount
        return item

    def _finalize_invoice(self, params: dict[str, Any], sid: str) -> dict[str, Any]:
        invoice = self._get(sid, "invoice")
        if invoice["status"] != "draft":
            raise ValueError("invoice is not a draft")
        invoice["status"] = "open"
        return invoice

    def _send_invoice(self, params: dict[str, Any], sid: str) -> dict[str, Any]:
        invoice = self._get(sid, "invoice")
        if invoice["status"] != "open":
            raise ValueError("only open invoices can be sent")
        invoice["sent"] += 1
        return invoice


def signed_event(event_type: str, obj: dict[str, Any], *, secret: str = WEBHOOK_SECRET,
                 event_id: str | None = None, created: int | None = None) -> tuple[bytes, str]:
    """The body of a Stripe event and its Stripe-Signature header, signed with `secret`."""
    payload = json.dumps({
        "id": event_id or f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "type": event_type,
        "created": created or int(time.time()),
        "livemode": False,
        "api_version": stripe.api_version,
        "data": {"object": obj},
    })
    return payload.encode(), stripe.WebhookSignature.generate_signature_header(payload, secret)
