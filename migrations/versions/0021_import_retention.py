"""imports: retention of uploaded files (status `expired`, file content nullable)

An uploaded file is kept only while it may still be applied: dropped (NULL) once the import is
applied, failed or invalid, and after IMPORT_RETENTION_DAYS for a file never applied (the
import becomes `expired`). Files emptied before this revision (stored as zero bytes) become NULL.

Revision ID: 0021_import_retention
Revises: 0020_reporting_summaries
"""

import sqlalchemy as sa
from alembic import op

revision = "0021_import_retention"
down_revision = "0020_reporting_summaries"
branch_labels = None
depends_on = None

OLD_STATUSES = ("checking", "checked", "invalid", "applying", "applied", "failed")
STATUSES = OLD_STATUSES + ("expired",)
CHECK = "ck_imports_importstatus"


def _in(values: tuple[str, ...]) -> str:
    return f"status IN ({', '.join(repr(v) for v in values)})"


def upgrade():
    op.drop_constraint(op.f(CHECK), "imports", type_="check")
    op.create_check_constraint(op.f(CHECK), "imports", _in(STATUSES))
    op.alter_column("imports", "content", existing_type=sa.LargeBinary(), nullable=True)
    op.execute("UPDATE imports SET content = NULL WHERE octet_length(content) = 0")


def downgrade():
    # An expired import was never applied and its file is gone: it reads as invalid.
    op.execute("UPDATE imports SET status = 'invalid' WHERE status = 'expired'")
    op.execute("UPDATE imports SET content = ''::bytea WHERE content IS NULL")
    op.alter_column("imports", "content", existing_type=sa.LargeBinary(), nullable=False)
    op.drop_constraint(op.f(CHECK), "imports", type_="check")
    op.create_check_constraint(op.f(CHECK), "imports", _in(OLD_STATUSES))
