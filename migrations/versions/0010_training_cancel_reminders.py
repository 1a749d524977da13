"""training: a session can be cancelled as a whole; a next step remembers its follow-up reminder

Revision ID: 0010_training_cancel_reminders
Revises: 0009_training_trainer
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_training_cancel_reminders"
down_revision = "0009_training_trainer"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("training_sessions", sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("training_sessions", sa.Column("cancelled_by_id", sa.BigInteger(), nullable=True))
    op.add_column("training_sessions", sa.Column("cancel_reason", sa.Text(), nullable=True))
    op.create_foreign_key(op.f("fk_training_sessions_cancelled_by_id_users"), "training_sessions", "users",
                          ["cancelled_by_id"], ["id"])
    op.add_column("coaching_next_steps", sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    op.drop_column("coaching_next_steps", "reminded_at")
    op.drop_constraint(op.f("fk_training_sessions_cancelled_by_id_users"), "training_sessions",
                       type_="foreignkey")
    op.drop_column("training_sessions", "cancel_reason")
    op.drop_column("training_sessions", "cancelled_by_id")
    op.drop_column("training_sessions", "cancelled_at")
