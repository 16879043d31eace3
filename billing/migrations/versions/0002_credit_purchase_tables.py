"""Credit purchases (charges.md §5): the per-type purchase row, custom-currency cost bases and the
published currency cost bases they resolve against, grant realizations, payments and invoice links,
each with its uniqueness index, and the index allowing one live ``charge_creditpurchase`` line per
charge.

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import billing.store.column_types
from billing.store.column_types import JsonDocument

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('currency_cost_bases',
    sa.Column('sequence', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('currency', sa.String(length=16), nullable=False),
    sa.Column('fiat_currency', sa.String(length=16), nullable=False),
    sa.Column('rate', billing.store.column_types.DecimalText(), nullable=False),
    sa.Column('effective_from', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('created_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('sequence', name=op.f('pk_currency_cost_bases')),
    sa.UniqueConstraint('id', name=op.f('uq_currency_cost_bases_id')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('currency_cost_bases', schema=None) as batch_op:
        batch_op.create_index('ix_currency_cost_bases_lookup', ['namespace', 'currency', 'fiat_currency', 'effective_from'], unique=False)

    op.create_table('credit_purchase_cost_bases',
    sa.Column('sequence', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('charge_id', sa.String(length=64), nullable=False),
    sa.Column('currency', sa.String(length=16), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('fiat_currency', sa.String(length=16), nullable=False),
    sa.Column('rate', billing.store.column_types.DecimalText(), nullable=True),
    sa.Column('currency_cost_basis_id', sa.String(length=64), nullable=True),
    sa.Column('resolved_rate', billing.store.column_types.DecimalText(), nullable=True),
    sa.Column('resolved_fiat_currency', sa.String(length=16), nullable=True),
    sa.Column('resolved_at', billing.store.column_types.UtcDateTime(), nullable=True),
    sa.Column('resolved_source_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('updated_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['currency_cost_basis_id'], ['currency_cost_bases.id'], name=op.f('fk_credit_purchase_cost_bases_currency_cost_basis_id_currency_cost_bases'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('sequence', name=op.f('pk_credit_purchase_cost_bases')),
    sa.UniqueConstraint('id', name=op.f('uq_credit_purchase_cost_bases_id')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('credit_purchase_cost_bases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_purchase_cost_bases_charge_id'), ['charge_id'], unique=False)

    op.create_table('credit_purchases',
    sa.Column('sequence', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('charge_id', sa.String(length=64), nullable=False),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('unique_reference_id', sa.String(length=512), nullable=True),
    sa.Column('purchase_key', sa.String(length=256), nullable=True),
    sa.Column('settlement_type', sa.String(length=16), nullable=False),
    sa.Column('external_initial_status', sa.String(length=16), nullable=True),
    sa.Column('fiat_rate', billing.store.column_types.DecimalText(), nullable=True),
    sa.Column('cost_basis_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('deleted_at', billing.store.column_types.UtcDateTime(), nullable=True),
    sa.CheckConstraint("(settlement_type = 'external' AND external_initial_status IS NOT NULL) OR (settlement_type <> 'external' AND external_initial_status IS NULL)", name='external_initial_status'),
    sa.CheckConstraint("settlement_type IN ('promotional', 'external', 'invoice')", name='settlement_type'),
    sa.CheckConstraint('fiat_rate IS NULL OR CAST(fiat_rate AS NUMERIC) > 0', name='fiat_rate_positive'),
    sa.ForeignKeyConstraint(['charge_id'], ['charges.id'], name=op.f('fk_credit_purchases_charge_id_charges')),
    sa.ForeignKeyConstraint(['cost_basis_id'], ['credit_purchase_cost_bases.id'], name=op.f('fk_credit_purchases_cost_basis_id_credit_purchase_cost_bases'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('sequence', name=op.f('pk_credit_purchases')),
    sa.UniqueConstraint('charge_id', name=op.f('uq_credit_purchases_charge_id')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('credit_purchases', schema=None) as batch_op:
        batch_op.create_index('ix_credit_purchases_live_identity', ['namespace', 'customer_id', 'unique_reference_id'], unique=True, sqlite_where=sa.text('deleted_at IS NULL AND unique_reference_id IS NOT NULL'), postgresql_where=sa.text('deleted_at IS NULL AND unique_reference_id IS NOT NULL'))
        batch_op.create_index('ix_credit_purchases_live_key', ['namespace', 'customer_id', 'purchase_key'], unique=True, sqlite_where=sa.text('deleted_at IS NULL AND purchase_key IS NOT NULL'), postgresql_where=sa.text('deleted_at IS NULL AND purchase_key IS NOT NULL'))

    op.create_table('credit_purchase_grants',
    sa.Column('sequence', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('charge_id', sa.String(length=64), nullable=False),
    sa.Column('transaction_group_id', sa.String(length=64), nullable=False),
    sa.Column('granted_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('created_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.CheckConstraint("transaction_group_id <> ''", name='transaction_group_id_set'),
    sa.ForeignKeyConstraint(['charge_id'], ['charges.id'], name=op.f('fk_credit_purchase_grants_charge_id_charges')),
    sa.PrimaryKeyConstraint('sequence', name=op.f('pk_credit_purchase_grants')),
    sa.UniqueConstraint('id', name=op.f('uq_credit_purchase_grants_id')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('credit_purchase_grants', schema=None) as batch_op:
        batch_op.create_index('ix_credit_purchase_grants_one_per_charge', ['namespace', 'charge_id'], unique=True)

    op.create_table('credit_purchase_payments',
    sa.Column('sequence', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('charge_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('fiat_amount', billing.store.column_types.DecimalText(), nullable=False),
    sa.Column('currency', sa.String(length=16), nullable=False),
    sa.Column('service_period_start', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('service_period_end', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('authorized_transaction_group_id', sa.String(length=64), nullable=False),
    sa.Column('authorized_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('failed_transaction_group_id', sa.String(length=64), nullable=True),
    sa.Column('failed_at', billing.store.column_types.UtcDateTime(), nullable=True),
    sa.Column('settled_transaction_group_id', sa.String(length=64), nullable=True),
    sa.Column('settled_at', billing.store.column_types.UtcDateTime(), nullable=True),
    sa.Column('voided_at', billing.store.column_types.UtcDateTime(), nullable=True),
    sa.Column('invoice_id', sa.String(length=64), nullable=True),
    sa.Column('line_id', sa.String(length=64), nullable=True),
    sa.Column('annotations', JsonDocument, nullable=False),
    sa.Column('created_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('updated_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('external', 'invoiced')", name='kind'),
    sa.CheckConstraint("status IN ('authorized', 'failed', 'settled', 'voided')", name='status'),
    sa.ForeignKeyConstraint(['charge_id'], ['charges.id'], name=op.f('fk_credit_purchase_payments_charge_id_charges')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_credit_purchase_payments_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['line_id'], ['invoice_lines.id'], name=op.f('fk_credit_purchase_payments_line_id_invoice_lines')),
    sa.PrimaryKeyConstraint('sequence', name=op.f('pk_credit_purchase_payments')),
    sa.UniqueConstraint('id', name=op.f('uq_credit_purchase_payments_id')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('credit_purchase_payments', schema=None) as batch_op:
        batch_op.create_index('ix_credit_purchase_payments_one_per_charge', ['namespace', 'charge_id'], unique=True)

    op.create_table('credit_purchase_invoice_links',
    sa.Column('sequence', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('charge_id', sa.String(length=64), nullable=False),
    sa.Column('invoice_id', sa.String(length=64), nullable=False),
    sa.Column('line_id', sa.String(length=64), nullable=False),
    sa.Column('linked_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('detailed_line', JsonDocument, nullable=True),
    sa.ForeignKeyConstraint(['charge_id'], ['charges.id'], name=op.f('fk_credit_purchase_invoice_links_charge_id_charges')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_credit_purchase_invoice_links_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['line_id'], ['invoice_lines.id'], name=op.f('fk_credit_purchase_invoice_links_line_id_invoice_lines')),
    sa.PrimaryKeyConstraint('sequence', name=op.f('pk_credit_purchase_invoice_links')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('credit_purchase_invoice_links', schema=None) as batch_op:
        batch_op.create_index('ix_credit_purchase_invoice_links_one_per_charge', ['namespace', 'charge_id'], unique=True)

    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.create_index('ix_invoice_lines_live_credit_purchase', ['namespace', 'charge_id'], unique=True, sqlite_where=sa.text("deleted_at IS NULL AND engine = 'charge_creditpurchase'"), postgresql_where=sa.text("deleted_at IS NULL AND engine = 'charge_creditpurchase'"))


def downgrade() -> None:
    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_invoice_lines_live_credit_purchase')
    for table in ('credit_purchase_invoice_links', 'credit_purchase_payments', 'credit_purchase_grants',
                  'credit_purchases', 'credit_purchase_cost_bases', 'currency_cost_bases'):
        op.drop_table(table)
