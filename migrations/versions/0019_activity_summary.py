"""performance: summaries kept up to date by triggers (first and last events, monthly distributions)

Revision ID: 0019_activity_summary
Revises: 0018_warehouse_ops

The onboarding milestones (first of each kind) and the last activity of a relais were
computed at each request from millions of facts; they are read here from one row per relais
and kind. Statement-level triggers with transition tables fold each INSERT or UPDATE of the
facts into the summary in the same transaction (one upsert per statement, however many rows),
so the figures stay exact. `flask --app wsgi training verify-activity` rebuilds them from the
facts and reports any drift.

`relais_monthly_distributions` holds the units each relais handed out (net of cancellations) per
product and month of the platform's time zone (Europe/Paris), folded from the relais ledger as
it is appended to; the dashboards read it instead of the ledger's millions of rows, and
`flask --app wsgi stock verify` checks it against the ledger.
"""

import sqlalchemy as sa
from alembic import op
from flask import current_app

from relais_platform.rls import tenant_table_sql

revision = "0019_activity_summary"
down_revision = "0018_warehouse_ops"
branch_labels = None
depends_on = None

# (trigger name suffix, table, events, kind, relais column, time column, row condition)
SOURCES = [
    ("terms", "relais", ("INSERT", "UPDATE"), "terms_accepted", "id", "terms_accepted_at", "true"),
    ("trained", "training_records", ("INSERT",), "staff_trained", "relais_id", "completed_at", "true"),
    ("created", "orders", ("INSERT",), "order_created", "relais_id", "created_at", "true"),
    ("submitted", "orders", ("INSERT", "UPDATE"), "order_submitted", "relais_id", "submitted_at", "true"),
    ("received", "orders", ("INSERT", "UPDATE"), "goods_received", "relais_id", "received_at", "true"),
    ("moved", "relais_stock_movements", ("INSERT",), "stock_movement", "relais_id", "occurred_at", "true"),
    ("distributed", "relais_stock_movements", ("INSERT",), "distribution", "relais_id", "occurred_at",
     "kind = 'distribution'"),
    ("login", "users", ("INSERT", "UPDATE"), "staff_login", "relais_id", "last_login_at", "true"),
    ("enrolled", "training_enrolments", ("INSERT",), "training_enrolment", "relais_id", "created_at", "true"),
    ("reported", "stock_reports", ("INSERT", "UPDATE"), "monthly_report", "relais_id", "submitted_at", "true"),
    ("accompanied", "accompaniment_sessions", ("INSERT",), "accompaniment", "relais_id", "created_at",
     "deleted_at IS NULL"),
]

# A deleted session (0013) counts nowhere, the first accompaniment included: when sessions are
# updated, their relais' accompaniment row is recomputed from the sessions still standing.
ACCOMPANIMENT_FUNCTION = """
CREATE FUNCTION resummarise_accompaniment() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  DELETE FROM relais_event_summary s
   WHERE s.kind = 'accompaniment' AND s.relais_id IN (SELECT relais_id FROM new_rows);
  INSERT INTO relais_event_summary (relais_id, kind, first_at, last_at)
  SELECT a.relais_id, 'accompaniment', min(a.created_at), max(a.created_at)
    FROM accompaniment_sessions a
   WHERE a.relais_id IN (SELECT relais_id FROM new_rows) AND a.deleted_at IS NULL
   GROUP BY a.relais_id;
  RETURN NULL;
END $$;
CREATE TRIGGER accompaniment_sessions_summary_update AFTER UPDATE ON accompaniment_sessions
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION resummarise_accompaniment();
"""

FUNCTION = """
CREATE FUNCTION summarise_relais_events() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  -- TG_ARGV: kind, relais column, time column, row condition (trusted: set by the migration).
  EXECUTE format(
    'INSERT INTO relais_event_summary AS s (relais_id, kind, first_at, last_at) '
    'SELECT %1$I, %2$L, min(%3$I), max(%3$I) FROM new_rows '
    'WHERE %1$I IS NOT NULL AND %3$I IS NOT NULL AND (%4$s) GROUP BY %1$I '
    'ON CONFLICT (relais_id, kind) DO UPDATE SET first_at = least(s.first_at, excluded.first_at), '
    'last_at = greatest(s.last_at, excluded.last_at)',
    TG_ARGV[1], TG_ARGV[0], TG_ARGV[2], TG_ARGV[3]);
  RETURN NULL;
END $$;
"""


MONTHLY_FUNCTION = """
CREATE FUNCTION summarise_monthly_distributions() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  INSERT INTO relais_monthly_distributions AS s (relais_id, product_id, month, units)
  SELECT relais_id, product_id, date_trunc('month', occurred_at AT TIME ZONE 'Europe/Paris')::date,
         -sum(quantity_delta)
  FROM new_rows WHERE kind IN ('distribution', 'distribution_cancelled')
  GROUP BY 1, 2, 3
  ON CONFLICT (relais_id, product_id, month) DO UPDATE SET units = s.units + excluded.units;
  RETURN NULL;
END $$;
CREATE TRIGGER relais_stock_movements_monthly AFTER INSERT ON relais_stock_movements
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION summarise_monthly_distributions();
"""


