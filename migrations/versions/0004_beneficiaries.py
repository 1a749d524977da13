"""beneficiaries and accompaniment

Revision ID: 0004_beneficiaries
Revises: 0003_training
"""

import sqlalchemy as sa
from alembic import op
from flask import current_app
from sqlalchemy.dialects import postgresql

from relais_platform import rls

revision = "0004_beneficiaries"
down_revision = "0003_training"
branch_labels = None
depends_on = None

PERSONAL_TABLES = ("beneficiaries", "beneficiary_diagnostics", "parcours_enrolments",
                   "accompaniment_participants")
# Sessions and parcours carry no name: coaches and the national team may count them.
TENANT_TABLES = ("parcours", "accompaniment_sessions")

# unaccent() is only STABLE (its dictionary could change), so it cannot be indexed; this
# wrapper pins the dictionary and is declared IMMUTABLE, the usual pattern.
F_UNACCENT = """
CREATE OR REPLACE FUNCTION f_unaccent(text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS
$$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$;
"""

# Row-level security keeps PostgreSQL from using an index for a condition whose operator is
# not LEAKPROOF (pg_trgm's are not): under a policy, a trigram search would read the whole
# relais. These functions run as the schema owner and filter on the bound relais
# themselves, so the GIN index serves the search; an owner without BYPASSRLS stays subject
# to the policy, which keeps the results right (only slower).
SEARCH_FUNCTIONS = """
CREATE OR REPLACE FUNCTION beneficiary_search_ids(q text) RETURNS SETOF bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$$ SELECT id FROM beneficiaries
   WHERE relais_id = app_relais_id() AND anonymised_at IS NULL
     AND f_unaccent(lower((first_name || ' ') || last_name)) %> f_unaccent(lower(q)) $$;

CREATE OR REPLACE FUNCTION beneficiary_similar_ids(full_name text) RETURNS SETOF bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$$ SELECT id FROM beneficiaries
   WHERE relais_id = app_relais_id() AND anonymised_at IS NULL
     AND f_unaccent(lower((first_name || ' ') || last_name)) % f_unaccent(lower(full_name)) $$;
"""
SEARCH_SIGNATURES = ("beneficiary_search_ids(text)", "beneficiary_similar_ids(text)")


