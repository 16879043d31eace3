"""Initial billing schema: customers, invoices, lines, split-line groups, validation issues, meters,
usage events, charges, sync state, stored subscriptions and the customer lock table.

Revision ID: 0001
Revises: 
Create Date: 2026-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import billing.store.column_types
from billing.store.column_types import JsonDocument

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('billing_customer_locks',
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('namespace', 'customer_id', name=op.f('pk_billing_customer_locks'))
    )
    op.create_table('charges',
    sa.Column('sequence', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('currency', sa.String(length=16), nullable=False),
    sa.Column('unique_reference_id', sa.String(length=512), nullable=True),
    sa.Column('subscription_id', sa.String(length=64), nullable=True),
    sa.Column('subscription_phase_id', sa.String(length=64), nullable=True),
    sa.Column('subscription_item_id', sa.String(length=64), nullable=True),
    sa.Column('settlement_mode', sa.String(length=32), nullable=True),
    sa.Column('purchase_key', sa.String(length=256), nullable=True),
    sa.Column('status', sa.String(length=64), nullable=False),
    sa.Column('meta_status', sa.String(length=16), nullable=False),
    sa.Column('advance_after', billing.store.column_types.UtcDateTime(), nullable=True),
    sa.Column('tax_config', JsonDocument, nullable=True),
    sa.Column('attributes', JsonDocument, nullable=False),
    sa.Column('base_intent', JsonDocument, nullable=False),
    sa.Column('override_intent', JsonDocument, nullable=True),
    sa.Column('state', JsonDocument, nullable=False),
    sa.Column('base_deleted_at', billing.store.column_types.UtcDateTime(), nullable=True),
    sa.Column('created_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('updated_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('deleted_at', billing.store.column_types.UtcDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('sequence', name=op.f('pk_charges')),
    sa.UniqueConstraint('id', name=op.f('uq_charges_id')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('charges', schema=None) as batch_op:
        batch_op.create_index('ix_charges_customer', ['namespace', 'customer_id'], unique=False)
        batch_op.create_index('ix_charges_live_identity', ['namespace', 'unique_reference_id'], unique=True, sqlite_where=sa.text('deleted_at IS NULL AND unique_reference_id IS NOT NULL'), postgresql_where=sa.text('deleted_at IS NULL AND unique_reference_id IS NOT NULL'))
        batch_op.create_index('ix_charges_live_purchase_key', ['namespace', 'customer_id', 'purchase_key'], unique=True, sqlite_where=sa.text('deleted_at IS NULL AND purchase_key IS NOT NULL'), postgresql_where=sa.text('deleted_at IS NULL AND purchase_key IS NOT NULL'))
        batch_op.create_index('ix_charges_subscription', ['namespace', 'subscription_id'], unique=False)

    op.create_table('customers',
    sa.Column('sequence', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=True),
    sa.Column('currency', sa.String(length=16), nullable=False),
    sa.Column('billing_profile', JsonDocument, nullable=False),
    sa.Column('created_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('updated_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('deleted_at', billing.store.column_types.UtcDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('sequence', name=op.f('pk_customers')),
    sa.UniqueConstraint('namespace', 'id', name=op.f('uq_customers_namespace_id')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.create_index('ix_customers_live_key', ['namespace', 'key'], unique=True, sqlite_where=sa.text('deleted_at IS NULL'), postgresql_where=sa.text('deleted_at IS NULL'))

    op.create_table('invoices',
    sa.Column('sequence', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=64), nullable=False),
    sa.Column('immutable', sa.Boolean(), nullable=False),
    sa.Column('currency', sa.String(length=16), nullable=False),
    sa.Column('collection_at', billing.store.column_types.UtcDateTime(), nullable=True),
    sa.Column('collected_at', billing.store.column_types.UtcDateTime(), nullable=True),
    sa.Column('issued_at', billing.store.column_types.UtcDateTime(), nullable=True),
    sa.Column('due_at', billing.store.column_types.UtcDateTime(), nullable=True),
    sa.Column('created_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('updated_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('deleted_at', billing.store.column_types.UtcDateTime(), nullable=True),
    sa.Column('amount', billing.store.column_types.DecimalText(), nullable=False),
    sa.Column('discounts', billing.store.column_types.DecimalText(), nullable=False),
    sa.Column('credits', billing.store.column_types.DecimalText(), nullable=False),
    sa.Column('taxes', billing.store.column_types.DecimalText(), nullable=False),
    sa.Column('total', billing.store.column_types.DecimalText(), nullable=False),
    sa.PrimaryKeyConstraint('sequence', name=op.f('pk_invoices')),
    sa.UniqueConstraint('id', name=op.f('uq_invoices_id')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.create_index('ix_invoices_customer', ['namespace', 'customer_id'], unique=False)
        batch_op.create_index('ix_invoices_live_gathering', ['namespace', 'customer_id', 'currency'], unique=True, sqlite_where=sa.text("kind = 'gathering' AND deleted_at IS NULL"), postgresql_where=sa.text("kind = 'gathering' AND deleted_at IS NULL"))

    op.create_table('meters',
    sa.Column('sequence', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('aggregation', sa.String(length=16), nullable=False),
    sa.Column('created_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('sequence', name=op.f('pk_meters')),
    sa.UniqueConstraint('id', name=op.f('uq_meters_id')),
    sa.UniqueConstraint('namespace', 'key', name=op.f('uq_meters_namespace_key')),
    sqlite_autoincrement=True
    )
    op.create_table('split_line_groups',
    sa.Column('sequence', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('currency', sa.String(length=16), nullable=False),
    sa.Column('service_period_start', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('service_period_end', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('unique_reference_id', sa.String(length=512), nullable=True),
    sa.Column('price', JsonDocument, nullable=False),
    sa.Column('feature_key', sa.String(length=128), nullable=True),
    sa.Column('subscription_id', sa.String(length=64), nullable=True),
    sa.Column('subscription_phase_id', sa.String(length=64), nullable=True),
    sa.Column('subscription_item_id', sa.String(length=64), nullable=True),
    sa.Column('subscription_billing_period_start', billing.store.column_types.UtcDateTime(), nullable=True),
    sa.Column('subscription_billing_period_end', billing.store.column_types.UtcDateTime(), nullable=True),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('metadata', JsonDocument, nullable=False),
    sa.Column('rate_card_discounts', JsonDocument, nullable=True),
    sa.Column('created_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('updated_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('deleted_at', billing.store.column_types.UtcDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('sequence', name=op.f('pk_split_line_groups')),
    sa.UniqueConstraint('id', name=op.f('uq_split_line_groups_id')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('split_line_groups', schema=None) as batch_op:
        batch_op.create_index('ix_split_line_groups_live_identity', ['namespace', 'subscription_id', 'unique_reference_id'], unique=True, sqlite_where=sa.text('deleted_at IS NULL'), postgresql_where=sa.text('deleted_at IS NULL'))

    op.create_table('subscription_billing_sync_state',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('subscription_id', sa.String(length=64), nullable=False),
    sa.Column('has_billables', sa.Boolean(), nullable=False),
    sa.Column('synced_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('next_sync_after', billing.store.column_types.UtcDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription_billing_sync_state')),
    sa.UniqueConstraint('namespace', 'subscription_id', name=op.f('uq_subscription_billing_sync_state_namespace_subscription_id')),
    sa.UniqueConstraint('subscription_id', name=op.f('uq_subscription_billing_sync_state_subscription_id')),
    sqlite_autoincrement=True
    )
    op.create_table('subscriptions',
    sa.Column('sequence', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('view', JsonDocument, nullable=False),
    sa.Column('active_from', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('active_to', billing.store.column_types.UtcDateTime(), nullable=True),
    sa.Column('created_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('updated_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('deleted_at', billing.store.column_types.UtcDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('sequence', name=op.f('pk_subscriptions')),
    sa.UniqueConstraint('namespace', 'id', name=op.f('uq_subscriptions_namespace_id')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.create_index('ix_subscriptions_customer', ['namespace', 'customer_id'], unique=False)

    op.create_table('usage_events',
    sa.Column('sequence', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('meter_key', sa.String(length=64), nullable=False),
    sa.Column('time', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('value', billing.store.column_types.DecimalText(), nullable=False),
    sa.Column('ingested_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('sequence', name=op.f('pk_usage_events')),
    sa.UniqueConstraint('id', name=op.f('uq_usage_events_id')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('usage_events', schema=None) as batch_op:
        batch_op.create_index('ix_usage_events_lookup', ['namespace', 'customer_id', 'meter_key', 'time'], unique=False)

    op.create_table('charge_realizations',
    sa.Column('sequence', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('charge_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=True),
    sa.Column('service_period_start', billing.store.column_types.UtcDateTime(), nullable=True),
    sa.Column('service_period_end', billing.store.column_types.UtcDateTime(), nullable=True),
    sa.Column('line_id', sa.String(length=64), nullable=True),
    sa.Column('invoice_id', sa.String(length=64), nullable=True),
    sa.Column('data', JsonDocument, nullable=False),
    sa.Column('created_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('deleted_at', billing.store.column_types.UtcDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['charge_id'], ['charges.id'], name=op.f('fk_charge_realizations_charge_id_charges')),
    sa.PrimaryKeyConstraint('sequence', name=op.f('pk_charge_realizations')),
    sa.UniqueConstraint('id', name=op.f('uq_charge_realizations_id')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('charge_realizations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_charge_realizations_charge_id'), ['charge_id'], unique=False)

    op.create_table('invoice_lines',
    sa.Column('sequence', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('invoice_id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('currency', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('managed_by', sa.String(length=16), nullable=False),
    sa.Column('annotations', JsonDocument, nullable=False),
    sa.Column('metadata', JsonDocument, nullable=False),
    sa.Column('service_period_start', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('service_period_end', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('invoice_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('price', JsonDocument, nullable=False),
    sa.Column('price_type', sa.String(length=16), nullable=False),
    sa.Column('per_unit_amount', billing.store.column_types.DecimalText(), nullable=True),
    sa.Column('quantity', billing.store.column_types.DecimalText(), nullable=True),
    sa.Column('feature_key', sa.String(length=128), nullable=True),
    sa.Column('rate_card_discounts', JsonDocument, nullable=True),
    sa.Column('tax_config', JsonDocument, nullable=True),
    sa.Column('child_unique_reference_id', sa.String(length=512), nullable=True),
    sa.Column('subscription_id', sa.String(length=64), nullable=True),
    sa.Column('subscription_phase_id', sa.String(length=64), nullable=True),
    sa.Column('subscription_item_id', sa.String(length=64), nullable=True),
    sa.Column('subscription_billing_period_start', billing.store.column_types.UtcDateTime(), nullable=True),
    sa.Column('subscription_billing_period_end', billing.store.column_types.UtcDateTime(), nullable=True),
    sa.Column('split_line_group_id', sa.String(length=64), nullable=True),
    sa.Column('charge_id', sa.String(length=64), nullable=True),
    sa.Column('engine', sa.String(length=32), nullable=False),
    sa.Column('created_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('updated_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('deleted_at', billing.store.column_types.UtcDateTime(), nullable=True),
    sa.Column('amount', billing.store.column_types.DecimalText(), nullable=False),
    sa.Column('discounts', billing.store.column_types.DecimalText(), nullable=False),
    sa.Column('credits', billing.store.column_types.DecimalText(), nullable=False),
    sa.Column('taxes', billing.store.column_types.DecimalText(), nullable=False),
    sa.Column('total', billing.store.column_types.DecimalText(), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_lines_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['split_line_group_id'], ['split_line_groups.id'], name=op.f('fk_invoice_lines_split_line_group_id_split_line_groups')),
    sa.PrimaryKeyConstraint('sequence', name=op.f('pk_invoice_lines')),
    sa.UniqueConstraint('id', name=op.f('uq_invoice_lines_id')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_lines_charge_id'), ['charge_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_lines_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index('ix_invoice_lines_live_identity', ['namespace', 'subscription_id', 'child_unique_reference_id'], unique=True, sqlite_where=sa.text("deleted_at IS NULL AND managed_by = 'subscription' AND charge_id IS NULL"), postgresql_where=sa.text("deleted_at IS NULL AND managed_by = 'subscription' AND charge_id IS NULL"))
        batch_op.create_index(batch_op.f('ix_invoice_lines_split_line_group_id'), ['split_line_group_id'], unique=False)
        batch_op.create_index('ix_invoice_lines_subscription', ['namespace', 'subscription_id'], unique=False)

    op.create_table('invoice_validation_issues',
    sa.Column('sequence', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('invoice_id', sa.String(length=64), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('code', sa.String(length=128), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('component', sa.String(length=128), nullable=False),
    sa.Column('path', sa.String(length=1024), nullable=False),
    sa.Column('dedupe_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('updated_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('deleted_at', billing.store.column_types.UtcDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_validation_issues_invoice_id_invoices')),
    sa.PrimaryKeyConstraint('sequence', name=op.f('pk_invoice_validation_issues')),
    sa.UniqueConstraint('id', name=op.f('uq_invoice_validation_issues_id')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('invoice_validation_issues', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_validation_issues_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index('ix_invoice_validation_issues_live_hash', ['invoice_id', 'dedupe_hash'], unique=True, sqlite_where=sa.text('deleted_at IS NULL'), postgresql_where=sa.text('deleted_at IS NULL'))



def downgrade() -> None:
    with op.batch_alter_table('invoice_validation_issues', schema=None) as batch_op:
        batch_op.drop_index('ix_invoice_validation_issues_live_hash', sqlite_where=sa.text('deleted_at IS NULL'), postgresql_where=sa.text('deleted_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_invoice_validation_issues_invoice_id'))

    op.drop_table('invoice_validation_issues')
    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_invoice_lines_subscription')
        batch_op.drop_index(batch_op.f('ix_invoice_lines_split_line_group_id'))
        batch_op.drop_index('ix_invoice_lines_live_identity', sqlite_where=sa.text("deleted_at IS NULL AND managed_by = 'subscription' AND charge_id IS NULL"), postgresql_where=sa.text("deleted_at IS NULL AND managed_by = 'subscription' AND charge_id IS NULL"))
        batch_op.drop_index(batch_op.f('ix_invoice_lines_invoice_id'))
        batch_op.drop_index(batch_op.f('ix_invoice_lines_charge_id'))

    op.drop_table('invoice_lines')
    with op.batch_alter_table('charge_realizations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_charge_realizations_charge_id'))

    op.drop_table('charge_realizations')
    with op.batch_alter_table('usage_events', schema=None) as batch_op:
        batch_op.drop_index('ix_usage_events_lookup')

    op.drop_table('usage_events')
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_index('ix_subscriptions_customer')

    op.drop_table('subscriptions')
    op.drop_table('subscription_billing_sync_state')
    with op.batch_alter_table('split_line_groups', schema=None) as batch_op:
        batch_op.drop_index('ix_split_line_groups_live_identity', sqlite_where=sa.text('deleted_at IS NULL'), postgresql_where=sa.text('deleted_at IS NULL'))

    op.drop_table('split_line_groups')
    op.drop_table('meters')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index('ix_invoices_live_gathering', sqlite_where=sa.text("kind = 'gathering' AND deleted_at IS NULL"), postgresql_where=sa.text("kind = 'gathering' AND deleted_at IS NULL"))
        batch_op.drop_index('ix_invoices_customer')

    op.drop_table('invoices')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index('ix_customers_live_key', sqlite_where=sa.text('deleted_at IS NULL'), postgresql_where=sa.text('deleted_at IS NULL'))

    op.drop_table('customers')
    with op.batch_alter_table('charges', schema=None) as batch_op:
        batch_op.drop_index('ix_charges_subscription')
        batch_op.drop_index('ix_charges_live_purchase_key', sqlite_where=sa.text('deleted_at IS NULL AND purchase_key IS NOT NULL'), postgresql_where=sa.text('deleted_at IS NULL AND purchase_key IS NOT NULL'))
        batch_op.drop_index('ix_charges_live_identity', sqlite_where=sa.text('deleted_at IS NULL AND unique_reference_id IS NOT NULL'), postgresql_where=sa.text('deleted_at IS NULL AND unique_reference_id IS NOT NULL'))
        batch_op.drop_index('ix_charges_customer')

    op.drop_table('charges')
    op.drop_table('billing_customer_locks')
