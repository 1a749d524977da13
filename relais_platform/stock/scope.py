"""Scopes the stock services open, shared by the subpackages: the national team's audited
'*' scope, the bound relais of a relais session, and "today" in the platform's time zone."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _

from relais_platform.audit.services import network_access
from relais_platform.domain import Forbidden
from relais_platform.extensions import db
from relais_platform.tenancy import current_scope


def open_national_scope(reason: str) -> None:
    """Reach national stock and every relais' rows, audited once per unit of work."""
    if not current_scope(db.session).all_relais:
        network_access(None, reason=reason)


def national_scope(reason: str) -> None:
    """Open the audited '*' scope for a national service (once per session)."""
    scope = current_scope(db.session)
    if scope.is_bound:
        raise Forbidden(_("Action réservée à l'équipe nationale."))
    if not scope.all_relais:
        network_access(None, reason=reason)


def local_today() -> date:
    return datetime.now(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()


def bound_relais_id() -> int:
    relais_id = current_scope(db.session).relais_id
    if relais_id is None:
        raise Forbidden(_("Action réservée aux équipes des relais."))
    return relais_id
