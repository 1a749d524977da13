"""Tenant isolation in the ORM, and the settings row-level security reads.

A session carries a `TenantScope` in `session.info`:

- a relais user's requests bind their one relais (`relais_id`);
- national and coach requests start unbound and see no tenant row at all; a service that
  must reach tenant rows across relais opens a *network scope* explicitly (audited), limited
  to the relais it names (a coach's portfolio) or to every relais (national);
- personal data (beneficiaries and what is logged about them) is visible only inside the
  single relais that collected it, never through a network scope.

Two layers enforce it: a `do_orm_execute` hook adds loader criteria to every ORM statement,
and a `before_flush` guard stamps/refuses rows; then PostgreSQL's policies (see
`relais_platform/rls.py`) filter on the same scope, set per transaction with `set_config`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import BigInteger, ForeignKey, any_, bindparam, event, false, inspect, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    scoped_session,
    with_loader_criteria,
)

from relais_platform.replica import current_engine as current_replica

SCOPE_KEY = "tenant_scope"


class TenantScopeError(RuntimeError):
    """A write outside the bound tenant, or a tenant row with no tenant bound."""


@dataclass(frozen=True)
class TenantScope:
    relais_id: int | None = None
    # Explicit cross-relais read/write for national and coach services.
    network: frozenset[int] | None = None
    all_relais: bool = False

    @property
    def is_bound(self) -> bool:
        return self.relais_id is not None

    def allows(self, relais_id: int, *, personal: bool) -> bool:
        if self.relais_id is not None:
            return relais_id == self.relais_id
        if personal:
            return False
        return self.all_relais or (self.network is not None and relais_id in self.network)

    def settings(self) -> dict[str, str]:
        """Values of the PostgreSQL settings the policies read."""
        if self.all_relais:
            network = "*"
        elif self.network:
            network = ",".join(str(i) for i in sorted(self.network))
        else:
            network = ""
        return {
            "relais_id": "" if self.relais_id is None else str(self.relais_id),
            "relais_ids": network,
        }


UNBOUND = TenantScope()


class TenantScoped:
    """Mixin for tenant-owned tables: `relais_id`, indexed, filtered automatically."""

    # Rows that may exist without a relais (e.g. national audit entries).
    tenant_optional: ClassVar[bool] = False

    @declared_attr
    def relais_id(cls) -> Mapped[int]:
        return mapped_column(
            BigInteger, ForeignKey("relais.id"), index=True, nullable=cls.tenant_optional
        )


class PersonalData(TenantScoped):
    """Tenant-owned personal data: never reachable through a network scope."""


def current_scope(session: Session | scoped_session[Any]) -> TenantScope:
    return session.info.get(SCOPE_KEY, UNBOUND)


_SETTINGS = text(
    "SELECT set_config('app.relais_id', :relais_id, true), set_config('app.relais_ids', :relais_ids, true)"
)


def _apply_settings(session: Session | scoped_session[Any], scope: TenantScope) -> None:
    values = scope.settings()
    session.execute(_SETTINGS, values)
    replica = current_replica()
    if replica is not None:
        # A report reading from the replica: its transaction there gets the new scope too.
        session.connection(bind_arguments={"bind": replica}).execute(_SETTINGS, values)


def set_scope(session: Session | scoped_session[Any], scope: TenantScope) -> None:
    """Bind the scope for the rest of this session, including the running transaction."""
    if session.info.get(SCOPE_KEY) == scope:
        return
    if session.identity_map and current_scope(session).is_bound and scope != current_scope(session):
        # Objects loaded under one relais must never be reused under another.
        raise TenantScopeError("cannot switch tenant inside one session")
    session.info[SCOPE_KEY] = scope
    _apply_settings(session, scope)


def bind_relais(session: Session | scoped_session[Any], relais_id: int) -> None:
    set_scope(session, TenantScope(relais_id=relais_id))


def open_network_scope(
    session: Session | scoped_session[Any], relais_ids: Iterable[int] | None
) -> TenantScope:
    """Let a national (None: every relais) or coach service reach these relais' rows.

    Callers go through `audit.services.network_access`, which records why.
    """
    scope = (
        TenantScope(all_relais=True)
        if relais_ids is None
        else TenantScope(network=frozenset(relais_ids))
    )
    set_scope(session, scope)
    return scope


@contextmanager
def tenant_session(session: Session | scoped_session[Any], scope: TenantScope) -> Iterator[Session]:
    """For jobs, commands and tests: one unit of work under a scope, then forget it.

    Starts from an empty identity map so that no object loaded under another scope is
    reused; uncommitted changes would be lost, so they are refused.
    """
    real = session() if isinstance(session, scoped_session) else session
    if real.new or real.dirty or real.deleted:
        raise TenantScopeError("commit or roll back before changing scope")
    real.rollback()
    real.expunge_all()
    previous = real.info.get(SCOPE_KEY)
    real.info[SCOPE_KEY] = scope
    try:
        yield real
    finally:
        real.rollback()
        real.expunge_all()
        if previous is None:
            real.info.pop(SCOPE_KEY, None)
        else:
            real.info[SCOPE_KEY] = previous


def _criteria(scope: TenantScope) -> list[Any]:
    from relais_platform.accounts.models import User
    from relais_platform.tenants.models import Relais

    if scope.relais_id is not None:
        rid = scope.relais_id
        return [
            with_loader_criteria(TenantScoped, lambda cls: cls.relais_id == rid, include_aliases=True),
            with_loader_criteria(Relais, lambda cls: cls.id == rid, include_aliases=True),
            with_loader_criteria(User, lambda cls: cls.relais_id == rid, include_aliases=True),
        ]
    personal = with_loader_criteria(PersonalData, lambda cls: false(), include_aliases=True)
    if scope.all_relais:
        return [personal]
    if scope.network is not None:
        # One array parameter, not one bound value per relais: a coach's portfolio may
        # hold hundreds of relais, repeated for every tenant table of the statement.
        ids = bindparam("scope_relais_ids", sorted(scope.network), type_=ARRAY(BigInteger))
        return [
            with_loader_criteria(
                TenantScoped, lambda cls: cls.relais_id == any_(ids), include_aliases=True
            ),
            personal,
        ]
    return [with_loader_criteria(TenantScoped, lambda cls: false(), include_aliases=True)]


@event.listens_for(Session, "do_orm_execute")
def _add_tenant_criteria(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        return
    state.statement = state.statement.options(*_criteria(current_scope(state.session)))


@event.listens_for(Session, "after_begin")
def _set_transaction_settings(session: Session, transaction: Any, connection: Any) -> None:
    scope = current_scope(session)
    if scope != UNBOUND:
        connection.execute(_SETTINGS, scope.settings())


@event.listens_for(Session, "before_flush")
def _guard_tenant_rows(session: Session, flush_context: Any, instances: Any) -> None:
    scope = current_scope(session)
    for obj in session.new:
        if not isinstance(obj, TenantScoped):
            continue
        if obj.relais_id is None and getattr(obj, "relais", None) is not None:
            obj.relais_id = obj.relais.id
        if obj.relais_id is None:
            if obj.tenant_optional:
                continue
            if scope.relais_id is None:
                raise TenantScopeError(f"{type(obj).__name__} created with no relais bound")
            obj.relais_id = scope.relais_id
        elif not obj.tenant_optional and not scope.allows(
            obj.relais_id, personal=isinstance(obj, PersonalData)
        ):
            raise TenantScopeError(f"{type(obj).__name__} of another relais")
    for obj in list(session.dirty) + list(session.deleted):
        if not isinstance(obj, TenantScoped):
            continue
        state = inspect(obj)
        assert state is not None  # a mapped instance always has a state
        history = state.attrs.relais_id.history
        if history.deleted and history.deleted[0] is not None:
            raise TenantScopeError(f"{type(obj).__name__} cannot move to another relais")
        if obj.relais_id is not None and not scope.allows(
            obj.relais_id, personal=isinstance(obj, PersonalData)
        ):
            raise TenantScopeError(f"{type(obj).__name__} of another relais")
