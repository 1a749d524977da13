"""stock reports are read-only once submitted

Revision ID: 0007_stock_reports_read_only
Revises: 0006_reporting
"""

from alembic import op

from relais_platform import rls

revision = "0007_stock_reports_read_only"
down_revision = "0006_reporting"
branch_labels = None
depends_on = None

# A submitted report is what the relais declared to the national stock: corrections go
# through next month's report (its adjustment), never by rewriting this one.
TABLES = ("stock_reports", "stock_report_lines")


def upgrade():
    for table in TABLES:
        op.execute(rls.append_only_sql(table))


def downgrade():
    for table in TABLES:
        op.execute(rls.drop_append_only_sql(table))
