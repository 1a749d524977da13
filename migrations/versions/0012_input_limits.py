"""personal free text leaves the ledgers national reads: warranty-return notes copied into the unit
history become coded outcomes, cancel reasons copied into the relais stock ledger are emptied

Revision ID: 0012_input_limits
Revises: 0011_hardening

Both ledgers are append-only (a trigger refuses UPDATE): the trigger is switched off for these
two statements only, inside the migration's transaction. The rows are read relais by relais,
since distributions are personal data that no network scope reaches.
"""

from alembic import op

revision = "0012_input_limits"
down_revision = "0011_hardening"
branch_labels = None
depends_on = None

SCRUB = """
SELECT set_config('app.relais_ids', '*', true);
ALTER TABLE serial_unit_events DISABLE TRIGGER serial_unit_events_append_only;
ALTER TABLE relais_stock_movements DISABLE TRIGGER relais_stock_movements_append_only;
DO $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT id FROM relais LOOP
    PERFORM set_config('app.relais_id', r.id::text, true);
    UPDATE serial_unit_events e
       SET note = 'distribution ' || d.id || ' warranty ' || d.warranty_outcome
      FROM distributions d
     WHERE d.relais_id = r.id AND d.unit_id = e.unit_id
       AND d.warranty_note IS NOT NULL AND e.note = d.warranty_note;
    UPDATE relais_stock_movements m
       SET reason = NULL
      FROM distributions d
     WHERE d.relais_id = r.id AND m.relais_id = r.id AND m.kind = 'distribution_cancelled'
       AND m.reference_id = d.id AND m.reason IS NOT NULL;
  END LOOP;
  PERFORM set_config('app.relais_id', '', true);
END $$;
ALTER TABLE relais_stock_movements ENABLE TRIGGER relais_stock_movements_append_only;
ALTER TABLE serial_unit_events ENABLE TRIGGER serial_unit_events_append_only;
SELECT set_config('app.relais_ids', '', true);
"""


def upgrade():
    op.execute(SCRUB)


def downgrade():
    # The text removed was personal data that had no business in these ledgers: it stays removed
    # (the distributions still hold it for their relais). No schema change to undo.
    pass