def upgrade():
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
    op.execute(F_UNACCENT)
    op.create_table('beneficiaries',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('birth_year', sa.SmallInteger(), nullable=True),
    sa.Column('phone', sa.String(length=30), nullable=True),
    sa.Column('no_phone', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('language', sa.Enum('fr', 'en', 'ar', 'uk', 'ru', 'ps', 'prs', 'fa', 'ti', 'so', 'es', 'pt', 'ro', 'tr', 'ka', 'sq', 'bn', 'other', name='language', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('situation', sa.Enum('job_seeker', 'employed', 'student', 'retired', 'inactive', name='situation', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('housing', sa.Enum('housed', 'hosted', 'emergency_shelter', 'homeless', 'other', name='housing', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('banked', sa.Enum('yes', 'no', 'unknown', name='banked', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('nationality', sa.Enum('france', 'eu', 'outside_eu', name='nationality', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('referrer', sa.String(length=200), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('consent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('relais_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('anonymised_at IS NOT NULL OR (phone IS NOT NULL) <> no_phone', name=op.f('ck_beneficiaries_phone_xor_no_phone')),
    sa.CheckConstraint('birth_year BETWEEN 1900 AND 2100', name=op.f('ck_beneficiaries_birth_year_is_a_year')),
    sa.ForeignKeyConstraint(['relais_id'], ['relais.id'], name=op.f('fk_beneficiaries_relais_id_relais')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_beneficiaries'))
    )
    op.create_index('ix_beneficiaries_name_trgm', 'beneficiaries', [sa.literal_column("f_unaccent(lower((first_name || ' ') || last_name))").label('name_key')], unique=False, postgresql_using='gin', postgresql_ops={'name_key': 'gin_trgm_ops'})
    op.create_index(op.f('ix_beneficiaries_relais_id'), 'beneficiaries', ['relais_id'], unique=False)
    op.create_index('ix_beneficiaries_relais_last_seen', 'beneficiaries', ['relais_id', 'last_seen_at'], unique=False)
    op.create_index('ix_beneficiaries_relais_name', 'beneficiaries', ['relais_id', 'last_name', 'first_name', 'id'], unique=False)
    op.create_table('parcours',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.Enum('initiation', 'permanence', 'atelier_thematique', 'parcours_sur_mesure', name='sessionkind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('sessions_required', sa.Integer(), nullable=False),
    sa.Column('relais_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('sessions_required BETWEEN 1 AND 100', name=op.f('ck_parcours_sessions_required_range')),
    sa.ForeignKeyConstraint(['relais_id'], ['relais.id'], name=op.f('fk_parcours_relais_id_relais')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parcours')),
    sa.UniqueConstraint('relais_id', 'name', name=op.f('uq_parcours_relais_id_name'))
    )
    op.create_index(op.f('ix_parcours_relais_id'), 'parcours', ['relais_id'], unique=False)
    op.create_table('accompaniment_sessions',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.Enum('initiation', 'permanence', 'atelier_thematique', 'parcours_sur_mesure', name='sessionkind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('theme', sa.Enum('health', 'employment', 'security', 'administration', 'shopping', 'communication', 'other', name='theme', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('anonymous_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('parcours_id', sa.BigInteger(), nullable=True),
    sa.Column('recorded_by_id', sa.BigInteger(), nullable=True),
    sa.Column('relais_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('anonymous_count >= 0', name=op.f('ck_accompaniment_sessions_anonymous_count_non_negative')),
    sa.CheckConstraint('duration_minutes BETWEEN 1 AND 1440', name=op.f('ck_accompaniment_sessions_duration_range')),
    sa.ForeignKeyConstraint(['parcours_id'], ['parcours.id'], name=op.f('fk_accompaniment_sessions_parcours_id_parcours')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_accompaniment_sessions_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['relais_id'], ['relais.id'], name=op.f('fk_accompaniment_sessions_relais_id_relais')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accompaniment_sessions'))
    )
    op.create_index(op.f('ix_accompaniment_sessions_parcours_id'), 'accompaniment_sessions', ['parcours_id'], unique=False)
    op.create_index('ix_accompaniment_sessions_relais_held_on', 'accompaniment_sessions', ['relais_id', 'held_on'], unique=False)
    op.create_index(op.f('ix_accompaniment_sessions_relais_id'), 'accompaniment_sessions', ['relais_id'], unique=False)
    op.create_table('beneficiary_diagnostics',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('beneficiary_id', sa.BigInteger(), nullable=False),
    sa.Column('level', sa.Enum('beginner', 'intermediate', 'advanced', name='level', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('needs', postgresql.ARRAY(sa.String(length=32)), server_default='{}', nullable=False),
    sa.Column('assessed_on', sa.Date(), nullable=False),
    sa.Column('recorded_by_id', sa.BigInteger(), nullable=True),
    sa.Column('relais_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['beneficiary_id'], ['beneficiaries.id'], name=op.f('fk_beneficiary_diagnostics_beneficiary_id_beneficiaries')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_beneficiary_diagnostics_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['relais_id'], ['relais.id'], name=op.f('fk_beneficiary_diagnostics_relais_id_relais')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_beneficiary_diagnostics'))
    )
    op.create_index(op.f('ix_beneficiary_diagnostics_beneficiary_id'), 'beneficiary_diagnostics', ['beneficiary_id'], unique=False)
    op.create_index(op.f('ix_beneficiary_diagnostics_relais_id'), 'beneficiary_diagnostics', ['relais_id'], unique=False)
    op.create_table('parcours_enrolments',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('parcours_id', sa.BigInteger(), nullable=False),
    sa.Column('beneficiary_id', sa.BigInteger(), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('completed_on', sa.Date(), nullable=True),
    sa.Column('relais_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['beneficiary_id'], ['beneficiaries.id'], name=op.f('fk_parcours_enrolments_beneficiary_id_beneficiaries')),
    sa.ForeignKeyConstraint(['parcours_id'], ['parcours.id'], name=op.f('fk_parcours_enrolments_parcours_id_parcours')),
    sa.ForeignKeyConstraint(['relais_id'], ['relais.id'], name=op.f('fk_parcours_enrolments_relais_id_relais')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parcours_enrolments')),
    sa.UniqueConstraint('relais_id', 'parcours_id', 'beneficiary_id', name=op.f('uq_parcours_enrolments_relais_id_parcours_id_beneficiary_id'))
    )
    op.create_index(op.f('ix_parcours_enrolments_beneficiary_id'), 'parcours_enrolments', ['beneficiary_id'], unique=False)
    op.create_index(op.f('ix_parcours_enrolments_relais_id'), 'parcours_enrolments', ['relais_id'], unique=False)
    op.create_table('accompaniment_participants',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('session_id', sa.BigInteger(), nullable=False),
    sa.Column('beneficiary_id', sa.BigInteger(), nullable=False),
    sa.Column('relais_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['beneficiary_id'], ['beneficiaries.id'], name=op.f('fk_accompaniment_participants_beneficiary_id_beneficiaries')),
    sa.ForeignKeyConstraint(['relais_id'], ['relais.id'], name=op.f('fk_accompaniment_participants_relais_id_relais')),
    sa.ForeignKeyConstraint(['session_id'], ['accompaniment_sessions.id'], name=op.f('fk_accompaniment_participants_session_id_accompaniment_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accompaniment_participants')),
    sa.UniqueConstraint('relais_id', 'session_id', 'beneficiary_id', name=op.f('uq_accompaniment_participants_relais_id_session_id_beneficiary_id'))
    )
    op.create_index(op.f('ix_accompaniment_participants_beneficiary_id'), 'accompaniment_participants', ['beneficiary_id'], unique=False)
    op.create_index(op.f('ix_accompaniment_participants_relais_id'), 'accompaniment_participants', ['relais_id'], unique=False)
    for table in PERSONAL_TABLES:
        op.execute(rls.tenant_table_sql(table, personal=True))
    for table in TENANT_TABLES:
        op.execute(rls.tenant_table_sql(table))
    op.execute(SEARCH_FUNCTIONS)
    role = current_app.config["APP_DB_ROLE"]
    for signature in SEARCH_SIGNATURES:
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f'GRANT EXECUTE ON FUNCTION {signature} TO "{role}"')


def downgrade():
    for signature in SEARCH_SIGNATURES:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    for table in PERSONAL_TABLES + TENANT_TABLES:
        op.execute(rls.drop_policy_sql(table))
    op.drop_index(op.f('ix_accompaniment_participants_relais_id'), table_name='accompaniment_participants')
    op.drop_index(op.f('ix_accompaniment_participants_beneficiary_id'), table_name='accompaniment_participants')
    op.drop_table('accompaniment_participants')
    op.drop_index(op.f('ix_parcours_enrolments_relais_id'), table_name='parcours_enrolments')
    op.drop_index(op.f('ix_parcours_enrolments_beneficiary_id'), table_name='parcours_enrolments')
    op.drop_table('parcours_enrolments')
    op.drop_index(op.f('ix_beneficiary_diagnostics_relais_id'), table_name='beneficiary_diagnostics')
    op.drop_index(op.f('ix_beneficiary_diagnostics_beneficiary_id'), table_name='beneficiary_diagnostics')
    op.drop_table('beneficiary_diagnostics')
    op.drop_index(op.f('ix_accompaniment_sessions_relais_id'), table_name='accompaniment_sessions')
    op.drop_index('ix_accompaniment_sessions_relais_held_on', table_name='accompaniment_sessions')
    op.drop_index(op.f('ix_accompaniment_sessions_parcours_id'), table_name='accompaniment_sessions')
    op.drop_table('accompaniment_sessions')
    op.drop_index(op.f('ix_parcours_relais_id'), table_name='parcours')
    op.drop_table('parcours')
    op.drop_index('ix_beneficiaries_relais_name', table_name='beneficiaries')
    op.drop_index('ix_beneficiaries_relais_last_seen', table_name='beneficiaries')
    op.drop_index(op.f('ix_beneficiaries_relais_id'), table_name='beneficiaries')
    op.drop_index('ix_beneficiaries_name_trgm', table_name='beneficiaries', postgresql_using='gin', postgresql_ops={'name_key': 'gin_trgm_ops'})
    op.drop_table('beneficiaries')
    op.execute("DROP FUNCTION IF EXISTS f_unaccent(text)")
    op.execute("DROP EXTENSION IF EXISTS pg_trgm")
    op.execute("DROP EXTENSION IF EXISTS unaccent")
