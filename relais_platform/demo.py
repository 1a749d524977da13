"""Demo data for the quick start (idempotent, safe to run again): the shared logins and the
runner of every domain's demo loader."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pyotp
from flask import current_app

from relais_platform.domains import registered_domains

DEMO_PASSWORD = "Relais-demo-2026!"
# Fixed so that the printed logins stay valid across runs; demo only.
DEMO_TOTP = {"national@demo.relais-numerique.fr": "JBSWY3DPEHPK3PXPRELAISNATIONALAA",
             "coach@demo.relais-numerique.fr": "JBSWY3DPEHPK3PXPRELAISCOACHAAAAA"}


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    relais: str | None
    totp_secret: str | None


def load_demo() -> list[DemoLogin]:
    """Every domain's demo data, in the order of `domains.DOMAINS`; the logins to print."""
    logins: list[DemoLogin] = []
    # A request context of its own, so that the services' e-mails can build their links.
    with current_app.test_request_context("/"):
        for domain in registered_domains(current_app):
            if domain.demo is not None:
                started = time.perf_counter()
                logins += domain.demo() or []
                current_app.logger.info("demo %s: %.1f s", domain.name, time.perf_counter() - started)
    return logins


def current_totp(secret: str) -> str:
    return pyotp.TOTP(secret).now()
