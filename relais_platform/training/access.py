"""Who may follow which relais, and the audited scope national and coach requests need."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import Select, select

from relais_platform.accounts.models import Role, User
from relais_platform.audit.services import network_access
from relais_platform.domain import NotFound
from relais_platform.extensions import db
from relais_platform.tenancy import current_scope
from relais_platform.tenants.models import Relais
from relais_platform.tenants.services import get_visible_relais


def reach_relais(actor: User, relais_id: int, reason: str) -> Relais:
    """The relais if `actor` follows it (national, its coach, its own staff), else NotFound.

    A coach asking for a relais outside its portfolio gets the same 404 as for a missing one.
    National and coach requests start unbound: open an audited scope on this relais only.
    """
    relais = get_visible_relais(actor, relais_id)
    if current_scope(db.session).relais_id is None:
        network_access([relais.id], reason=reason)
    return relais


def followed_relais_ids(actor: User) -> Select:
    """The relais ids a national user (all) or a coach (its portfolio) follows, as SQL."""
    stmt = select(Relais.id)
    if actor.role == Role.COACH:
        return stmt.where(Relais.coach_id == actor.id)
    if actor.role == Role.NATIONAL:
        return stmt
    raise NotFound(_("Relais introuvable."))


def open_follow_scope(actor: User, reason: str) -> list[int] | None:
    """Open the scope of a dashboard: every relais (national) or the coach's portfolio."""
    if actor.role == Role.NATIONAL:
        network_access(None, reason=reason)
        return None
    ids = list(db.session.scalars(followed_relais_ids(actor)))
    network_access(ids, reason=reason)
    return ids
