"""warehouse operations: locations, transfers, stocktakes, coded reasons, report review,
partial shipments, emergency campaigns

Revision ID: 0018_warehouse_ops
Revises: 0017_supply
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from relais_platform import rls

revision = "0018_warehouse_ops"
down_revision = "0017_supply"
branch_labels = None
depends_on = None

NATIONAL_TABLES = ("stock_locations", "location_stock", "transfers", "transfer_lines")
CUSTODIAN_TABLES = ("stocktakes", "stocktake_lines")
NATIONAL_POLICIES = ("national_read", "national_insert", "national_update", "national_delete")
REASON_CODES = ("lost", "damaged", "stolen", "found", "count_error", "other")
OLD_MOVEMENT_KINDS = ("receipt", "reservation", "release", "shipment", "adjustment", "return")
MOVEMENT_KINDS = OLD_MOVEMENT_KINDS + ("transfer_out", "transfer_in")
OLD_UNIT_STATUSES = ("in_stock", "reserved", "shipped", "at_relais", "distributed", "returned",
                     "defective", "lost")
UNIT_STATUSES = OLD_UNIT_STATUSES + ("in_transit",)
REPORT_STATUSES = ("submitted", "accepted", "returned")
REPORT_TABLES = ("stock_reports", "stock_report_lines")
# Replaces migration 0007's append-only guard of the monthly reports: a stored report keeps
# what it declared, except while the national team has returned it for correction; its
# review (status, reviewer, comment) may be written at any time. Never deleted.
REPORT_GUARD = """
CREATE OR REPLACE FUNCTION guard_stock_report() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' OR NEW.relais_id <> OLD.relais_id OR NEW.period <> OLD.period
     OR (OLD.status <> 'returned'
         AND (NEW.submitted_at, NEW.submitted_by_id) IS DISTINCT FROM (OLD.submitted_at, OLD.submitted_by_id))
  THEN
    RAISE EXCEPTION 'stock_reports: a submitted report is read-only (% refused)', TG_OP
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;
CREATE OR REPLACE FUNCTION guard_stock_report_line() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (SELECT status FROM stock_reports WHERE id = OLD.report_id) IS DISTINCT FROM 'returned' THEN
    RAISE EXCEPTION 'stock_report_lines: a submitted report is read-only (% refused)', TG_OP
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER stock_reports_guard BEFORE UPDATE OR DELETE ON stock_reports
  FOR EACH ROW EXECUTE FUNCTION guard_stock_report();
CREATE TRIGGER stock_report_lines_guard BEFORE UPDATE OR DELETE ON stock_report_lines
  FOR EACH ROW EXECUTE FUNCTION guard_stock_report_line();
