"""reporting: events and governance, annual bilan aggregates, report exports

Revision ID: 0006_reporting
Revises: 0005_distributions
"""

import sqlalchemy as sa
from alembic import op
from flask import current_app

from relais_platform import rls

revision = "0006_reporting"
down_revision = "0005_distributions"
branch_labels = None
depends_on = None

TENANT_TABLES = ("reporting_events",)
# Personal tables the bilan counts (never names) across the relais of a network scope.
AGGREGATED_TABLES = ("beneficiaries", "accompaniment_participants", "parcours_enrolments",
                     "distributions")

# Exports: a relais' own rows once bound; national and coach rows (relais_id NULL) only in
# an unbound session; everything under the '*' scope (the purge job). The service also
# filters on the requester: a national user never reads a coach's file.
EXPORTS_POLICY = """
ALTER TABLE report_exports ENABLE ROW LEVEL SECURITY;
ALTER TABLE report_exports FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON report_exports
  USING (relais_id = app_relais_id() OR app_network_allows(coalesce(relais_id, 0))
         OR (relais_id IS NULL AND app_relais_id() IS NULL))
  WITH CHECK (relais_id = app_relais_id() OR app_network_allows(coalesce(relais_id, 0))
              OR (relais_id IS NULL AND app_relais_id() IS NULL));
"""

# Personal data is never reachable through a network scope, yet the national and coach
# bilans count beneficiaries. This function is the only door: it returns counts only, for
# the relais the caller's scope already allows (bound relais, or the audited network
# scope), and reads the personal tables as the owner through the `bilan_aggregate`
# policies below, which apply to the owner alone (never the app role) and only while
# `app.personal_aggregate` is on — set by this function with set_config() and switched off
# before it returns (an error aborts the transaction, which reverts it too). Not a `SET`
# clause: on PostgreSQL 15+ only a superuser may attach a custom setting to a function,
# and the migrations run as a non-superuser owner (issue 11; 0011 replaces the old version).
# Rows: (metric, year, label, value); label is a sku, category or programme where useful.
BILAN_FUNCTION = """
CREATE OR REPLACE FUNCTION bilan_personal_counts(p_relais_ids bigint[], p_first_year integer,
                                                 p_last_year integer, p_zone text)
RETURNS TABLE (metric text, year integer, label text, value numeric)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public, pg_temp AS $$
#variable_conflict use_column
DECLARE
  v_ids bigint[];
  v_lo date := make_date(p_first_year, 1, 1);
  v_hi date := make_date(p_last_year + 1, 1, 1);
BEGIN
  PERFORM set_config('app.personal_aggregate', 'on', true);
  SELECT coalesce(array_agg(r.id), '{}') INTO v_ids FROM relais r
   WHERE (r.id = app_relais_id() OR app_network_allows(r.id))
     AND (p_relais_ids IS NULL OR r.id = ANY (p_relais_ids));

  -- Distributions (not cancelled): quantities per sku, category and programme; anonymous
  -- distributions (no beneficiary named) per year.
  RETURN QUERY
    SELECT CASE WHEN GROUPING(x.sku) = 0 THEN 'sku'
                WHEN GROUPING(x.category) = 0 THEN 'category'
                WHEN GROUPING(x.programme) = 0 THEN 'programme'
                ELSE 'anonymous_distributions' END,
           x.year, coalesce(x.sku, x.category, x.programme)::text,
           (CASE WHEN GROUPING(x.sku, x.category, x.programme) = 7
                 THEN count(*) FILTER (WHERE x.beneficiary_id IS NULL)
                 ELSE sum(x.quantity) END)::numeric
      FROM (SELECT extract(year FROM d.distributed_on)::integer AS year, p.sku, p.category,
                   d.programme, d.quantity, d.beneficiary_id
              FROM distributions d JOIN products p ON p.id = d.product_id
             WHERE d.relais_id IN (SELECT unnest(v_ids)) AND d.cancelled_at IS NULL
               AND d.distributed_on >= v_lo AND d.distributed_on < v_hi) x
     GROUP BY GROUPING SETS ((x.year, x.sku), (x.year, x.category), (x.year, x.programme),
                             (x.year));

  -- Sessions: hours = Σ duration × (anonymous + named participants).
  RETURN QUERY
    SELECT m.metric, s.year, NULL::text, m.value
      FROM (SELECT extract(year FROM a.held_on)::integer AS year,
                   sum(a.duration_minutes * (a.anonymous_count + coalesce(n.named, 0)))::numeric AS minutes,
                   sum(a.anonymous_count)::numeric AS anonymous,
                   count(*)::numeric AS sessions
              FROM accompaniment_sessions a
              LEFT JOIN (SELECT ap.session_id, count(*) AS named FROM accompaniment_participants ap
                          WHERE ap.relais_id IN (SELECT unnest(v_ids)) GROUP BY ap.session_id) n
                ON n.session_id = a.id
             WHERE a.relais_id IN (SELECT unnest(v_ids))
               AND a.held_on >= v_lo AND a.held_on < v_hi
             GROUP BY 1) s
     CROSS JOIN LATERAL (VALUES ('minutes', s.minutes), ('anonymous_attendances', s.anonymous),
                                ('sessions', s.sessions)) AS m(metric, value);

  -- Named people reached (attended a session or received something), each counted once a year.
  RETURN QUERY
    SELECT 'named', x.year, NULL::text, count(*)::numeric
      FROM (SELECT extract(year FROM a.held_on)::integer AS year, ap.beneficiary_id
              FROM accompaniment_participants ap
              JOIN accompaniment_sessions a ON a.id = ap.session_id
             WHERE ap.relais_id IN (SELECT unnest(v_ids))
               AND a.held_on >= v_lo AND a.held_on < v_hi
            UNION
            SELECT extract(year FROM d.distributed_on)::integer, d.beneficiary_id
              FROM distributions d
             WHERE d.relais_id IN (SELECT unnest(v_ids)) AND d.cancelled_at IS NULL
               AND d.beneficiary_id IS NOT NULL
               AND d.distributed_on >= v_lo AND d.distributed_on < v_hi) x
     GROUP BY x.year;

  RETURN QUERY
    SELECT 'new_beneficiaries', extract(year FROM b.created_at AT TIME ZONE p_zone)::integer,
           NULL::text, count(*)::numeric
      FROM beneficiaries b
     WHERE b.relais_id IN (SELECT unnest(v_ids))
       AND b.created_at >= (v_lo::timestamp AT TIME ZONE p_zone)
       AND b.created_at < (v_hi::timestamp AT TIME ZONE p_zone)
     GROUP BY 2;

  RETURN QUERY
    SELECT 'parcours_completed', extract(year FROM e.completed_on)::integer, NULL::text,
           count(*)::numeric
      FROM parcours_enrolments e
     WHERE e.relais_id IN (SELECT unnest(v_ids))
       AND e.completed_on >= v_lo AND e.completed_on < v_hi
     GROUP BY 2;
  PERFORM set_config('app.personal_aggregate', '', true);
END $$;
"""
BILAN_SIGNATURE = "bilan_personal_counts(bigint[], integer, integer, text)"


