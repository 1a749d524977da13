"""beneficiaries and accompaniment

Revision ID: 0004_beneficiaries
Revises: 0003_training
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0004_beneficiaries"
down_revision = "0003_training"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
