"""hardening: browser sessions, one-time TOTP codes encrypted at rest, two-factor policies,
audit ids and times from the database, functions a non-superuser owner can create

Revision ID: 0011_hardening
Revises: 0010_training_cancel_reminders
"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from flask import current_app

from relais_platform import crypto

revision = "0011_hardening"
down_revision = "0010_training_cancel_reminders"
branch_labels = None
depends_on = None

# Whatever id and time the application (or anyone holding its role) sends, the row gets a
# fresh value of the sequence and the transaction's time. The ORM prefetches the id from
# the sequence (no RETURNING: a writer may not read the log back), so a value that this
# very session has just drawn (`currval`) is kept; any other value is replaced.
AUDIT_STAMP_SQL = """
CREATE FUNCTION audit_log_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  BEGIN
    IF NEW.id IS NULL OR NEW.id <> currval('audit_log_id_seq') THEN
      NEW.id := nextval('audit_log_id_seq');
    END IF;
  EXCEPTION WHEN object_not_in_prerequisite_state THEN  -- no value drawn in this session
    NEW.id := nextval('audit_log_id_seq');
  END;
  NEW.occurred_at := now();
  RETURN NEW;
END $$;
CREATE TRIGGER audit_log_stamp BEFORE INSERT ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_stamp();
ALTER TABLE audit_log ALTER COLUMN id SET DEFAULT nextval('audit_log_id_seq');
"""

# The 0001 version relied on a superuser owner, who bypasses row-level security: under a
# non-superuser owner the DELETE only sees the rows the read policy shows, so the function
# opens the network scope too (and puts both settings back).
PURGE_SQL = """
CREATE OR REPLACE FUNCTION purge_audit_log() RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public AS $$
DECLARE
  removed bigint;
  saved_relais_ids text := coalesce(current_setting('app.relais_ids', true), '');
BEGIN
  PERFORM set_config('app.audit_purge', 'on', true), set_config('app.relais_ids', '*', true);
  DELETE FROM audit_log WHERE occurred_at < now() - interval '12 months';
  GET DIAGNOSTICS removed = ROW_COUNT;
  PERFORM set_config('app.audit_purge', '', true), set_config('app.relais_ids', saved_relais_ids, true);
  RETURN removed;
END $$;
"""
PURGE_SQL_0001 = """
CREATE OR REPLACE FUNCTION purge_audit_log() RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public AS $$
DECLARE removed bigint;
BEGIN
  PERFORM set_config('app.audit_purge', 'on', true);
  DELETE FROM audit_log WHERE occurred_at < now() - interval '12 months';
  GET DIAGNOSTICS removed = ROW_COUNT;
  PERFORM set_config('app.audit_purge', '', true);
  RETURN removed;
END $$;
"""

# Fernet tokens start with this (version byte 0x80, base64): anything else is a plain secret.
_FERNET_PREFIX = "gAAAAA"


def _sibling(name: str):
    """An earlier migration's module, to replay its current function definitions."""
    path = Path(__file__).with_name(name)
    spec = importlib.util.spec_from_file_location(f"_migration_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade():
    role = current_app.config["APP_DB_ROLE"]
    op.create_table(
        "browser_sessions",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_browser_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_browser_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_browser_sessions_token_hash")),
    )
    op.create_index(op.f("ix_browser_sessions_user_id"), "browser_sessions", ["user_id"], unique=False)
    op.create_table(
        "network_security_policy",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("staff_two_factor_required", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_by_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_network_security_policy_single_row")),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"],
                                name=op.f("fk_network_security_policy_updated_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_security_policy")),
    )
    # Default privileges belong to whoever ran 0001; the owner running this one may differ.
    op.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON browser_sessions, network_security_policy"
               f' TO "{role}"')
    op.execute(f'GRANT USAGE, SELECT ON SEQUENCE browser_sessions_id_seq TO "{role}"')

    op.add_column("relais", sa.Column("require_two_factor", sa.Boolean(), server_default="false",
                                      nullable=False))
    op.add_column("users", sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    op.alter_column("users", "totp_secret", type_=sa.String(length=255),
                    existing_type=sa.String(length=64), existing_nullable=True)
    _rewrite_totp_secrets(crypto.encrypt, lambda stored: not stored.startswith(_FERNET_PREFIX))

    op.create_index("ix_audit_log_target", "audit_log", ["target_type", "target_id"], unique=False)
    op.execute(AUDIT_STAMP_SQL)
    op.execute(PURGE_SQL)

    # Databases migrated before this revision hold the functions with `SET app.…` clauses.
    op.execute(_sibling("0003_training.py").SEAT_FUNCTIONS)
    op.execute(_sibling("0006_reporting.py").BILAN_FUNCTION)


def _rewrite_totp_secrets(transform, wanted) -> None:
    """Encrypt (or decrypt) every stored TOTP secret. `users` is subject to RLS even for the
    owner: with no relais bound, its policy shows every row."""
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, totp_secret FROM users WHERE totp_secret IS NOT NULL")).all()
    for user_id, stored in rows:
        if wanted(stored):
            conn.execute(sa.text("UPDATE users SET totp_secret = :s WHERE id = :i"),
                         {"s": transform(stored), "i": user_id})


def downgrade():
    op.execute(PURGE_SQL_0001)
    op.execute("DROP TRIGGER IF EXISTS audit_log_stamp ON audit_log")
    op.execute("DROP FUNCTION IF EXISTS audit_log_stamp()")
    op.execute("ALTER TABLE audit_log ALTER COLUMN id DROP DEFAULT")
    op.drop_index("ix_audit_log_target", table_name="audit_log")
    _rewrite_totp_secrets(crypto.decrypt, lambda stored: stored.startswith(_FERNET_PREFIX))
    op.alter_column("users", "totp_secret", type_=sa.String(length=64),
                    existing_type=sa.String(length=255), existing_nullable=True)
    op.drop_column("users", "totp_last_step")
    op.drop_column("relais", "require_two_factor")
    op.drop_table("network_security_policy")
    op.drop_index(op.f("ix_browser_sessions_user_id"), table_name="browser_sessions")
    op.drop_table("browser_sessions")
