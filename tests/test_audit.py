"""The audit log: what is recorded, and that the database keeps it append-only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_login import login_user
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from relais_platform.accounts.models import Role
from relais_platform.audit import services as audit
from relais_platform.audit.models import AuditEntry
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.tenancy import bind_relais
from relais_platform.tenants.models import RelaisStatus
from tests.factories import bearer, make_relais, make_user, relais_data


def test_record_takes_actor_ip_and_bound_relais_from_the_request(app):
    with app.app_context():
        relais = make_relais()
        user = make_user(Role.RELAIS_ADMIN, relais)
        user_id, relais_id = user.id, relais.id
        db.session.remove()
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": "203.0.113.7"}):
        user = db.session.get(type(user), user_id)
        login_user(user)
        bind_relais(db.session, relais_id)
        audit.record("something_done", target=user, details={"why": "test"})
        db.session.commit()
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "something_done")).one()
        assert (entry.actor_id, entry.relais_id, str(entry.ip)) == (user_id, relais_id, "203.0.113.7")
        assert (entry.target_type, entry.target_id, entry.details) == ("users", user_id, {"why": "test"})


@pytest.fixture
def entry_id(app_ctx):
    entry = audit.record("login_success", details={})
    db.session.flush()
    entry_id = entry.id  # an unbound session may not read the entry back after commit
    db.session.commit()
    return entry_id


def test_app_role_cannot_update_or_delete(entry_id):
    for statement in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
        with db.engine.connect() as conn, pytest.raises(DBAPIError, match="permission denied"):
            conn.execute(text(statement))


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"]
)
def test_even_the_owner_cannot_rewrite_history(entry_id, owner_engine, statement):
    with owner_engine.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text(statement))


def _backdated(owner_engine, action: str, days: int) -> None:
    """An entry `days` old: only a superuser skipping the triggers can write one."""
    with owner_engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("INSERT INTO audit_log (action, occurred_at)"
                          " VALUES (:a, now() - make_interval(days => :d))"), {"a": action, "d": days})


def test_purge_removes_only_entries_older_than_twelve_months(app_ctx, owner_engine):
    _backdated(owner_engine, "old", 370)
    _backdated(owner_engine, "recent", 300)
    removed = db.session.scalar(text("SELECT purge_audit_log()"))
    db.session.commit()
    assert removed == 1
    with db.engine.connect() as conn:
        conn.execute(text("SELECT set_config('app.relais_ids', '*', false)"))
        assert conn.scalars(text("SELECT action FROM audit_log")).all() == ["recent"]


def test_the_database_stamps_id_and_time_whatever_the_app_sends(app_ctx, owner_engine):
    """Someone holding the app role cannot backdate an entry nor pick its id."""
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO audit_log (id, action, occurred_at) VALUES"
                          " (424242, 'forged', '2020-01-01T00:00:00Z')"))
    entry = audit.record("through_the_orm", details={})
    entry.occurred_at = utcnow() - timedelta(days=400)
    db.session.flush()
    drawn = entry.id  # an unbound session may not read the entry back after commit
    db.session.commit()
    with owner_engine.connect() as conn:
        rows = {r.action: r for r in conn.execute(text(
            "SELECT id, action, occurred_at, now() - occurred_at < interval '1 minute' AS fresh"
            " FROM audit_log"))}
        last = conn.scalar(text("SELECT last_value FROM audit_log_id_seq"))
    assert rows["forged"].id != 424242 and rows["forged"].id <= last
    assert rows["forged"].fresh and rows["through_the_orm"].fresh
    # The id the ORM drew from the sequence is the one stored.
    assert rows["through_the_orm"].id == drawn


def test_relais_users_read_only_their_relais_entries(app_ctx):
    a_id, b_id = make_relais().id, make_relais().id
    audit.record("for_a", relais_id=a_id)
    audit.record("for_b", relais_id=b_id)
    audit.record("national", relais_id=None)
    db.session.commit()
    db.session.remove()
    bind_relais(db.session, a_id)
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert "for_a" in actions and "for_b" not in actions and "national" not in actions


def _entries(owner_engine) -> list:
    with owner_engine.connect() as conn:
        return conn.execute(text(
            "SELECT action, actor_id, host(ip) AS ip, relais_id, target_type, target_id, details"
            " FROM audit_log ORDER BY id")).all()


def test_relais_and_team_changes_are_recorded_with_who_where_and_what(app, client, owner_engine):
    """Relais creation, profile and status changes, invitations, role and status changes of a
    member: each leaves who, from which IP, for which relais, on which target, what changed."""
    with app.app_context():
        national = make_user(Role.NATIONAL)
        national_id, headers = national.id, bearer(national)
    created = client.post("/api/v1/relais", headers=headers, json=relais_data(name="Relais audité"))
    relais_id = created.json["id"]
    client.patch(f"/api/v1/relais/{relais_id}", headers=headers, json={"city": "Talence"})
    client.patch(f"/api/v1/relais/{relais_id}", headers=headers, json={"status": "suspended"})
    invited = client.post(f"/api/v1/relais/{relais_id}/users", headers=headers,
                          json={"email": "nouvelle@example.org", "name": "Nouvelle",
                                "role": "relais_worker"})
    member_id = invited.json["id"]
    client.patch(f"/api/v1/relais/{relais_id}/users/{member_id}", headers=headers,
                 json={"role": "relais_admin"})
    client.patch(f"/api/v1/relais/{relais_id}/users/{member_id}", headers=headers,
                 json={"active": False})

    recorded = {row.action: row for row in _entries(owner_engine)}
    expected = {
        "relais_created": ("relais", relais_id, {}),
        "relais_updated": ("relais", relais_id, {"city": ["Bordeaux", "Talence"]}),
        "relais_status_changed": ("relais", relais_id,
                                  {"from": "active", "to": "suspended", "reason": None}),
        "user_invited": ("users", member_id, {"role": "relais_worker"}),
        "role_changed": ("users", member_id, {"from": "relais_worker", "to": "relais_admin"}),
        "user_deactivated": ("users", member_id, {}),
    }
    for action, (target_type, target_id, details) in expected.items():
        row = recorded[action]
        assert (row.actor_id, row.ip, row.relais_id) == (national_id, "127.0.0.1", relais_id), action
        assert (row.target_type, row.target_id, row.details) == (target_type, target_id, details), action


def test_a_refused_change_leaves_no_entry(app, client, owner_engine):
    with app.app_context():
        relais = make_relais(status=RelaisStatus.CLOSED)
        relais_id, headers = relais.id, bearer(make_user(Role.NATIONAL))
    response = client.patch(f"/api/v1/relais/{relais_id}", headers=headers,
                            json={"city": "Talence", "status": "active"})
    assert response.status_code == 422
    assert [row.action for row in _entries(owner_engine)
            if row.action.startswith("relais_")] == ["relais_created"]
