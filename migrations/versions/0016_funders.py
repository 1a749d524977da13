"""funders, conventions (agreements with targets), earmarked stock; activity report counts

Revision ID: 0016_funders
Revises: 0015_imports
"""

import sqlalchemy as sa
from alembic import op
from flask import current_app
from sqlalchemy.dialects import postgresql

from relais_platform import rls

revision = "0016_funders"
down_revision = "0015_imports"
branch_labels = None
depends_on = None

NATIONAL_TABLES = ("funders", "conventions", "earmark_movements")

# The activity report's door to personal data, built like `bilan_personal_counts` (0006):
# counts only, for the relais the caller's scope allows, over any period [p_from, p_to].
# It reads the personal tables through the owner-only `bilan_aggregate` policies, which
# it turns on with set_config() for its own run (migration 0011). Rows: (metric, label, value). People breakdowns (only when
# p_breakdowns: the previous period needs totals alone) count the named people reached in the
# period, each once; session breakdowns count sessions. Plans are made for each call's own
# period and relais (force_custom_plan): after five calls on a connection, PL/pgSQL would
# otherwise settle on a generic plan blind to how many rows a period holds.
ACTIVITY_FUNCTION = """
CREATE OR REPLACE FUNCTION activity_personal_counts(p_relais_ids bigint[], p_from date,
                                                    p_to date, p_zone text, p_breakdowns boolean)
RETURNS TABLE (metric text, label text, value numeric)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
SET plan_cache_mode = 'force_custom_plan' AS $$
#variable_conflict use_column
DECLARE
  v_ids bigint[];
  v_hi date := p_to + 1;
  v_year integer := extract(year FROM p_to)::integer;
BEGIN
  PERFORM set_config('app.personal_aggregate', 'on', true);
  SELECT coalesce(array_agg(r.id), '{}') INTO v_ids FROM relais r
   WHERE (r.id = app_relais_id() OR app_network_allows(r.id))
     AND (p_relais_ids IS NULL OR r.id = ANY (p_relais_ids));

  RETURN QUERY
    SELECT CASE WHEN GROUPING(x.sku) = 0 THEN 'sku'
                WHEN GROUPING(x.programme) = 0 THEN 'programme'
                ELSE 'anonymous_distributions' END,
           coalesce(x.sku, x.programme)::text,
           (CASE WHEN GROUPING(x.sku, x.programme) = 3
                 THEN count(*) FILTER (WHERE x.beneficiary_id IS NULL)
                 ELSE sum(x.quantity) END)::numeric
      FROM (SELECT p.sku, d.programme, d.quantity, d.beneficiary_id
              FROM distributions d JOIN products p ON p.id = d.product_id
             WHERE d.relais_id IN (SELECT unnest(v_ids)) AND d.cancelled_at IS NULL
               AND d.distributed_on >= p_from AND d.distributed_on < v_hi) x
     GROUP BY GROUPING SETS ((x.sku), (x.programme), ());

  RETURN QUERY
    SELECT CASE WHEN GROUPING(s.kind) = 0 THEN 'session_kind'
                WHEN GROUPING(s.theme) = 0 THEN 'theme' ELSE 'sessions' END,
           coalesce(s.kind, s.theme)::text, count(*)::numeric
      FROM (SELECT a.kind, coalesce(a.theme, 'none') AS theme FROM accompaniment_sessions a
             WHERE a.relais_id IN (SELECT unnest(v_ids)) AND a.held_on >= p_from AND a.held_on < v_hi
               AND a.deleted_at IS NULL) s
     GROUP BY GROUPING SETS ((s.kind), (s.theme), ());

  RETURN QUERY
    SELECT m.metric, NULL::text, m.value
      FROM (SELECT sum(a.duration_minutes * (a.anonymous_count + coalesce(n.named, 0)))::numeric AS minutes,
                   sum(a.anonymous_count)::numeric AS anonymous
              FROM accompaniment_sessions a
              LEFT JOIN (SELECT ap.session_id, count(*) AS named FROM accompaniment_participants ap
                          WHERE ap.relais_id IN (SELECT unnest(v_ids)) GROUP BY ap.session_id) n
                ON n.session_id = a.id
             WHERE a.relais_id IN (SELECT unnest(v_ids)) AND a.held_on >= p_from AND a.held_on < v_hi
               AND a.deleted_at IS NULL) s
     CROSS JOIN LATERAL (VALUES ('minutes', s.minutes), ('anonymous_attendances', s.anonymous)) AS m(metric, value)
     WHERE m.value IS NOT NULL;

  -- Named people reached, each once; with p_breakdowns, described by their coarse categories.
  IF NOT p_breakdowns THEN
    RETURN QUERY
      SELECT 'named', NULL::text, count(*)::numeric
        FROM (SELECT ap.beneficiary_id
                FROM accompaniment_participants ap
                JOIN accompaniment_sessions a ON a.id = ap.session_id
               WHERE ap.relais_id IN (SELECT unnest(v_ids)) AND a.held_on >= p_from AND a.held_on < v_hi
               AND a.deleted_at IS NULL
              UNION
              SELECT d.beneficiary_id FROM distributions d
               WHERE d.relais_id IN (SELECT unnest(v_ids)) AND d.cancelled_at IS NULL
                 AND d.beneficiary_id IS NOT NULL
                 AND d.distributed_on >= p_from AND d.distributed_on < v_hi) reached;
  ELSE
  RETURN QUERY
    SELECT CASE WHEN GROUPING(y.situation) = 0 THEN 'situation'
                WHEN GROUPING(y.age_band) = 0 THEN 'age_band'
                WHEN GROUPING(y.housing) = 0 THEN 'housing'
                WHEN GROUPING(y.banked) = 0 THEN 'banked'
                WHEN GROUPING(y.nationality) = 0 THEN 'nationality'
                WHEN GROUPING(y.language) = 0 THEN 'language'
                WHEN GROUPING(y.departement) = 0 THEN 'departement'
                WHEN GROUPING(y.referrer_kind) = 0 THEN 'referrer_kind'
                ELSE 'named' END,
           coalesce(y.situation, y.age_band, y.housing, y.banked, y.nationality, y.language,
                    y.departement, y.referrer_kind)::text,
           count(*)::numeric
      FROM (SELECT coalesce(b.situation, 'unknown') AS situation,
                   CASE WHEN b.birth_year IS NULL THEN 'unknown'
                        WHEN v_year - b.birth_year < 25 THEN 'under_25'
                        WHEN v_year - b.birth_year < 45 THEN '25_44'
                        WHEN v_year - b.birth_year < 65 THEN '45_64'
                        ELSE '65_plus' END AS age_band,
                   coalesce(b.housing, 'unknown') AS housing,
                   coalesce(b.banked, 'unknown') AS banked,
                   coalesce(b.nationality, 'unknown') AS nationality,
                   coalesce(b.language, 'unknown') AS language,
                   r.departement, coalesce(rf.kind, 'none') AS referrer_kind
              FROM (SELECT ap.beneficiary_id
                      FROM accompaniment_participants ap
                      JOIN accompaniment_sessions a ON a.id = ap.session_id
                     WHERE ap.relais_id IN (SELECT unnest(v_ids)) AND a.held_on >= p_from AND a.held_on < v_hi
               AND a.deleted_at IS NULL
                    UNION
                    SELECT d.beneficiary_id FROM distributions d
                     WHERE d.relais_id IN (SELECT unnest(v_ids)) AND d.cancelled_at IS NULL
                       AND d.beneficiary_id IS NOT NULL
                       AND d.distributed_on >= p_from AND d.distributed_on < v_hi) reached
              JOIN beneficiaries b ON b.id = reached.beneficiary_id
              JOIN relais r ON r.id = b.relais_id
              LEFT JOIN referrers rf ON rf.id = b.referrer_id) y
     GROUP BY GROUPING SETS ((y.situation), (y.age_band), (y.housing), (y.banked), (y.nationality),
                             (y.language), (y.departement), (y.referrer_kind), ());
  END IF;

  RETURN QUERY
    SELECT 'new_beneficiaries', NULL::text, count(*)::numeric
      FROM beneficiaries b
     WHERE b.relais_id IN (SELECT unnest(v_ids))
       AND b.created_at >= (p_from::timestamp AT TIME ZONE p_zone)
       AND b.created_at < (v_hi::timestamp AT TIME ZONE p_zone);

  RETURN QUERY
    SELECT 'parcours_completed', NULL::text, count(*)::numeric
      FROM parcours_enrolments e
     WHERE e.relais_id IN (SELECT unnest(v_ids)) AND e.completed_on >= p_from AND e.completed_on < v_hi;
  PERFORM set_config('app.personal_aggregate', '', true);
END $$;
"""
ACTIVITY_SIGNATURE = "activity_personal_counts(bigint[], date, date, text, boolean)"
# The bilan's function (0006) suffers the same generic plans after five calls: same cure.
BILAN_SIGNATURE = "bilan_personal_counts(bigint[], integer, integer, text)"


