"""training and coaching

Revision ID: 0003_training
Revises: 0002_stock
"""

import sqlalchemy as sa
from alembic import op
from flask import current_app

from relais_platform import rls

revision = "0003_training"
down_revision = "0002_stock"
branch_labels = None
depends_on = None

# The national catalogue: read by everyone, written by the national team.
NATIONAL_TABLES = ("training_modules", "training_sessions")
# Written by relais staff (enrolment, survey) and by the network scope.
TENANT_TABLES = ("training_enrolments", "training_surveys")
# Read by the relais' staff, written only by coaches and the national team.
NETWORK_WRITTEN_TABLES = ("training_records", "training_path_modules", "coaching_sessions",
                          "coaching_next_steps", "coaching_milestones")
NETWORK_WRITTEN_POLICIES = ("staff_read", "network_insert", "network_update", "network_delete")
NATIONAL_POLICIES = ("national_read", "national_insert", "national_update", "national_delete")
LEDGERS = ("training_surveys",)


def network_written_sql(table: str) -> str:
    network = "app_network_allows(relais_id)"
    return (
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;\n"
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY;\n"
        f"CREATE POLICY staff_read ON {table} FOR SELECT"
        f" USING (relais_id = app_relais_id() OR {network});\n"
        f"CREATE POLICY network_insert ON {table} FOR INSERT WITH CHECK ({network});\n"
        f"CREATE POLICY network_update ON {table} FOR UPDATE USING ({network}) WITH CHECK ({network});\n"
        f"CREATE POLICY network_delete ON {table} FOR DELETE USING ({network});\n"
    )


# Coaching notes: never readable by relais staff, even through raw SQL.
NOTES_SQL = """
ALTER TABLE coaching_notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE coaching_notes FORCE ROW LEVEL SECURITY;
CREATE POLICY network_only ON coaching_notes
  USING (app_network_allows(relais_id)) WITH CHECK (app_network_allows(relais_id));
"""

# Seats are shared by every relais, but a relais user sees only its own enrolments. These
# two functions are the only code that counts and moves seats across relais: they lock the
# session row, run under the national scope, and keep the session's counters. Promotion
# happens in the transaction of the cancellation.
# The scope is switched with set_config() and put back before returning (an error aborts
# the (sub)transaction, which reverts it anyway), not with `SET app.… = …` clauses: on
# PostgreSQL 15+ only a superuser may attach a custom setting to a function, and the
# migrations run as a non-superuser owner (issue 11). Migration 0011 replaces the versions
# with SET clauses that databases migrated before then still hold.
SEAT_FUNCTIONS = """
CREATE OR REPLACE FUNCTION training_seat_lock(p_session bigint)
RETURNS TABLE (seat_capacity integer, seats_enrolled integer, seats_waitlisted integer)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public AS $$
DECLARE
  saved_relais_id text := coalesce(current_setting('app.relais_id', true), '');
  saved_relais_ids text := coalesce(current_setting('app.relais_ids', true), '');
BEGIN
  PERFORM set_config('app.relais_id', '', true), set_config('app.relais_ids', '*', true);
  PERFORM 1 FROM training_sessions s WHERE s.id = p_session FOR UPDATE;
  IF FOUND THEN
    RETURN QUERY
      SELECT s.capacity,
             (SELECT count(*)::integer FROM training_enrolments e
               WHERE e.session_id = p_session AND e.status = 'enrolled'),
             (SELECT count(*)::integer FROM training_enrolments e
               WHERE e.session_id = p_session AND e.status = 'waitlisted')
      FROM training_sessions s WHERE s.id = p_session;
  END IF;
  PERFORM set_config('app.relais_id', saved_relais_id, true),
          set_config('app.relais_ids', saved_relais_ids, true);
END $$;

CREATE OR REPLACE FUNCTION training_seat_settle(p_session bigint)
RETURNS TABLE (promoted_id bigint, promoted_relais_id bigint)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public AS $$
DECLARE
  free integer;
  saved_relais_id text := coalesce(current_setting('app.relais_id', true), '');
  saved_relais_ids text := coalesce(current_setting('app.relais_ids', true), '');
BEGIN
  PERFORM set_config('app.relais_id', '', true), set_config('app.relais_ids', '*', true);
  SELECT s.capacity INTO free FROM training_sessions s WHERE s.id = p_session FOR UPDATE;
  IF FOUND THEN
    free := free - (SELECT count(*) FROM training_enrolments e
                     WHERE e.session_id = p_session AND e.status = 'enrolled');
    IF free > 0 THEN
      RETURN QUERY
        UPDATE training_enrolments e
           SET status = 'enrolled', waitlist_position = NULL, promoted_at = now()
         WHERE e.id IN (SELECT w.id FROM training_enrolments w
                         WHERE w.session_id = p_session AND w.status = 'waitlisted'
                         ORDER BY w.waitlist_position, w.id LIMIT free)
        RETURNING e.id, e.relais_id;
    END IF;
    UPDATE training_enrolments e SET waitlist_position = r.position
      FROM (SELECT w.id, row_number() OVER (ORDER BY w.waitlist_position, w.id)::integer AS position
              FROM training_enrolments w
             WHERE w.session_id = p_session AND w.status = 'waitlisted') r
     WHERE e.id = r.id AND e.waitlist_position <> r.position;
    UPDATE training_sessions s
       SET enrolled_count = (SELECT count(*) FROM training_enrolments e
                              WHERE e.session_id = p_session AND e.status = 'enrolled'),
           waitlisted_count = (SELECT count(*) FROM training_enrolments e
                                WHERE e.session_id = p_session AND e.status = 'waitlisted')
     WHERE s.id = p_session;
  END IF;
  PERFORM set_config('app.relais_id', saved_relais_id, true),
          set_config('app.relais_ids', saved_relais_ids, true);
END $$;
"""
SEAT_FUNCTION_SIGNATURES = ("training_seat_lock(bigint)", "training_seat_settle(bigint)")


