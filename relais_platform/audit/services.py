"""Writing to the audit log, and the audited door to cross-relais data."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import has_request_context, request
from flask_login import current_user

from relais_platform.audit.models import AuditEntry
from relais_platform.extensions import db
from relais_platform.tenancy import TenantScope, current_scope, open_network_scope


def _request_ip() -> str | None:
    if not has_request_context():
        return None
    return request.remote_addr


def current_actor_id() -> int | None:
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.id
    return None


def record(
    action: str,
    *,
    target: Any = None,
    target_type: str | None = None,
    target_id: int | None = None,
    relais_id: int | None = None,
    actor_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an entry to the current unit of work (committed with the action it records).

    Never put a beneficiary's name in `details`: ids only.
    """
    if target is not None:
        target_type = target_type or target.__tablename__
        target_id = target_id if target_id is not None else target.id
    if relais_id is None:
        relais_id = current_scope(db.session).relais_id
    entry = AuditEntry(
        action=action,
        target_type=target_type,
        target_id=target_id,
        relais_id=relais_id,
        actor_id=actor_id if actor_id is not None else current_actor_id(),
        ip=_request_ip(),
        details=details or {},
    )
    db.session.add(entry)
    return entry


def network_access(relais_ids: Iterable[int] | None, *, reason: str) -> TenantScope:
    """Open a cross-relais scope for a national (None: all) or coach service, audited."""
    ids = None if relais_ids is None else sorted(set(relais_ids))
    scope = open_network_scope(db.session, ids)
    record("network_access", details={"reason": reason, "relais_ids": ids or "*"})
    return scope
