"""Builders for test data. Call them inside an app context; they commit."""

from __future__ import annotations

import itertools
from typing import Any

import pyotp

from relais_platform.accounts import services as accounts
from relais_platform.accounts.models import Role, User
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.tenants import services as tenants
from relais_platform.tenants.models import Relais, RelaisStatus

PASSWORD = "Correct-horse-battery-9"
_counter = itertools.count(1)


def luhn_complete(prefix: str) -> str:
    """Append the Luhn check digit to `prefix`."""
    for digit in "0123456789":
        candidate = prefix + digit
        if tenants.luhn_valid(candidate):
            return candidate
    raise AssertionError("unreachable")


def siret() -> str:
    return luhn_complete(f"{next(_counter):013d}")


def relais_data(**overrides: Any) -> dict[str, Any]:
    n = next(_counter)
    data = {
        "name": f"Relais {n}",
        "kind": "association",
        "siret": siret(),
        "address": f"{n} rue de la Paix",
        "postcode": "33000",
        "city": "Bordeaux",
        "dimensions": ["connexion", "equipement", "accompagnement"],
    }
    data.update(overrides)
    return data


def make_relais(status: RelaisStatus = RelaisStatus.ACTIVE, **overrides: Any) -> Relais:
    relais = tenants.create_relais(relais_data(**overrides))
    if status != RelaisStatus.ACTIVE:
        relais.status = status
    db.session.commit()
    return relais


def make_user(
    role: Role | str = Role.RELAIS_WORKER,
    relais: Relais | None = None,
    *,
    email: str | None = None,
    name: str | None = None,
    password: str = PASSWORD,
    two_factor: bool | None = None,
) -> User:
    role = Role(role)
    n = next(_counter)
    user = accounts.create_user(
        email=email or f"{role.value}.{n}@example.org",
        name=name or f"{role.value.title()} {n}",
        role=role,
        relais=relais,
        password=password,
    )
    if two_factor if two_factor is not None else role.requires_two_factor:
        user.totp_secret = pyotp.random_base32()
        user.totp_confirmed_at = utcnow()
    db.session.commit()
    return user


def totp_now(user: User) -> str:
    return pyotp.TOTP(user.totp_secret).now()


def api_token(user: User) -> str:
    issued = accounts.issue_api_token(user)
    db.session.commit()
    return issued.token


def bearer(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token(user)}"}
