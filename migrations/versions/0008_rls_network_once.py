"""row-level security parses a network scope's id list once per statement

Revision ID: 0008_rls_network_once
Revises: 0007_stock_reports_read_only

Policies that called `app_network_allows(x)` re-parsed `app.relais_ids` for every row: a
coach following 2,000 relais waited seconds for a count over 100,000 rows. Every such
policy, whichever migration created it, is rewritten with `rls.network_allows_sql(x)`,
whose uncorrelated sub-select is evaluated once per statement (a hashed SubPlan). Same
answers: `*` reaches every relais, a list its ids, an unset scope nothing.
"""

import re

from alembic import op
from sqlalchemy import text

from relais_platform import rls

revision = "0008_rls_network_once"
down_revision = "0007_stock_reports_read_only"
branch_labels = None
depends_on = None

OLD_CALL = "app_network_allows("
# How PostgreSQL prints `rls.network_allows_sql(x)` back in pg_policies.
NEW_FORM = re.compile(
    r"\(app_network_all\(\) OR \((.+?) IN \( SELECT unnest\(app_network_ids\(\)\) AS unnest\)\)\)"
)


def _with_new_form(expression: str) -> str:
    """Each `app_network_allows(arg)` replaced, `arg` read up to its closing parenthesis."""
    while (start := expression.find(OLD_CALL)) >= 0:
        depth, end = 1, start + len(OLD_CALL)
        while depth:
            depth += {"(": 1, ")": -1}.get(expression[end], 0)
            end += 1
        argument = expression[start + len(OLD_CALL):end - 1]
        expression = expression[:start] + rls.network_allows_sql(argument) + expression[end:]
    return expression


def _with_old_form(expression: str) -> str:
    return NEW_FORM.sub(lambda match: f"{OLD_CALL}{match[1]})", expression)


def _rewrite(transform, marker: str) -> None:
    policies = op.get_bind().execute(text(
        "SELECT tablename, policyname, qual, with_check FROM pg_policies"
        " WHERE schemaname = current_schema()"
        " AND (strpos(qual, :marker) > 0 OR strpos(with_check, :marker) > 0)"
    ), {"marker": marker}).all()
    for table, name, using, check in policies:
        clauses = []
        if using is not None:
            clauses.append(f"USING ({transform(using)})")
        if check is not None:
            clauses.append(f"WITH CHECK ({transform(check)})")
        op.execute(f'ALTER POLICY "{name}" ON "{table}" {" ".join(clauses)}')


def upgrade():
    op.execute(rls.NETWORK_FUNCTIONS)
    _rewrite(_with_new_form, OLD_CALL)


def downgrade():
    # The functions stay: the first migration creates them on a fresh database.
    _rewrite(_with_old_form, "app_network_ids()")