def upgrade():
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table('training_modules',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('duration_hours', sa.Numeric(precision=5, scale=1), nullable=False),
    sa.Column('format', sa.Enum('in_person', 'remote', 'elearning', name='moduleformat', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('objectives', sa.Text(), nullable=True),
    sa.Column('prerequisites', sa.Text(), nullable=True),
    sa.Column('core', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('position', sa.Integer(), server_default='0', nullable=False),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('duration_hours > 0', name=op.f('ck_training_modules_duration_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_modules')),
    sa.UniqueConstraint('code', name=op.f('uq_training_modules_code'))
    )
    op.create_table('training_path_modules',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('module_id', sa.BigInteger(), nullable=False),
    sa.Column('relais_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['module_id'], ['training_modules.id'], name=op.f('fk_training_path_modules_module_id_training_modules')),
    sa.ForeignKeyConstraint(['relais_id'], ['relais.id'], name=op.f('fk_training_path_modules_relais_id_relais')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_path_modules')),
    sa.UniqueConstraint('relais_id', 'module_id', name=op.f('uq_training_path_modules_relais_id_module_id'))
    )
    op.create_index(op.f('ix_training_path_modules_relais_id'), 'training_path_modules', ['relais_id'], unique=False)
    op.create_table('coaching_milestones',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.BigInteger(), nullable=True),
    sa.Column('relais_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_coaching_milestones_created_by_id_users')),
    sa.ForeignKeyConstraint(['relais_id'], ['relais.id'], name=op.f('fk_coaching_milestones_relais_id_relais')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coaching_milestones'))
    )
    op.create_index(op.f('ix_coaching_milestones_relais_id'), 'coaching_milestones', ['relais_id'], unique=False)
    op.create_table('coaching_sessions',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('kind', sa.Enum('visit', 'phone', 'video', name='coachingkind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('topics', sa.Text(), nullable=True),
    sa.Column('coach_id', sa.BigInteger(), nullable=True),
    sa.Column('relais_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['coach_id'], ['users.id'], name=op.f('fk_coaching_sessions_coach_id_users')),
    sa.ForeignKeyConstraint(['relais_id'], ['relais.id'], name=op.f('fk_coaching_sessions_relais_id_relais')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coaching_sessions'))
    )
    op.create_index('ix_coaching_sessions_relais_held', 'coaching_sessions', ['relais_id', 'held_on'], unique=False)
    op.create_index(op.f('ix_coaching_sessions_relais_id'), 'coaching_sessions', ['relais_id'], unique=False)
    op.create_table('training_sessions',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('module_id', sa.BigInteger(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('location', sa.String(length=300), nullable=True),
    sa.Column('online_url', sa.String(length=500), nullable=True),
    sa.Column('trainer', sa.String(length=200), nullable=True),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('enrolled_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('waitlisted_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('signed_off_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('signed_off_by_id', sa.BigInteger(), nullable=True),
    sa.Column('created_by_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('capacity > 0', name=op.f('ck_training_sessions_capacity_positive')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_training_sessions_ends_after_start')),
    sa.CheckConstraint('enrolled_count >= 0 AND waitlisted_count >= 0', name=op.f('ck_training_sessions_counts_non_negative')),
    sa.CheckConstraint('location IS NOT NULL OR online_url IS NOT NULL', name=op.f('ck_training_sessions_has_place')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_training_sessions_created_by_id_users')),
    sa.ForeignKeyConstraint(['module_id'], ['training_modules.id'], name=op.f('fk_training_sessions_module_id_training_modules')),
    sa.ForeignKeyConstraint(['signed_off_by_id'], ['users.id'], name=op.f('fk_training_sessions_signed_off_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_sessions'))
    )
    op.create_index(op.f('ix_training_sessions_module_id'), 'training_sessions', ['module_id'], unique=False)
    op.create_index(op.f('ix_training_sessions_starts_at'), 'training_sessions', ['starts_at'], unique=False)
    op.create_table('coaching_next_steps',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('coaching_session_id', sa.BigInteger(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('owner', sa.String(length=200), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('relais_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['coaching_session_id'], ['coaching_sessions.id'], name=op.f('fk_coaching_next_steps_coaching_session_id_coaching_sessions')),
    sa.ForeignKeyConstraint(['relais_id'], ['relais.id'], name=op.f('fk_coaching_next_steps_relais_id_relais')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coaching_next_steps'))
    )
    op.create_index(op.f('ix_coaching_next_steps_coaching_session_id'), 'coaching_next_steps', ['coaching_session_id'], unique=False)
    op.create_index('ix_coaching_next_steps_open_due', 'coaching_next_steps', ['relais_id', 'due_date'], unique=False)
    op.create_index(op.f('ix_coaching_next_steps_relais_id'), 'coaching_next_steps', ['relais_id'], unique=False)
    op.create_table('coaching_notes',
    sa.Column('coaching_session_id', sa.BigInteger(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('relais_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['coaching_session_id'], ['coaching_sessions.id'], name=op.f('fk_coaching_notes_coaching_session_id_coaching_sessions')),
    sa.ForeignKeyConstraint(['relais_id'], ['relais.id'], name=op.f('fk_coaching_notes_relais_id_relais')),
    sa.PrimaryKeyConstraint('coaching_session_id', name=op.f('pk_coaching_notes'))
    )
    op.create_index(op.f('ix_coaching_notes_relais_id'), 'coaching_notes', ['relais_id'], unique=False)
    op.create_table('training_enrolments',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('session_id', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.Enum('enrolled', 'waitlisted', 'cancelled', name='enrolmentstatus', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('waitlist_position', sa.Integer(), nullable=True),
    sa.Column('enrolled_by_id', sa.BigInteger(), nullable=True),
    sa.Column('promoted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('present', sa.Boolean(), nullable=True),
    sa.Column('attendance_marked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attendance_marked_by_id', sa.BigInteger(), nullable=True),
    sa.Column('relais_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(status = 'waitlisted') = (waitlist_position IS NOT NULL)", name=op.f('ck_training_enrolments_position_iff_waitlisted')),
    sa.CheckConstraint("present IS NULL OR status = 'enrolled'", name=op.f('ck_training_enrolments_attendance_of_enrolled')),
    sa.ForeignKeyConstraint(['attendance_marked_by_id'], ['users.id'], name=op.f('fk_training_enrolments_attendance_marked_by_id_users')),
    sa.ForeignKeyConstraint(['enrolled_by_id'], ['users.id'], name=op.f('fk_training_enrolments_enrolled_by_id_users')),
    sa.ForeignKeyConstraint(['relais_id'], ['relais.id'], name=op.f('fk_training_enrolments_relais_id_relais')),
    sa.ForeignKeyConstraint(['session_id'], ['training_sessions.id'], name=op.f('fk_training_enrolments_session_id_training_sessions')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_training_enrolments_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_enrolments')),
    sa.UniqueConstraint('relais_id', 'session_id', 'user_id', name=op.f('uq_training_enrolments_relais_id_session_id_user_id'))
    )
    op.create_index(op.f('ix_training_enrolments_relais_id'), 'training_enrolments', ['relais_id'], unique=False)
    op.create_index('ix_training_enrolments_session_status', 'training_enrolments', ['session_id', 'status', 'waitlist_position'], unique=False)
    op.create_index(op.f('ix_training_enrolments_user_id'), 'training_enrolments', ['user_id'], unique=False)
    op.create_table('training_records',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('module_id', sa.BigInteger(), nullable=False),
    sa.Column('session_id', sa.BigInteger(), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('relais_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['module_id'], ['training_modules.id'], name=op.f('fk_training_records_module_id_training_modules')),
    sa.ForeignKeyConstraint(['relais_id'], ['relais.id'], name=op.f('fk_training_records_relais_id_relais')),
    sa.ForeignKeyConstraint(['session_id'], ['training_sessions.id'], name=op.f('fk_training_records_session_id_training_sessions')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_training_records_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_records')),
    sa.UniqueConstraint('relais_id', 'user_id', 'session_id', name=op.f('uq_training_records_relais_id_user_id_session_id'))
    )
    op.create_index(op.f('ix_training_records_relais_id'), 'training_records', ['relais_id'], unique=False)
    op.create_index('ix_training_records_relais_module', 'training_records', ['relais_id', 'module_id', 'completed_at'], unique=False)
    op.create_index(op.f('ix_training_records_session_id'), 'training_records', ['session_id'], unique=False)
    op.create_index(op.f('ix_training_records_user_id'), 'training_records', ['user_id'], unique=False)
    op.create_table('training_surveys',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('record_id', sa.BigInteger(), nullable=False),
    sa.Column('rating', sa.SmallInteger(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('relais_id', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('rating BETWEEN 1 AND 5', name=op.f('ck_training_surveys_rating_range')),
    sa.ForeignKeyConstraint(['record_id'], ['training_records.id'], name=op.f('fk_training_surveys_record_id_training_records')),
    sa.ForeignKeyConstraint(['relais_id'], ['relais.id'], name=op.f('fk_training_surveys_relais_id_relais')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_surveys')),
    sa.UniqueConstraint('relais_id', 'record_id', name=op.f('uq_training_surveys_relais_id_record_id'))
    )
    op.create_index(op.f('ix_training_surveys_relais_id'), 'training_surveys', ['relais_id'], unique=False)
    # ### end Alembic commands ###
    role = current_app.config["APP_DB_ROLE"]
    for table in NATIONAL_TABLES:
        op.execute(rls.national_only_sql(table, readable_by_all=True))
    for table in TENANT_TABLES:
        op.execute(rls.tenant_table_sql(table))
    for table in NETWORK_WRITTEN_TABLES:
        op.execute(network_written_sql(table))
    op.execute(NOTES_SQL)
    for table in LEDGERS:
        op.execute(rls.append_only_sql(table))
    op.execute(f'REVOKE UPDATE, DELETE, TRUNCATE ON {", ".join(LEDGERS)} FROM "{role}"')
    op.execute(SEAT_FUNCTIONS)
    for signature in SEAT_FUNCTION_SIGNATURES:
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f'GRANT EXECUTE ON FUNCTION {signature} TO "{role}"')


def downgrade():
    for signature in SEAT_FUNCTION_SIGNATURES:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    for table in LEDGERS:
        op.execute(rls.drop_append_only_sql(table))
    op.execute(rls.drop_policies_sql("coaching_notes", ("network_only",)))
    for table in NETWORK_WRITTEN_TABLES:
        op.execute(rls.drop_policies_sql(table, NETWORK_WRITTEN_POLICIES))
    for table in TENANT_TABLES:
        op.execute(rls.drop_policy_sql(table))
    for table in NATIONAL_TABLES:
        op.execute(rls.drop_policies_sql(table, NATIONAL_POLICIES))
    # ### commands auto generated by Alembic - please adjust! ###
    op.drop_index(op.f('ix_training_surveys_relais_id'), table_name='training_surveys')
    op.drop_table('training_surveys')
    op.drop_index(op.f('ix_training_records_user_id'), table_name='training_records')
    op.drop_index(op.f('ix_training_records_session_id'), table_name='training_records')
    op.drop_index('ix_training_records_relais_module', table_name='training_records')
    op.drop_index(op.f('ix_training_records_relais_id'), table_name='training_records')
    op.drop_table('training_records')
    op.drop_index(op.f('ix_training_enrolments_user_id'), table_name='training_enrolments')
    op.drop_index('ix_training_enrolments_session_status', table_name='training_enrolments')
    op.drop_index(op.f('ix_training_enrolments_relais_id'), table_name='training_enrolments')
    op.drop_table('training_enrolments')
    op.drop_index(op.f('ix_coaching_notes_relais_id'), table_name='coaching_notes')
    op.drop_table('coaching_notes')
    op.drop_index(op.f('ix_coaching_next_steps_relais_id'), table_name='coaching_next_steps')
    op.drop_index('ix_coaching_next_steps_open_due', table_name='coaching_next_steps')
    op.drop_index(op.f('ix_coaching_next_steps_coaching_session_id'), table_name='coaching_next_steps')
    op.drop_table('coaching_next_steps')
    op.drop_index(op.f('ix_training_sessions_starts_at'), table_name='training_sessions')
    op.drop_index(op.f('ix_training_sessions_module_id'), table_name='training_sessions')
    op.drop_table('training_sessions')
    op.drop_index(op.f('ix_coaching_sessions_relais_id'), table_name='coaching_sessions')
    op.drop_index('ix_coaching_sessions_relais_held', table_name='coaching_sessions')
    op.drop_table('coaching_sessions')
    op.drop_index(op.f('ix_coaching_milestones_relais_id'), table_name='coaching_milestones')
    op.drop_table('coaching_milestones')
    op.drop_index(op.f('ix_training_path_modules_relais_id'), table_name='training_path_modules')
    op.drop_table('training_path_modules')
    op.drop_table('training_modules')
    # ### end Alembic commands ###
