"""training and coaching

Revision ID: 0003_training
Revises: 0002_stock
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0003_training"
down_revision = "0002_stock"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
