"""training: the trainer's account on a session (who may keep and sign its attendance sheet)

Revision ID: 0009_training_trainer
Revises: 0008_rls_network_once
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_training_trainer"
down_revision = "0008_rls_network_once"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("training_sessions", sa.Column("trainer_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(op.f("fk_training_sessions_trainer_id_users"), "training_sessions", "users",
                          ["trainer_id"], ["id"])
    op.create_index(op.f("ix_training_sessions_trainer_id"), "training_sessions", ["trainer_id"])


def downgrade():
    op.drop_index(op.f("ix_training_sessions_trainer_id"), table_name="training_sessions")
    op.drop_constraint(op.f("fk_training_sessions_trainer_id_users"), "training_sessions",
                       type_="foreignkey")
    op.drop_column("training_sessions", "trainer_id")
