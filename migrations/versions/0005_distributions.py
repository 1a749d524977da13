"""distributions and monthly stock reports

Revision ID: 0005_distributions
Revises: 0004_beneficiaries
"""

import sqlalchemy as sa
from alembic import op

from relais_platform import rls

revision = "0005_distributions"
down_revision = "0004_beneficiaries"
branch_labels = None
depends_on = None

# A distribution may name a beneficiary: its own relais only, never a network scope.
PERSONAL_TABLES = ("distributions",)
# Reports carry no name: the national team reads who reported through its audited scope.
TENANT_TABLES = ("stock_reports", "stock_report_lines")


def upgrade():
    op.create_table('stock_reports',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('period', sa.Date(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_by_id', sa.BigInteger(), nullable=True),
    sa.Column('relais_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('extract(day from period) = 1', name=op.f('ck_stock_reports_period_is_a_month')),
    sa.ForeignKeyConstraint(['relais_id'], ['relais.id'], name=op.f('fk_stock_reports_relais_id_relais')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_stock_reports_submitted_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_reports')),
    sa.UniqueConstraint('relais_id', 'period', name=op.f('uq_stock_reports_relais_id_period'))
    )
    op.create_index('ix_stock_reports_period', 'stock_reports', ['period'], unique=False)
    op.create_index(op.f('ix_stock_reports_relais_id'), 'stock_reports', ['relais_id'], unique=False)
    op.create_table('stock_report_lines',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('report_id', sa.BigInteger(), nullable=False),
    sa.Column('product_id', sa.BigInteger(), nullable=False),
    sa.Column('opening', sa.Integer(), nullable=False),
    sa.Column('received', sa.Integer(), nullable=False),
    sa.Column('distributed', sa.Integer(), nullable=False),
    sa.Column('losses', sa.Integer(), nullable=False),
    sa.Column('loss_reason', sa.Text(), nullable=True),
    sa.Column('other', sa.Integer(), server_default='0', nullable=False),
    sa.Column('counted_closing', sa.Integer(), nullable=False),
    sa.Column('adjustment', sa.Integer(), server_default='0', nullable=False),
    sa.Column('adjustment_reason', sa.Text(), nullable=True),
    sa.Column('relais_id', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('adjustment = 0 OR adjustment_reason IS NOT NULL', name=op.f('ck_stock_report_lines_adjustment_has_reason')),
    sa.CheckConstraint('counted_closing >= 0', name=op.f('ck_stock_report_lines_counted_non_negative')),
    sa.CheckConstraint('losses >= 0', name=op.f('ck_stock_report_lines_losses_non_negative')),
    sa.CheckConstraint('opening + received - distributed - losses + other + adjustment = counted_closing', name=op.f('ck_stock_report_lines_formula_balances')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_stock_report_lines_product_id_products')),
    sa.ForeignKeyConstraint(['relais_id'], ['relais.id'], name=op.f('fk_stock_report_lines_relais_id_relais')),
    sa.ForeignKeyConstraint(['report_id'], ['stock_reports.id'], name=op.f('fk_stock_report_lines_report_id_stock_reports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_report_lines')),
    sa.UniqueConstraint('relais_id', 'report_id', 'product_id', name=op.f('uq_stock_report_lines_relais_id_report_id_product_id'))
    )
    op.create_index(op.f('ix_stock_report_lines_relais_id'), 'stock_report_lines', ['relais_id'], unique=False)
    op.create_index(op.f('ix_stock_report_lines_report_id'), 'stock_report_lines', ['report_id'], unique=False)
    op.create_table('distributions',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('product_id', sa.BigInteger(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.BigInteger(), nullable=True),
    sa.Column('price_cents', sa.Integer(), nullable=False),
    sa.Column('programme', sa.Enum('standard', 'connect_refugees', name='programme', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('distributed_on', sa.Date(), nullable=False),
    sa.Column('beneficiary_id', sa.BigInteger(), nullable=True),
    sa.Column('warranty_ends_on', sa.Date(), nullable=True),
    sa.Column('recorded_by_id', sa.BigInteger(), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.Column('warranty_returned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('warranty_outcome', sa.Enum('returned', 'defective', name='warrantyoutcome', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('warranty_note', sa.Text(), nullable=True),
    sa.Column('relais_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('(cancelled_at IS NULL) = (cancel_reason IS NULL)', name=op.f('ck_distributions_cancel_has_reason')),
    sa.CheckConstraint('price_cents >= 0', name=op.f('ck_distributions_price_non_negative')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_distributions_quantity_positive')),
    sa.CheckConstraint('unit_id IS NULL OR quantity = 1', name=op.f('ck_distributions_one_unit_per_serial')),
    sa.ForeignKeyConstraint(['beneficiary_id'], ['beneficiaries.id'], name=op.f('fk_distributions_beneficiary_id_beneficiaries')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_distributions_product_id_products')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_distributions_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['relais_id'], ['relais.id'], name=op.f('fk_distributions_relais_id_relais')),
    sa.ForeignKeyConstraint(['unit_id'], ['serial_units.id'], name=op.f('fk_distributions_unit_id_serial_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_distributions'))
    )
    op.create_index(op.f('ix_distributions_beneficiary_id'), 'distributions', ['beneficiary_id'], unique=False)
    op.create_index(op.f('ix_distributions_product_id'), 'distributions', ['product_id'], unique=False)
    op.create_index('ix_distributions_relais_date', 'distributions', ['relais_id', 'distributed_on', 'id'], unique=False)
    op.create_index(op.f('ix_distributions_relais_id'), 'distributions', ['relais_id'], unique=False)
    op.create_index(op.f('ix_distributions_unit_id'), 'distributions', ['unit_id'], unique=False)
    for table in PERSONAL_TABLES:
        op.execute(rls.tenant_table_sql(table, personal=True))
    for table in TENANT_TABLES:
        op.execute(rls.tenant_table_sql(table))


def downgrade():
    for table in PERSONAL_TABLES + TENANT_TABLES:
        op.execute(rls.drop_policy_sql(table))
    op.drop_index(op.f('ix_distributions_unit_id'), table_name='distributions')
    op.drop_index(op.f('ix_distributions_relais_id'), table_name='distributions')
    op.drop_index('ix_distributions_relais_date', table_name='distributions')
    op.drop_index(op.f('ix_distributions_product_id'), table_name='distributions')
    op.drop_index(op.f('ix_distributions_beneficiary_id'), table_name='distributions')
    op.drop_table('distributions')
    op.drop_index(op.f('ix_stock_report_lines_report_id'), table_name='stock_report_lines')
    op.drop_index(op.f('ix_stock_report_lines_relais_id'), table_name='stock_report_lines')
    op.drop_table('stock_report_lines')
    op.drop_index(op.f('ix_stock_reports_relais_id'), table_name='stock_reports')
    op.drop_index('ix_stock_reports_period', table_name='stock_reports')
    op.drop_table('stock_reports')
