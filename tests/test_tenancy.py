"""Tenant isolation at both layers: the ORM hooks and PostgreSQL's row-level security."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, inspect, select, text, update
from sqlalchemy.exc import DBAPIError

from relais_platform.accounts.models import Role, User
from relais_platform.audit.models import AuditEntry
from relais_platform.audit.services import network_access
from relais_platform.extensions import db
from relais_platform.stock.orders.models import Order, OrderStatus
from relais_platform.tenancy import (
    TenantScope,
    TenantScopeError,
    bind_relais,
    current_scope,
    tenant_session,
)
from relais_platform.tenants.models import Relais
from tests.factories import make_relais, make_user


@pytest.fixture
def two_relais(app_ctx):
    ids = []
    for name in ("Relais A", "Relais B"):
        relais = make_relais(name=name)
        make_user(Role.RELAIS_ADMIN, relais)
        relais_id = relais.id
        with tenant_session(db.session, TenantScope(relais_id=relais_id)) as session:
            order = Order(status=OrderStatus.DRAFT, note=f"order of {name}")
            session.add(order)
            session.commit()
            ids.append((relais_id, order.id))
    db.session.remove()
    return ids[0], ids[1]


def test_bound_session_sees_only_its_relais_rows(two_relais):
    (a_id, a_order), (_b_id, b_order) = two_relais
    bind_relais(db.session, a_id)
    assert [o.id for o in db.session.scalars(select(Order))] == [a_order]
    assert db.session.get(Order, b_order) is None
    assert [r.id for r in db.session.scalars(select(Relais))] == [a_id]
    assert {u.relais_id for u in db.session.scalars(select(User))} == {a_id}


def test_bulk_update_and_delete_are_filtered(two_relais):
    (a_id, _), (b_id, b_order) = two_relais
    bind_relais(db.session, a_id)
    db.session.execute(update(Order).values(note="changed"))
    db.session.execute(delete(Order))
    db.session.commit()
    with tenant_session(db.session, TenantScope(relais_id=b_id)):
        order = db.session.get(Order, b_order)
        assert order is not None and order.note == "order of Relais B"


def test_unbound_session_sees_no_tenant_row(two_relais):
    assert current_scope(db.session) == TenantScope()
    assert db.session.scalars(select(Order)).all() == []
    # The relais registry and staff directory stay readable (sign-in needs them).
    assert len(db.session.scalars(select(Relais)).all()) == 2


def test_network_scope_is_explicit_limited_and_audited(two_relais):
    (a_id, a_order), (_b_id, b_order) = two_relais
    make_user(Role.COACH)
    network_access([a_id], reason="coach portfolio")
    assert [o.id for o in db.session.scalars(select(Order))] == [a_order]
    db.session.commit()
    db.session.remove()
    network_access(None, reason="national order list")
    assert {o.id for o in db.session.scalars(select(Order))} == {a_order, b_order}
    reasons = [e.details["reason"] for e in db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "network_access"))]
    assert "coach portfolio" in reasons


def test_new_rows_are_stamped_with_the_bound_relais(two_relais):
    (a_id, _), _ = two_relais
    bind_relais(db.session, a_id)
    order = Order(status=OrderStatus.DRAFT)
    db.session.add(order)
    db.session.flush()
    assert order.relais_id == a_id


def test_flush_refuses_a_row_of_another_relais(two_relais):
    (a_id, _), (b_id, _) = two_relais
    bind_relais(db.session, a_id)
    db.session.add(Order(status=OrderStatus.DRAFT, relais_id=b_id))
    with pytest.raises(TenantScopeError):
        db.session.flush()


def test_flush_refuses_a_tenant_row_with_no_relais_bound(app_ctx):
    db.session.add(Order(status=OrderStatus.DRAFT))
    with pytest.raises(TenantScopeError):
        db.session.flush()


def test_a_row_cannot_move_to_another_relais(two_relais):
    (a_id, a_order), (b_id, _) = two_relais
    bind_relais(db.session, a_id)
    order = db.session.get(Order, a_order)
    order.relais_id = b_id
    with pytest.raises(TenantScopeError):
        db.session.flush()


def test_a_session_never_switches_tenant(two_relais):
    (a_id, a_order), (b_id, _) = two_relais
    bind_relais(db.session, a_id)
    loaded = db.session.get(Order, a_order)  # held, so it stays in the identity map
    with pytest.raises(TenantScopeError):
        bind_relais(db.session, b_id)
    assert loaded.relais_id == a_id


# --- row-level security, raw SQL as the application role -------------------------------


def _as_app_role(relais_id: int | None):
    """A raw connection of the runtime role with `app.relais_id` set for its transaction."""
    conn = db.engine.connect()
    conn.begin()
    if relais_id is not None:
        conn.execute(text("SELECT set_config('app.relais_id', :v, true)"), {"v": str(relais_id)})
    return conn


def test_raw_sql_cannot_read_another_relais_rows(two_relais):
    (a_id, a_order), (b_id, _b_order) = two_relais
    with _as_app_role(a_id) as conn:
        assert conn.scalars(text("SELECT id FROM orders")).all() == [a_order]
        assert conn.scalar(text("SELECT count(*) FROM orders WHERE relais_id = :b"), {"b": b_id}) == 0
        assert conn.scalars(text("SELECT id FROM relais")).all() == [a_id]
        assert set(conn.scalars(text("SELECT relais_id FROM users"))) == {a_id}
        assert conn.scalar(
            text("SELECT count(*) FROM audit_log WHERE relais_id = :b"), {"b": b_id}) == 0


def test_raw_sql_cannot_write_another_relais_rows(two_relais):
    (a_id, _), (b_id, b_order) = two_relais
    with _as_app_role(a_id) as conn:
        changed = conn.execute(text("UPDATE orders SET note = 'x' WHERE id = :id"), {"id": b_order})
        assert changed.rowcount == 0
        deleted = conn.execute(text("DELETE FROM orders WHERE relais_id = :b"), {"b": b_id})
        assert deleted.rowcount == 0
        with pytest.raises(DBAPIError, match="row-level security"):
            conn.execute(text("INSERT INTO orders (relais_id, status) VALUES (:b, 'draft')"),
                         {"b": b_id})


def test_raw_sql_without_a_relais_sees_no_tenant_row(two_relais):
    with _as_app_role(None) as conn:
        assert conn.scalar(text("SELECT count(*) FROM orders")) == 0
        assert conn.scalar(text("SELECT count(*) FROM audit_log")) == 0


def test_national_ledger_is_closed_to_relais_sessions(two_relais):
    (a_id, _), _ = two_relais
    with _as_app_role(a_id) as conn:
        assert conn.scalar(text("SELECT count(*) FROM stock_movements")) == 0
        with pytest.raises(DBAPIError, match="row-level security"):
            conn.execute(text(
                "INSERT INTO products (sku, name, category, dimension, serialized,"
                " unit_price_cents, max_resale_price_cents)"
                " VALUES ('X', 'X', 'other', 'connexion', false, 0, 0) RETURNING id"
            ))
            conn.execute(text("INSERT INTO national_stock (product_id) SELECT id FROM products"))


def _in_network_scope(relais_ids: str):
    """A raw connection of the runtime role under a network scope (`*` or an id list)."""
    conn = db.engine.connect()
    conn.begin()
    conn.execute(text("SELECT set_config('app.relais_ids', :v, true)"), {"v": relais_ids})
    return conn


def test_raw_sql_under_a_coach_list_reaches_those_relais_only(two_relais):
    (a_id, a_order), (b_id, b_order) = two_relais
    other = 10_000 + b_id  # a list naming several relais, B not among them
    with _in_network_scope(f"{other},{a_id}") as conn:
        assert conn.scalars(text("SELECT id FROM orders")).all() == [a_order]
        assert conn.execute(text("UPDATE orders SET note = 'x' WHERE id = :id"),
                            {"id": b_order}).rowcount == 0
        assert conn.execute(text("UPDATE orders SET note = 'seen' WHERE id = :id"),
                            {"id": a_order}).rowcount == 1
        with pytest.raises(DBAPIError, match="row-level security"):
            conn.execute(text("INSERT INTO orders (relais_id, status) VALUES (:b, 'draft')"),
                         {"b": b_id})
    with _in_network_scope("*") as conn:
        assert set(conn.scalars(text("SELECT id FROM orders"))) == {a_order, b_order}
        # Entries of no relais (national ones) are reached by '*' only.
        assert conn.execute(text("INSERT INTO audit_log (action) VALUES ('national') RETURNING id"))
        assert conn.scalar(text("SELECT count(*) FROM audit_log WHERE relais_id IS NULL")) >= 1
    with _in_network_scope(str(a_id)) as conn:
        assert conn.scalar(text("SELECT count(*) FROM audit_log WHERE relais_id IS NULL")) == 0
    with _in_network_scope("") as conn:
        assert conn.scalar(text("SELECT count(*) FROM orders")) == 0


def test_policies_parse_the_network_list_once_per_statement(app_ctx, owner_engine):
    """No policy calls app_network_allows() (a parse per row: 2,000 ids × 100,000 rows took
    seconds); the list is a sub-select PostgreSQL hashes once (docs/performance.md)."""
    with owner_engine.connect() as conn:
        per_row = conn.scalars(text(
            "SELECT tablename || '.' || policyname FROM pg_policies"
            " WHERE schemaname = 'public' AND (qual LIKE '%app_network_allows(%'"
            " OR with_check LIKE '%app_network_allows(%')")).all()
    assert per_row == []
    with _in_network_scope(",".join(str(i) for i in range(1, 2001))) as conn:
        plan = "\n".join(conn.scalars(text("EXPLAIN SELECT count(*) FROM relais_stock_movements")))
    assert "hashed SubPlan" in plan, plan


def test_app_role_owns_nothing_and_cannot_bypass_rls(app_ctx, owner_engine):
    role = db.engine.url.username
    with owner_engine.connect() as conn:
        flags = conn.execute(
            text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :r"), {"r": role}
        ).one()
        owned = conn.scalar(
            text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = :r"),
            {"r": role},
        )
    assert tuple(flags) == (False, False)
    assert owned == 0


TENANT_TABLE_EXCEPTIONS = {
    # Read before a tenant is known (sign-in, registry): policy hides other relais once bound.
    "users",
    # National registry of serials, unique per product network-wide; relais_id is the holder.
    "serial_units",
    "serial_unit_events",
    # National ledger: relais_id names the destination, the table is national-only.
    "stock_movements",
}


def test_every_tenant_table_is_indexed_protected_and_keyed_by_relais(app_ctx, owner_engine):
    """Guard for every future table: relais_id indexed, RLS forced, in every unique key."""
    inspector = inspect(owner_engine)
    with owner_engine.connect() as conn:
        rls = dict(conn.execute(text(
            "SELECT relname, relrowsecurity AND relforcerowsecurity FROM pg_class"
            " WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'"
        )).all())
    checked = 0
    for table in inspector.get_table_names():
        columns = {c["name"] for c in inspector.get_columns(table)}
        if "relais_id" not in columns:
            continue
        checked += 1
        assert rls[table], f"{table}: row-level security not enabled and forced"
        # A primary key led by relais_id is that index.
        indexed = inspector.get_pk_constraint(table)["constrained_columns"][:1] == ["relais_id"] or any(
            ix["column_names"][:1] == ["relais_id"] for ix in inspector.get_indexes(table))
        uniques = inspector.get_unique_constraints(table) + [
            ix for ix in inspector.get_indexes(table) if ix["unique"]
        ]
        assert indexed or any(u["column_names"][:1] == ["relais_id"] for u in uniques), (
            f"{table}: relais_id not indexed"
        )
        if table in TENANT_TABLE_EXCEPTIONS:
            continue
        for unique in uniques:
            assert "relais_id" in unique["column_names"], f"{table}: {unique['name']} lacks relais_id"
    assert checked >= 8