def upgrade():
    op.create_table('reporting_events',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.Enum('event', 'governance', name='eventkind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('participants', sa.Integer(), nullable=True),
    sa.Column('body', sa.String(length=200), nullable=True),
    sa.Column('created_by_id', sa.BigInteger(), nullable=True),
    sa.Column('relais_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('participants IS NULL OR participants BETWEEN 0 AND 100000', name=op.f('ck_reporting_events_participants_range')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_reporting_events_created_by_id_users')),
    sa.ForeignKeyConstraint(['relais_id'], ['relais.id'], name=op.f('fk_reporting_events_relais_id_relais')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reporting_events'))
    )
    op.create_index('ix_reporting_events_relais_held_on', 'reporting_events', ['relais_id', 'held_on', 'id'], unique=False)
    op.create_index(op.f('ix_reporting_events_relais_id'), 'reporting_events', ['relais_id'], unique=False)
    op.create_table('report_exports',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('requested_by_id', sa.BigInteger(), nullable=False),
    sa.Column('relais_id', sa.BigInteger(), nullable=True),
    sa.Column('year', sa.SmallInteger(), nullable=False),
    sa.Column('format', sa.String(length=8), nullable=False),
    sa.Column('scope', sa.dialects.postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('status', sa.Enum('queued', 'running', 'finished', 'failed', name='exportstatus', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('progress', sa.SmallInteger(), server_default='0', nullable=False),
    sa.Column('job_id', sa.String(length=64), nullable=True),
    sa.Column('filename', sa.String(length=200), nullable=True),
    sa.Column('mimetype', sa.String(length=120), nullable=True),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("format IN ('pdf', 'xlsx', 'csv')", name=op.f('ck_report_exports_known_format')),
    sa.CheckConstraint('progress BETWEEN 0 AND 100', name=op.f('ck_report_exports_progress_range')),
    sa.ForeignKeyConstraint(['relais_id'], ['relais.id'], name=op.f('fk_report_exports_relais_id_relais')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_report_exports_requested_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_exports'))
    )
    op.create_index('ix_report_exports_created_at', 'report_exports', ['created_at'], unique=False)
    op.create_index(op.f('ix_report_exports_relais_id'), 'report_exports', ['relais_id'], unique=False)
    op.create_index(op.f('ix_report_exports_requested_by_id'), 'report_exports', ['requested_by_id'], unique=False)
    for table in TENANT_TABLES:
        op.execute(rls.tenant_table_sql(table))
    op.execute(EXPORTS_POLICY)
    for table in AGGREGATED_TABLES:
        op.execute(f"CREATE POLICY bilan_aggregate ON {table} FOR SELECT TO CURRENT_USER"
                   f" USING (current_setting('app.personal_aggregate', true) = 'on');")
    op.execute(BILAN_FUNCTION)
    role = current_app.config["APP_DB_ROLE"]
    op.execute(f"REVOKE ALL ON FUNCTION {BILAN_SIGNATURE} FROM PUBLIC")
    op.execute(f'GRANT EXECUTE ON FUNCTION {BILAN_SIGNATURE} TO "{role}"')


def downgrade():
    op.execute(f"DROP FUNCTION IF EXISTS {BILAN_SIGNATURE}")
    for table in AGGREGATED_TABLES:
        op.execute(f"DROP POLICY IF EXISTS bilan_aggregate ON {table};")
    op.execute(rls.drop_policy_sql("report_exports"))
    for table in TENANT_TABLES:
        op.execute(rls.drop_policy_sql(table))
    op.drop_index(op.f('ix_report_exports_requested_by_id'), table_name='report_exports')
    op.drop_index(op.f('ix_report_exports_relais_id'), table_name='report_exports')
    op.drop_index('ix_report_exports_created_at', table_name='report_exports')
    op.drop_table('report_exports')
    op.drop_index(op.f('ix_reporting_events_relais_id'), table_name='reporting_events')
    op.drop_index('ix_reporting_events_relais_held_on', table_name='reporting_events')
    op.drop_table('reporting_events')
