"""Login throttling per account, kept in Redis through Flask-Limiter's storage.

Only failures count: after `LOGIN_MAX_FAILURES` within `LOGIN_FAILURE_WINDOW`, every
attempt for that account is refused (429) until the moving window frees a slot.
"""

from __future__ import annotations

from flask import current_app
from limits import RateLimitItemPerSecond

from relais_platform.extensions import limiter

_NAMESPACE = "login-failures"


def _item() -> RateLimitItemPerSecond:
    window = current_app.config["LOGIN_FAILURE_WINDOW"]
    return RateLimitItemPerSecond(
        current_app.config["LOGIN_MAX_FAILURES"], int(window.total_seconds())
    )


def is_locked(email: str) -> bool:
    return not limiter.limiter.test(_item(), _NAMESPACE, email.strip().lower())


def record_failure(email: str) -> None:
    limiter.limiter.hit(_item(), _NAMESPACE, email.strip().lower())


def clear(email: str) -> None:
    limiter.limiter.clear(_item(), _NAMESPACE, email.strip().lower())