def upgrade():
    op.create_table('funders',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.Enum('public', 'company', 'foundation', 'other', name='funderkind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_funders')),
    sa.UniqueConstraint('name', name=op.f('uq_funders_name'))
    )
    op.create_table('conventions',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('funder_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('relais_ids', postgresql.ARRAY(sa.BigInteger()), nullable=True),
    sa.Column('departements', postgresql.ARRAY(sa.String(length=3)), nullable=True),
    sa.Column('targets', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_by_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_conventions_period_order')),
    sa.CheckConstraint('relais_ids IS NULL OR departements IS NULL', name=op.f('ck_conventions_one_scope')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_conventions_created_by_id_users')),
    sa.ForeignKeyConstraint(['funder_id'], ['funders.id'], name=op.f('fk_conventions_funder_id_funders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conventions'))
    )
    op.create_index(op.f('ix_conventions_funder_id'), 'conventions', ['funder_id'], unique=False)
    op.create_table('earmark_movements',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('convention_id', sa.BigInteger(), nullable=False),
    sa.Column('product_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.Enum('receipt', 'allocation', 'release', name='earmarkkind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('order_line_id', sa.BigInteger(), nullable=True),
    sa.Column('relais_id', sa.BigInteger(), nullable=True),
    sa.Column('actor_id', sa.BigInteger(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('quantity <> 0', name=op.f('ck_earmark_movements_non_zero')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_earmark_movements_actor_id_users')),
    sa.ForeignKeyConstraint(['convention_id'], ['conventions.id'], name=op.f('fk_earmark_movements_convention_id_conventions')),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_lines.id'], name=op.f('fk_earmark_movements_order_line_id_order_lines')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_earmark_movements_product_id_products')),
    sa.ForeignKeyConstraint(['relais_id'], ['relais.id'], name=op.f('fk_earmark_movements_relais_id_relais')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_earmark_movements'))
    )
    op.create_index(op.f('ix_earmark_movements_convention_id'), 'earmark_movements', ['convention_id'], unique=False)
    op.create_index(op.f('ix_earmark_movements_order_line_id'), 'earmark_movements', ['order_line_id'], unique=False)
    op.create_index(op.f('ix_earmark_movements_product_id'), 'earmark_movements', ['product_id'], unique=False)
    op.create_index(op.f('ix_earmark_movements_relais_id'), 'earmark_movements', ['relais_id'], unique=False)
    # Readable by every signed-in role (the services decide which agreement one sees; no
    # personal data here), written only under the national scope.
    for table in NATIONAL_TABLES:
        op.execute(rls.national_only_sql(table, readable_by_all=True))
    op.execute(rls.append_only_sql("earmark_movements"))
    op.execute(ACTIVITY_FUNCTION)
    role = current_app.config["APP_DB_ROLE"]
    op.execute(f"REVOKE ALL ON FUNCTION {ACTIVITY_SIGNATURE} FROM PUBLIC")
    op.execute(f'GRANT EXECUTE ON FUNCTION {ACTIVITY_SIGNATURE} TO "{role}"')
    op.execute(f"ALTER FUNCTION {BILAN_SIGNATURE} SET plan_cache_mode = 'force_custom_plan'")


def downgrade():
    op.execute(f"ALTER FUNCTION {BILAN_SIGNATURE} RESET plan_cache_mode")
    op.execute(f"DROP FUNCTION IF EXISTS {ACTIVITY_SIGNATURE}")
    op.execute(rls.drop_append_only_sql("earmark_movements"))
    for table in NATIONAL_TABLES:
        op.execute(rls.drop_policies_sql(table, ("national_read", "national_insert", "national_update",
                                                 "national_delete")))
    op.drop_index(op.f('ix_earmark_movements_product_id'), table_name='earmark_movements')
    op.drop_index(op.f('ix_earmark_movements_relais_id'), table_name='earmark_movements')
    op.drop_index(op.f('ix_earmark_movements_order_line_id'), table_name='earmark_movements')
    op.drop_index(op.f('ix_earmark_movements_convention_id'), table_name='earmark_movements')
    op.drop_table('earmark_movements')
    op.drop_index(op.f('ix_conventions_funder_id'), table_name='conventions')
    op.drop_table('conventions')
    op.drop_table('funders')
