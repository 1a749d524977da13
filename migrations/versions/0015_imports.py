"""imports: uploaded files checked then applied (relais, users, beneficiaries, stock, serials, products)

Revision ID: 0015_imports
Revises: 0013_front_desk
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from relais_platform import rls

revision = "0015_imports"
down_revision = "0013_front_desk"
branch_labels = None
depends_on = None

# A relais sees its own imports; the national team (no relais bound) its own, which belong
# to no relais. A relais' file (personal data) is never reachable through a network scope.
POLICY = """
ALTER TABLE imports ENABLE ROW LEVEL SECURITY;
ALTER TABLE imports FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON imports
  USING (relais_id = app_relais_id() OR (relais_id IS NULL AND app_relais_id() IS NULL))
  WITH CHECK (relais_id = app_relais_id() OR (relais_id IS NULL AND app_relais_id() IS NULL));
"""


def upgrade():
    op.create_table(
        "imports",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("relais_id", sa.BigInteger(), nullable=True),
        sa.Column("uploaded_by_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Enum("relais", "users", "beneficiaries", "relais_stock", "serials", "products",
                                  name="importkind", native_enum=False, create_constraint=True, length=32),
                  nullable=False),
        sa.Column("status", sa.Enum("checking", "checked", "invalid", "applying", "applied", "failed",
                                    name="importstatus", native_enum=False, create_constraint=True, length=32),
                  nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("rows", sa.Integer(), server_default="0", nullable=False),
        sa.Column("valid_rows", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("errors", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("warnings", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("preview", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("created", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated", sa.Integer(), server_default="0", nullable=False),
        sa.Column("skipped", sa.Integer(), server_default="0", nullable=False),
        sa.Column("progress", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("progress BETWEEN 0 AND 100", name=op.f("ck_imports_progress_range")),
        sa.ForeignKeyConstraint(["relais_id"], ["relais.id"], name=op.f("fk_imports_relais_id_relais")),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["users.id"], name=op.f("fk_imports_uploaded_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imports")),
    )
    op.create_index(op.f("ix_imports_relais_id"), "imports", ["relais_id"], unique=False)
    op.create_index(op.f("ix_imports_uploaded_by_id"), "imports", ["uploaded_by_id"], unique=False)
    op.execute(POLICY)


def downgrade():
    op.execute(rls.drop_policy_sql("imports"))
    op.drop_index(op.f("ix_imports_uploaded_by_id"), table_name="imports")
    op.drop_index(op.f("ix_imports_relais_id"), table_name="imports")
    op.drop_table("imports")