def _triggers() -> list[str]:
    statements = []
    for suffix, table, events, kind, relais_column, at_column, condition in SOURCES:
        for event in events:
            name = f"{table}_summary_{suffix}_{event.lower()}"
            args = ", ".join(f"'{value}'" for value in (kind, relais_column, at_column,
                                                         condition.replace("'", "''")))
            statements.append(
                f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING NEW TABLE AS new_rows "
                f"FOR EACH STATEMENT EXECUTE FUNCTION summarise_relais_events({args})"
            )
    return statements


def upgrade():
    op.create_table(
        "relais_event_summary",
        sa.Column("relais_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["relais_id"], ["relais.id"],
                                name=op.f("fk_relais_event_summary_relais_id_relais")),
        sa.PrimaryKeyConstraint("relais_id", "kind", name=op.f("pk_relais_event_summary")),
    )
    op.create_index(op.f("ix_relais_event_summary_relais_id"), "relais_event_summary", ["relais_id"])
    op.execute(tenant_table_sql("relais_event_summary"))
    # Written by the triggers alone, which run as the owner whatever scope the writer has (a
    # sign-in updates its user before any relais is bound); the app role reads it under RLS.
    op.execute("CREATE POLICY summary_maintenance ON relais_event_summary TO CURRENT_USER "
               "USING (true) WITH CHECK (true)")
    role = current_app.config["APP_DB_ROLE"]
    op.execute(f'REVOKE INSERT, UPDATE, DELETE ON relais_event_summary FROM "{role}"')
    op.execute(FUNCTION)
    for statement in _triggers():
        op.execute(statement)
    op.execute(ACCOMPANIMENT_FUNCTION)
    op.create_table(
        "relais_monthly_distributions",
        sa.Column("relais_id", sa.BigInteger(), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["relais_id"], ["relais.id"],
                                name=op.f("fk_relais_monthly_distributions_relais_id_relais")),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"],
                                name=op.f("fk_relais_monthly_distributions_product_id_products")),
        sa.PrimaryKeyConstraint("relais_id", "product_id", "month", name=op.f("pk_relais_monthly_distributions")),
    )
    op.create_index(op.f("ix_relais_monthly_distributions_relais_id"), "relais_monthly_distributions",
                    ["relais_id"])
    op.create_index("ix_relais_monthly_distributions_month", "relais_monthly_distributions", ["month"])
    op.execute(tenant_table_sql("relais_monthly_distributions"))
    op.execute("CREATE POLICY summary_maintenance ON relais_monthly_distributions TO CURRENT_USER "
               "USING (true) WITH CHECK (true)")
    op.execute(f'REVOKE INSERT, UPDATE, DELETE ON relais_monthly_distributions FROM "{role}"')
    op.execute(MONTHLY_FUNCTION)
    # What happened before this migration, from the facts (the owner sees every relais).
    op.execute("SELECT set_config('app.relais_ids', '*', true)")
    op.execute(
        "INSERT INTO relais_monthly_distributions (relais_id, product_id, month, units) "
        "SELECT relais_id, product_id, date_trunc('month', occurred_at AT TIME ZONE 'Europe/Paris')::date, "
        "-sum(quantity_delta) FROM relais_stock_movements "
        "WHERE kind IN ('distribution', 'distribution_cancelled') GROUP BY 1, 2, 3"
    )
    for _suffix, table, _events, kind, relais_column, at_column, condition in SOURCES:
        op.execute(
            f"INSERT INTO relais_event_summary AS s (relais_id, kind, first_at, last_at) "
            f"SELECT {relais_column}, '{kind}', min({at_column}), max({at_column}) FROM {table} "
            f"WHERE {relais_column} IS NOT NULL AND {at_column} IS NOT NULL AND ({condition}) "
            f"GROUP BY {relais_column}"
        )


def downgrade():
    op.execute("DROP TRIGGER IF EXISTS accompaniment_sessions_summary_update ON accompaniment_sessions")
    op.execute("DROP FUNCTION IF EXISTS resummarise_accompaniment()")
    op.execute("DROP TRIGGER IF EXISTS relais_stock_movements_monthly ON relais_stock_movements")
    op.execute("DROP FUNCTION IF EXISTS summarise_monthly_distributions()")
    op.drop_index("ix_relais_monthly_distributions_month", table_name="relais_monthly_distributions")
    op.drop_index(op.f("ix_relais_monthly_distributions_relais_id"), table_name="relais_monthly_distributions")
    op.drop_table("relais_monthly_distributions")
    for suffix, table, events, _kind, _relais, _at, _condition in SOURCES:
        for event in events:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_summary_{suffix}_{event.lower()} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS summarise_relais_events()")
    op.drop_index(op.f("ix_relais_event_summary_relais_id"), table_name="relais_event_summary")
    op.drop_table("relais_event_summary")
