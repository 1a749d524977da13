"""Writing to and reading the audit log, and the audited door to cross-relais data."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, has_request_context, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import Select, and_, false, or_, select

from relais_platform.accounts.models import Role, User
from relais_platform.audit.labels import action_label, target_label
from relais_platform.audit.models import AuditEntry
from relais_platform.domain import Forbidden
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


# --- reading the log -------------------------------------------------------------------

# What the national team may read: entries about the network itself (relais, roles, the
# network's own people), never one that names or points to a beneficiary. A list of what is
# allowed, so that an action added later stays hidden until someone decides otherwise.
NETWORK_ACTIONS = frozenset({
    "relais_created", "relais_applied", "relais_updated", "relais_status_changed",
    "relais_approved", "relais_rejected", "relais_suspended", "relais_reactivated",
    "relais_closed", "coach_assigned", "terms_accepted", "user_invited", "invitation_accepted",
    "user_activated", "user_deactivated", "role_changed", "team_two_factor_required",
    "team_two_factor_optional", "network_two_factor_required", "network_two_factor_optional",
})
# Sign-ins (and the account events around them): of national and coach accounts only,
# whose entries carry no relais.
NETWORK_LOGIN_ACTIONS = frozenset({
    "login_success", "login_failure", "password_changed", "password_reset",
    "password_reset_requested", "totp_enabled", "totp_disabled", "api_token_issued",
    "api_token_revoked", "api_tokens_revoked",
})
EXPORT_LIMIT = 50_000


@dataclass(frozen=True)
class AuditFilters:
    beneficiary_id: int | None = None
    user_id: int | None = None
    action: str | None = None
    date_from: date | None = None
    date_to: date | None = None


def _about_person(beneficiary_id: int) -> Any:
    """Entries about one beneficiary: its own, and those listing it (distributions,
    group sessions, merges, search results)."""
    return or_(
        and_(AuditEntry.target_type == "beneficiaries", AuditEntry.target_id == beneficiary_id),
        AuditEntry.details.contains({"beneficiary_id": beneficiary_id}),
        AuditEntry.details.contains({"beneficiary_ids": [beneficiary_id]}),
        AuditEntry.details.contains({"merged_id": beneficiary_id}),
        AuditEntry.details.contains({"ids": [beneficiary_id]}),
    )


def log_query(viewer: User, filters: AuditFilters) -> Select:
    """The entries `viewer` may read, newest first: a relais admin its relais' whole log, the
    national team the network-level entries. Anyone else: Forbidden."""
    if viewer.role == Role.RELAIS_ADMIN and viewer.relais_id is not None:
        stmt = select(AuditEntry).where(AuditEntry.relais_id == viewer.relais_id)
        if filters.beneficiary_id is not None:
            stmt = stmt.where(_about_person(filters.beneficiary_id))
    elif viewer.role == Role.NATIONAL:
        network_access(None, reason="audit log")
        stmt = select(AuditEntry).where(or_(
            AuditEntry.action.in_(NETWORK_ACTIONS),
            and_(AuditEntry.action.in_(NETWORK_LOGIN_ACTIONS), AuditEntry.relais_id.is_(None)),
        ))
        if filters.beneficiary_id is not None:  # never about a person: nothing to show
            stmt = stmt.where(false())
    else:
        raise Forbidden(_("Le journal d'audit est réservé à l'administrateur du relais et au national."))
    if filters.user_id is not None:
        stmt = stmt.where(AuditEntry.actor_id == filters.user_id)
    if filters.action:
        stmt = stmt.where(AuditEntry.action == filters.action)
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    if filters.date_from is not None:
        stmt = stmt.where(AuditEntry.occurred_at >= datetime.combine(filters.date_from, time(), zone))
    if filters.date_to is not None:
        end = datetime.combine(filters.date_to + timedelta(days=1), time(), zone)
        stmt = stmt.where(AuditEntry.occurred_at < end)
    return stmt.order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())


def actor_names(entries: Iterable[AuditEntry]) -> dict[int, str]:
    """Names of the entries' authors that the reader may see (its team, or everyone for
    national); others show as unknown."""
    ids = {entry.actor_id for entry in entries if entry.actor_id is not None}
    if not ids:
        return {}
    rows = db.session.execute(select(User.id, User.name).where(User.id.in_(ids)))
    return {user_id: name for user_id, name in rows}


def _safe_cell(value: Any) -> Any:
    """Spreadsheets run cells starting with these as formulas: neutralise them."""
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
        return "'" + value
    return value


def log_csv(viewer: User, filters: AuditFilters) -> str:
    """The filtered log as CSV (`;`, BOM), at most EXPORT_LIMIT rows; audited itself.

    The codes keep their columns (and their places); the labels come last, in the reader's
    language."""
    entries = list(db.session.scalars(log_query(viewer, filters).limit(EXPORT_LIMIT)))
    names = actor_names(entries)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow([_("Date"), _("Utilisateur"), _("Action"), _("Objet"), _("N°"), _("Adresse IP"),
                     _("Détails"), _("Libellé de l'action"), _("Libellé de l'objet")])
    for entry in entries:
        writer.writerow([_safe_cell(value) for value in (
            entry.occurred_at.isoformat(), names.get(entry.actor_id or 0, ""), entry.action,
            entry.target_type or "", entry.target_id or "", str(entry.ip or ""),
            json.dumps(entry.details, ensure_ascii=False, sort_keys=True),
            action_label(entry.action), target_label(entry.target_type),
        )])
    record("audit_log_exported", relais_id=viewer.relais_id,
           details={"rows": len(entries), **{k: str(v) for k, v in asdict(filters).items() if v is not None}})
    return "\ufeff" + buffer.getvalue()