CREATE TRIGGER stock_reports_no_truncate BEFORE TRUNCATE ON stock_reports
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_ledger_change();
CREATE TRIGGER stock_report_lines_no_truncate BEFORE TRUNCATE ON stock_report_lines
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_ledger_change();
"""
DROP_REPORT_GUARD = """
DROP TRIGGER IF EXISTS stock_reports_guard ON stock_reports;
DROP TRIGGER IF EXISTS stock_report_lines_guard ON stock_report_lines;
DROP TRIGGER IF EXISTS stock_reports_no_truncate ON stock_reports;
DROP TRIGGER IF EXISTS stock_report_lines_no_truncate ON stock_report_lines;
DROP FUNCTION IF EXISTS guard_stock_report_line();
DROP FUNCTION IF EXISTS guard_stock_report();
"""
# Enum CHECK constraints widened by this revision: (table, constraint, column, old, new).
CHECKS = (
    ("stock_movements", "ck_stock_movements_movementkind", "kind", OLD_MOVEMENT_KINDS, MOVEMENT_KINDS),
    ("serial_units", "ck_serial_units_unitstatus", "status", OLD_UNIT_STATUSES, UNIT_STATUSES),
    ("serial_unit_events", "ck_serial_unit_events_from_status", "from_status", OLD_UNIT_STATUSES,
     UNIT_STATUSES),
    ("serial_unit_events", "ck_serial_unit_events_to_status", "to_status", OLD_UNIT_STATUSES,
     UNIT_STATUSES),
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _enum(name: str, values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def upgrade():
    op.create_table('stock_locations',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('is_default', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_locations')),
    sa.UniqueConstraint('name', name=op.f('uq_stock_locations_name'))
    )
    op.create_index('uq_stock_locations_default', 'stock_locations', ['is_default'], unique=True,
                    postgresql_where=sa.text('is_default'))
    op.create_table('location_stock',
    sa.Column('location_id', sa.BigInteger(), nullable=False),
    sa.Column('product_id', sa.BigInteger(), nullable=False),
    sa.Column('on_hand', sa.Integer(), server_default='0', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('on_hand >= 0', name=op.f('ck_location_stock_on_hand_non_negative')),
    sa.ForeignKeyConstraint(['location_id'], ['stock_locations.id'], name=op.f('fk_location_stock_location_id_stock_locations')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_location_stock_product_id_products')),
    sa.PrimaryKeyConstraint('location_id', 'product_id', name=op.f('pk_location_stock'))
    )
    op.create_table('transfers',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('from_location_id', sa.BigInteger(), nullable=False),
    sa.Column('to_location_id', sa.BigInteger(), nullable=False),
    sa.Column('status', _enum('transferstatus', ('shipped', 'received')), nullable=False),
    sa.Column('created_by_id', sa.BigInteger(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_by_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('from_location_id <> to_location_id', name=op.f('ck_transfers_distinct_locations')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_transfers_created_by_id_users')),
    sa.ForeignKeyConstraint(['from_location_id'], ['stock_locations.id'], name=op.f('fk_transfers_from_location_id_stock_locations')),
    sa.ForeignKeyConstraint(['received_by_id'], ['users.id'], name=op.f('fk_transfers_received_by_id_users')),
    sa.ForeignKeyConstraint(['to_location_id'], ['stock_locations.id'], name=op.f('fk_transfers_to_location_id_stock_locations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfers'))
    )
    op.create_index(op.f('ix_transfers_from_location_id'), 'transfers', ['from_location_id'], unique=False)
    op.create_index(op.f('ix_transfers_to_location_id'), 'transfers', ['to_location_id'], unique=False)
    op.create_table('transfer_lines',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('transfer_id', sa.BigInteger(), nullable=False),
    sa.Column('product_id', sa.BigInteger(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('serials', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_transfer_lines_quantity_positive')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_transfer_lines_product_id_products')),
    sa.ForeignKeyConstraint(['transfer_id'], ['transfers.id'], name=op.f('fk_transfer_lines_transfer_id_transfers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer_lines')),
    sa.UniqueConstraint('transfer_id', 'product_id', name=op.f('uq_transfer_lines_transfer_id_product_id'))
    )
    op.create_index(op.f('ix_transfer_lines_transfer_id'), 'transfer_lines', ['transfer_id'], unique=False)
    op.create_table('stocktakes',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('location_id', sa.BigInteger(), nullable=True),
    sa.Column('relais_id', sa.BigInteger(), nullable=True),
    sa.Column('status', _enum('stocktakestatus', ('open', 'finalised')), nullable=False),
    sa.Column('created_by_id', sa.BigInteger(), nullable=True),
    sa.Column('finalised_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finalised_by_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('(location_id IS NULL) <> (relais_id IS NULL)', name=op.f('ck_stocktakes_one_holder')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_stocktakes_created_by_id_users')),
    sa.ForeignKeyConstraint(['finalised_by_id'], ['users.id'], name=op.f('fk_stocktakes_finalised_by_id_users')),
    sa.ForeignKeyConstraint(['location_id'], ['stock_locations.id'], name=op.f('fk_stocktakes_location_id_stock_locations')),
    sa.ForeignKeyConstraint(['relais_id'], ['relais.id'], name=op.f('fk_stocktakes_relais_id_relais')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stocktakes'))
    )
    op.create_index(op.f('ix_stocktakes_location_id'), 'stocktakes', ['location_id'], unique=False)
    op.create_index(op.f('ix_stocktakes_relais_id'), 'stocktakes', ['relais_id'], unique=False)
    op.create_table('stocktake_lines',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('stocktake_id', sa.BigInteger(), nullable=False),
    sa.Column('relais_id', sa.BigInteger(), nullable=True),
    sa.Column('product_id', sa.BigInteger(), nullable=False),
    sa.Column('expected', sa.Integer(), nullable=False),
    sa.Column('expected_serials', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('counted', sa.Integer(), nullable=True),
    sa.Column('counted_serials', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('reason_code', _enum('reasoncode', REASON_CODES), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('outcome', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.CheckConstraint('counted IS NULL OR counted >= 0', name=op.f('ck_stocktake_lines_counted_non_negative')),
    sa.CheckConstraint('expected >= 0', name=op.f('ck_stocktake_lines_expected_non_negative')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_stocktake_lines_product_id_products')),
    sa.ForeignKeyConstraint(['relais_id'], ['relais.id'], name=op.f('fk_stocktake_lines_relais_id_relais')),
    sa.ForeignKeyConstraint(['stocktake_id'], ['stocktakes.id'], name=op.f('fk_stocktake_lines_stocktake_id_stocktakes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stocktake_lines')),
    sa.UniqueConstraint('relais_id', 'stocktake_id', 'product_id', name=op.f('uq_stocktake_lines_relais_id_stocktake_id_product_id'), postgresql_nulls_not_distinct=True)
    )
    op.create_index(op.f('ix_stocktake_lines_relais_id'), 'stocktake_lines', ['relais_id'], unique=False)
    op.create_index(op.f('ix_stocktake_lines_stocktake_id'), 'stocktake_lines', ['stocktake_id'], unique=False)

    op.add_column('stock_movements', sa.Column('location_id', sa.BigInteger(), nullable=True))
    op.add_column('stock_movements', sa.Column('reason_code', sa.String(length=32), nullable=True))
    op.create_index(op.f('ix_stock_movements_location_id'), 'stock_movements', ['location_id'], unique=False)
    op.create_foreign_key(op.f('fk_stock_movements_location_id_stock_locations'), 'stock_movements',
                          'stock_locations', ['location_id'], ['id'])
    op.add_column('relais_stock_movements', sa.Column('reason_code', sa.String(length=32), nullable=True))
    op.add_column('serial_units', sa.Column('location_id', sa.BigInteger(), nullable=True))
    op.create_index(op.f('ix_serial_units_location_id'), 'serial_units', ['location_id'], unique=False)
    op.create_foreign_key(op.f('fk_serial_units_location_id_stock_locations'), 'serial_units',
                          'stock_locations', ['location_id'], ['id'])
    for table in ("stock_movements", "relais_stock_movements"):
        op.create_check_constraint(op.f(f"ck_{table}_reasoncode"), table, _in("reason_code", REASON_CODES))
    for table, name, column, _old, new in CHECKS:
        op.drop_constraint(op.f(name), table, type_="check")
        op.create_check_constraint(op.f(name), table, _in(column, new))

    for table in NATIONAL_TABLES:
        op.execute(rls.national_only_sql(table))
    for table in CUSTODIAN_TABLES:
        op.execute(rls.custodian_table_sql(table))

    # Monthly reports: coded reasons, the units lost, the national review.
    op.add_column('stock_reports', sa.Column('status', sa.String(length=32), server_default='submitted',
                                             nullable=False))
    op.add_column('stock_reports', sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('stock_reports', sa.Column('reviewed_by_id', sa.BigInteger(), nullable=True))
    op.add_column('stock_reports', sa.Column('review_comment', sa.Text(), nullable=True))
    op.create_check_constraint(op.f('ck_stock_reports_reportstatus'), 'stock_reports',
                               _in('status', REPORT_STATUSES))
    op.create_foreign_key(op.f('fk_stock_reports_reviewed_by_id_users'), 'stock_reports', 'users',
                          ['reviewed_by_id'], ['id'])
    op.create_index('ix_stock_reports_status', 'stock_reports', ['status'], unique=False)
    op.add_column('stock_report_lines', sa.Column('loss_reason_code', sa.String(length=32), nullable=True))
    op.add_column('stock_report_lines', sa.Column('adjustment_reason_code', sa.String(length=32),
                                                  nullable=True))
    op.add_column('stock_report_lines', sa.Column('lost_serials', postgresql.JSONB(astext_type=sa.Text()),
                                                  server_default='[]', nullable=False))
    for column in ('loss_reason_code', 'adjustment_reason_code'):
        op.create_check_constraint(op.f(f'ck_stock_report_lines_{column}'), 'stock_report_lines',
                                   _in(column, REASON_CODES))
    for table in REPORT_TABLES:
        op.execute(rls.drop_append_only_sql(table))
    op.execute(REPORT_GUARD)

    # Partial shipments: an order leaves in one parcel or several.
    op.create_table('shipments',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=False),
    sa.Column('location_id', sa.BigInteger(), nullable=False),
    sa.Column('carrier', sa.String(length=100), nullable=True),
    sa.Column('tracking_number', sa.String(length=100), nullable=True),
    sa.Column('status', _enum('shipmentstatus', ('shipped', 'received')), nullable=False),
    sa.Column('shipped_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('shipped_by_id', sa.BigInteger(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_by_id', sa.BigInteger(), nullable=True),
    sa.Column('relais_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['location_id'], ['stock_locations.id'], name=op.f('fk_shipments_location_id_stock_locations')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_shipments_order_id_orders')),
    sa.ForeignKeyConstraint(['received_by_id'], ['users.id'], name=op.f('fk_shipments_received_by_id_users')),
    sa.ForeignKeyConstraint(['relais_id'], ['relais.id'], name=op.f('fk_shipments_relais_id_relais')),
    sa.ForeignKeyConstraint(['shipped_by_id'], ['users.id'], name=op.f('fk_shipments_shipped_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipments'))
    )
    op.create_index(op.f('ix_shipments_order_id'), 'shipments', ['order_id'], unique=False)
    op.create_index(op.f('ix_shipments_relais_id'), 'shipments', ['relais_id'], unique=False)
    op.create_table('shipment_lines',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('shipment_id', sa.BigInteger(), nullable=False),
    sa.Column('order_line_id', sa.BigInteger(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('received', sa.Integer(), server_default='0', nullable=False),
    sa.Column('refused', sa.Integer(), server_default='0', nullable=False),
    sa.Column('serials', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('relais_id', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_shipment_lines_quantity_positive')),
    sa.CheckConstraint('received >= 0 AND refused >= 0 AND received + refused <= quantity', name=op.f('ck_shipment_lines_received_within_quantity')),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_lines.id'], name=op.f('fk_shipment_lines_order_line_id_order_lines')),
    sa.ForeignKeyConstraint(['relais_id'], ['relais.id'], name=op.f('fk_shipment_lines_relais_id_relais')),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_shipment_lines_shipment_id_shipments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipment_lines')),
    sa.UniqueConstraint('relais_id', 'shipment_id', 'order_line_id', name=op.f('uq_shipment_lines_relais_id_shipment_id_order_line_id'))
    )
    op.create_index(op.f('ix_shipment_lines_order_line_id'), 'shipment_lines', ['order_line_id'], unique=False)
    op.create_index(op.f('ix_shipment_lines_relais_id'), 'shipment_lines', ['relais_id'], unique=False)
    op.create_index(op.f('ix_shipment_lines_shipment_id'), 'shipment_lines', ['shipment_id'], unique=False)
    for table in ("shipments", "shipment_lines"):
        op.execute(rls.tenant_table_sql(table))

    # Emergency campaigns.
    op.create_table('campaigns',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('opens_on', sa.Date(), nullable=False),
    sa.Column('closes_on', sa.Date(), nullable=False),
    sa.Column('free', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('eligible', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('status', _enum('campaignstatus', ('open', 'confirmed')), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('opens_on <= closes_on', name=op.f('ck_campaigns_dates_in_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns'))
    )
    op.create_table('campaign_products',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('campaign_id', sa.BigInteger(), nullable=False),
    sa.Column('product_id', sa.BigInteger(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_campaign_products_quantity_positive')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_products_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_campaign_products_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_products')),
    sa.UniqueConstraint('campaign_id', 'product_id', name=op.f('uq_campaign_products_campaign_id_product_id'))
    )
    op.create_index(op.f('ix_campaign_products_campaign_id'), 'campaign_products', ['campaign_id'], unique=False)
    op.create_table('campaign_needs',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('campaign_id', sa.BigInteger(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=True),
    sa.Column('relais_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_needs_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_campaign_needs_order_id_orders')),
    sa.ForeignKeyConstraint(['relais_id'], ['relais.id'], name=op.f('fk_campaign_needs_relais_id_relais')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_needs')),
    sa.UniqueConstraint('relais_id', 'campaign_id', name=op.f('uq_campaign_needs_relais_id_campaign_id'))
    )
    op.create_index(op.f('ix_campaign_needs_campaign_id'), 'campaign_needs', ['campaign_id'], unique=False)
    op.create_index(op.f('ix_campaign_needs_relais_id'), 'campaign_needs', ['relais_id'], unique=False)
    op.create_table('campaign_need_lines',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('need_id', sa.BigInteger(), nullable=False),
    sa.Column('product_id', sa.BigInteger(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('relais_id', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_campaign_need_lines_quantity_positive')),
    sa.ForeignKeyConstraint(['need_id'], ['campaign_needs.id'], name=op.f('fk_campaign_need_lines_need_id_campaign_needs')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_campaign_need_lines_product_id_products')),
    sa.ForeignKeyConstraint(['relais_id'], ['relais.id'], name=op.f('fk_campaign_need_lines_relais_id_relais')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_need_lines')),
    sa.UniqueConstraint('relais_id', 'need_id', 'product_id', name=op.f('uq_campaign_need_lines_relais_id_need_id_product_id'))
    )
    op.create_index(op.f('ix_campaign_need_lines_need_id'), 'campaign_need_lines', ['need_id'], unique=False)
    op.create_index(op.f('ix_campaign_need_lines_relais_id'), 'campaign_need_lines', ['relais_id'], unique=False)
    # Relais read the campaigns open to them; only the national team writes them.
    for table in ("campaigns", "campaign_products"):
        op.execute(rls.national_only_sql(table, readable_by_all=True))
    for table in ("campaign_needs", "campaign_need_lines"):
        op.execute(rls.tenant_table_sql(table))

    # Existing national stock moves to the default location. The owner is subject to RLS
    # (FORCE): act under the national scope; the ledger's guard is lifted for this one fill.
    op.execute("SELECT set_config('app.relais_ids', '*', true)")
    op.execute("""
        INSERT INTO stock_locations (name, is_default, active)
        SELECT 'Entrepôt central', true, true
        WHERE EXISTS (SELECT 1 FROM stock_movements) OR EXISTS (SELECT 1 FROM serial_units)
    """)
    op.execute("""
        INSERT INTO location_stock (location_id, product_id, on_hand, updated_at)
        SELECT l.id, s.product_id, s.on_hand, now()
        FROM national_stock s CROSS JOIN stock_locations l WHERE l.is_default AND s.on_hand > 0
    """)
    op.execute(rls.drop_append_only_sql("stock_movements"))
    op.execute("""
        UPDATE stock_movements SET location_id = (SELECT id FROM stock_locations WHERE is_default)
        WHERE on_hand_delta <> 0
    """)
    op.execute(rls.append_only_sql("stock_movements"))
    op.execute("""
        UPDATE serial_units SET location_id = (SELECT id FROM stock_locations WHERE is_default)
        WHERE status IN ('in_stock', 'reserved')
    """)


def downgrade():
    op.execute("SELECT set_config('app.relais_ids', '*', true)")
    for table in ("campaign_need_lines", "campaign_needs"):
        op.execute(rls.drop_policy_sql(table))
    for table in ("campaign_products", "campaigns"):
        op.execute(rls.drop_policies_sql(table, NATIONAL_POLICIES))
    for table in ("campaign_need_lines", "campaign_needs", "campaign_products", "campaigns"):
        op.drop_table(table)
    for table in ("shipment_lines", "shipments"):
        op.execute(rls.drop_policy_sql(table))
    op.drop_table('shipment_lines')
    op.drop_table('shipments')
    op.execute(DROP_REPORT_GUARD)
    for table in REPORT_TABLES:
        op.execute(rls.append_only_sql(table))
    for column in ('loss_reason_code', 'adjustment_reason_code', 'lost_serials'):
        op.drop_column('stock_report_lines', column)
    op.drop_index('ix_stock_reports_status', table_name='stock_reports')
    op.drop_constraint(op.f('fk_stock_reports_reviewed_by_id_users'), 'stock_reports', type_='foreignkey')
    for column in ('review_comment', 'reviewed_by_id', 'reviewed_at', 'status'):
        op.drop_column('stock_reports', column)
    for table, name, column, old, _new in CHECKS:
        op.drop_constraint(op.f(name), table, type_="check")
        op.create_check_constraint(op.f(name), table, _in(column, old))
    for table in ("stock_movements", "relais_stock_movements"):
        op.drop_constraint(op.f(f"ck_{table}_reasoncode"), table, type_="check")
    op.drop_constraint(op.f('fk_serial_units_location_id_stock_locations'), 'serial_units', type_='foreignkey')
    op.drop_index(op.f('ix_serial_units_location_id'), table_name='serial_units')
    op.drop_column('serial_units', 'location_id')
    op.drop_column('relais_stock_movements', 'reason_code')
    op.drop_constraint(op.f('fk_stock_movements_location_id_stock_locations'), 'stock_movements',
                       type_='foreignkey')
    op.drop_index(op.f('ix_stock_movements_location_id'), table_name='stock_movements')
    op.drop_column('stock_movements', 'reason_code')
    op.drop_column('stock_movements', 'location_id')
    for table in CUSTODIAN_TABLES:
        op.execute(rls.drop_policy_sql(table))
    for table in NATIONAL_TABLES:
        op.execute(rls.drop_policies_sql(table, NATIONAL_POLICIES))
    op.drop_index(op.f('ix_stocktake_lines_stocktake_id'), table_name='stocktake_lines')
    op.drop_index(op.f('ix_stocktake_lines_relais_id'), table_name='stocktake_lines')
    op.drop_table('stocktake_lines')
    op.drop_index(op.f('ix_stocktakes_relais_id'), table_name='stocktakes')
    op.drop_index(op.f('ix_stocktakes_location_id'), table_name='stocktakes')
    op.drop_table('stocktakes')
    op.drop_index(op.f('ix_transfer_lines_transfer_id'), table_name='transfer_lines')
    op.drop_table('transfer_lines')
    op.drop_index(op.f('ix_transfers_to_location_id'), table_name='transfers')
    op.drop_index(op.f('ix_transfers_from_location_id'), table_name='transfers')
    op.drop_table('transfers')
    op.drop_table('location_stock')
    op.drop_index('uq_stock_locations_default', table_name='stock_locations')
    op.drop_table('stock_locations')
