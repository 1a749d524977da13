"""Demo data for the quick start (idempotent, safe to run again): the shared logins and the
runner of every domain's demo loader."""

from __future__ import annotations

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
    for domain in registered_domains(current_app):
        if domain.demo is not None:
            logins += domain.demo() or []
    return logins


def current_totp(secret: str) -> str:
    return pyotp.TOTP(secret).now()
