"""Credit ledger (charges.md §2): transaction groups and their entries (append-only), grants,
negative-balance records, consumption allocations, corrections, covers and uncovers; the partial unique
indexes that allow one issue and one expiry group per grant, and one grant per purchase.

Revision ID: 0003
Revises: 0002
Create Date: 2026-01-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import billing.store.column_types
from billing.store.column_types import JsonDocument

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ledger_transaction_groups',
    sa.Column('sequence', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('booked_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('recorded_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('charge_id', sa.String(length=64), nullable=True),
    sa.Column('run_id', sa.String(length=64), nullable=True),
    sa.Column('grant_id', sa.String(length=64), nullable=True),
    sa.Column('negative_balance_id', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('sequence', name=op.f('pk_ledger_transaction_groups')),
    sa.UniqueConstraint('id', name=op.f('uq_ledger_transaction_groups_id')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('ledger_transaction_groups', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_transaction_groups_charge', ['namespace', 'charge_id'], unique=False)
        batch_op.create_index('ix_ledger_transaction_groups_customer', ['namespace', 'customer_id'], unique=False)
        batch_op.create_index('ix_ledger_transaction_groups_one_expiry', ['namespace', 'grant_id'], unique=True, sqlite_where=sa.text("kind = 'breakage' AND grant_id IS NOT NULL"), postgresql_where=sa.text("kind = 'breakage' AND grant_id IS NOT NULL"))
        batch_op.create_index('ix_ledger_transaction_groups_one_issue', ['namespace', 'grant_id'], unique=True, sqlite_where=sa.text("kind = 'grant_issue' AND grant_id IS NOT NULL"), postgresql_where=sa.text("kind = 'grant_issue' AND grant_id IS NOT NULL"))

    op.create_table('ledger_entries',
    sa.Column('sequence', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('group_id', sa.String(length=64), nullable=False),
    sa.Column('posting', sa.String(length=40), nullable=False),
    sa.Column('account', sa.String(length=16), nullable=False),
    sa.Column('currency', sa.String(length=16), nullable=False),
    sa.Column('amount', billing.store.column_types.DecimalText(), nullable=False),
    sa.Column('booked_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('lot_id', sa.String(length=64), nullable=True),
    sa.Column('cost_basis', billing.store.column_types.DecimalText(), nullable=True),
    sa.Column('receivable_status', sa.String(length=16), nullable=True),
    sa.Column('source_kind', sa.String(length=24), nullable=True),
    sa.Column('source_id', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['group_id'], ['ledger_transaction_groups.id'], name=op.f('fk_ledger_entries_group_id_ledger_transaction_groups')),
    sa.PrimaryKeyConstraint('sequence', name=op.f('pk_ledger_entries')),
    sa.UniqueConstraint('id', name=op.f('uq_ledger_entries_id')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_entries_customer_account', ['namespace', 'customer_id', 'account'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_entries_group_id'), ['group_id'], unique=False)
        batch_op.create_index('ix_ledger_entries_source', ['namespace', 'source_kind', 'source_id'], unique=False)

    op.create_table('ledger_grants',
    sa.Column('sequence', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('currency', sa.String(length=16), nullable=False),
    sa.Column('amount', billing.store.column_types.DecimalText(), nullable=False),
    sa.Column('covered_at_issue', billing.store.column_types.DecimalText(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('effective_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('expires_at', billing.store.column_types.UtcDateTime(), nullable=True),
    sa.Column('feature_filters', JsonDocument, nullable=False),
    sa.Column('cost_basis', billing.store.column_types.DecimalText(), nullable=True),
    sa.Column('source_charge_id', sa.String(length=64), nullable=False),
    sa.Column('issue_group_id', sa.String(length=64), nullable=False),
    sa.Column('revoked_remainder', billing.store.column_types.DecimalText(), nullable=False),
    sa.Column('consumed_to_negative', billing.store.column_types.DecimalText(), nullable=False),
    sa.Column('voided_at', billing.store.column_types.UtcDateTime(), nullable=True),
    sa.Column('void_kind', sa.String(length=16), nullable=True),
    sa.Column('void_group_id', sa.String(length=64), nullable=True),
    sa.Column('negative_balance_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['issue_group_id'], ['ledger_transaction_groups.id'], name=op.f('fk_ledger_grants_issue_group_id_ledger_transaction_groups')),
    sa.PrimaryKeyConstraint('sequence', name=op.f('pk_ledger_grants')),
    sa.UniqueConstraint('id', name=op.f('uq_ledger_grants_id')),
    sa.UniqueConstraint('namespace', 'source_charge_id', name=op.f('uq_ledger_grants_namespace_source_charge_id')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('ledger_grants', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_grants_customer', ['namespace', 'customer_id'], unique=False)

    op.create_table('ledger_negative_balances',
    sa.Column('sequence', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('currency', sa.String(length=16), nullable=False),
    sa.Column('feature_key', sa.String(length=128), nullable=True),
    sa.Column('amount', billing.store.column_types.DecimalText(), nullable=False),
    sa.Column('source_kind', sa.String(length=24), nullable=False),
    sa.Column('source_id', sa.String(length=64), nullable=False),
    sa.Column('charge_id', sa.String(length=64), nullable=True),
    sa.Column('group_id', sa.String(length=64), nullable=False),
    sa.Column('booked_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('created_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['ledger_transaction_groups.id'], name=op.f('fk_ledger_negative_balances_group_id_ledger_transaction_groups')),
    sa.PrimaryKeyConstraint('sequence', name=op.f('pk_ledger_negative_balances')),
    sa.UniqueConstraint('id', name=op.f('uq_ledger_negative_balances_id')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('ledger_negative_balances', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_negative_balances_customer', ['namespace', 'customer_id'], unique=False)

    op.create_table('ledger_allocations',
    sa.Column('sequence', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('currency', sa.String(length=16), nullable=False),
    sa.Column('group_id', sa.String(length=64), nullable=False),
    sa.Column('charge_id', sa.String(length=64), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=True),
    sa.Column('source_kind', sa.String(length=24), nullable=False),
    sa.Column('grant_id', sa.String(length=64), nullable=True),
    sa.Column('negative_balance_id', sa.String(length=64), nullable=True),
    sa.Column('amount', billing.store.column_types.DecimalText(), nullable=False),
    sa.Column('cost_basis', billing.store.column_types.DecimalText(), nullable=True),
    sa.Column('booked_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('created_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['grant_id'], ['ledger_grants.id'], name=op.f('fk_ledger_allocations_grant_id_ledger_grants')),
    sa.ForeignKeyConstraint(['group_id'], ['ledger_transaction_groups.id'], name=op.f('fk_ledger_allocations_group_id_ledger_transaction_groups')),
    sa.ForeignKeyConstraint(['negative_balance_id'], ['ledger_negative_balances.id'], name=op.f('fk_ledger_allocations_negative_balance_id_ledger_negative_balances')),
    sa.PrimaryKeyConstraint('sequence', name=op.f('pk_ledger_allocations')),
    sa.UniqueConstraint('id', name=op.f('uq_ledger_allocations_id')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('ledger_allocations', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_allocations_customer', ['namespace', 'customer_id'], unique=False)
        batch_op.create_index('ix_ledger_allocations_run', ['namespace', 'charge_id', 'run_id'], unique=False)

    op.create_table('ledger_covers',
    sa.Column('sequence', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('grant_id', sa.String(length=64), nullable=False),
    sa.Column('negative_balance_id', sa.String(length=64), nullable=False),
    sa.Column('amount', billing.store.column_types.DecimalText(), nullable=False),
    sa.Column('group_id', sa.String(length=64), nullable=False),
    sa.Column('booked_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('created_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['grant_id'], ['ledger_grants.id'], name=op.f('fk_ledger_covers_grant_id_ledger_grants')),
    sa.ForeignKeyConstraint(['group_id'], ['ledger_transaction_groups.id'], name=op.f('fk_ledger_covers_group_id_ledger_transaction_groups')),
    sa.ForeignKeyConstraint(['negative_balance_id'], ['ledger_negative_balances.id'], name=op.f('fk_ledger_covers_negative_balance_id_ledger_negative_balances')),
    sa.PrimaryKeyConstraint('sequence', name=op.f('pk_ledger_covers')),
    sa.UniqueConstraint('id', name=op.f('uq_ledger_covers_id')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('ledger_covers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_covers_grant_id'), ['grant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_covers_negative_balance_id'), ['negative_balance_id'], unique=False)

    op.create_table('ledger_corrections',
    sa.Column('sequence', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('group_id', sa.String(length=64), nullable=False),
    sa.Column('allocation_id', sa.String(length=64), nullable=False),
    sa.Column('amount', billing.store.column_types.DecimalText(), nullable=False),
    sa.Column('booked_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('created_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['allocation_id'], ['ledger_allocations.id'], name=op.f('fk_ledger_corrections_allocation_id_ledger_allocations')),
    sa.ForeignKeyConstraint(['group_id'], ['ledger_transaction_groups.id'], name=op.f('fk_ledger_corrections_group_id_ledger_transaction_groups')),
    sa.PrimaryKeyConstraint('sequence', name=op.f('pk_ledger_corrections')),
    sa.UniqueConstraint('id', name=op.f('uq_ledger_corrections_id')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('ledger_corrections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_corrections_allocation_id'), ['allocation_id'], unique=False)

    op.create_table('ledger_uncovers',
    sa.Column('sequence', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('cover_id', sa.String(length=64), nullable=False),
    sa.Column('amount', billing.store.column_types.DecimalText(), nullable=False),
    sa.Column('group_id', sa.String(length=64), nullable=False),
    sa.Column('booked_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.Column('created_at', billing.store.column_types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['cover_id'], ['ledger_covers.id'], name=op.f('fk_ledger_uncovers_cover_id_ledger_covers')),
    sa.ForeignKeyConstraint(['group_id'], ['ledger_transaction_groups.id'], name=op.f('fk_ledger_uncovers_group_id_ledger_transaction_groups')),
    sa.PrimaryKeyConstraint('sequence', name=op.f('pk_ledger_uncovers')),
    sa.UniqueConstraint('id', name=op.f('uq_ledger_uncovers_id')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('ledger_uncovers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_uncovers_cover_id'), ['cover_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('ledger_uncovers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_uncovers_cover_id'))

    op.drop_table('ledger_uncovers')
    with op.batch_alter_table('ledger_corrections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_corrections_allocation_id'))

    op.drop_table('ledger_corrections')
    with op.batch_alter_table('ledger_covers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_covers_negative_balance_id'))
        batch_op.drop_index(batch_op.f('ix_ledger_covers_grant_id'))

    op.drop_table('ledger_covers')
    with op.batch_alter_table('ledger_allocations', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_allocations_run')
        batch_op.drop_index('ix_ledger_allocations_customer')

    op.drop_table('ledger_allocations')
    with op.batch_alter_table('ledger_negative_balances', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_negative_balances_customer')

    op.drop_table('ledger_negative_balances')
    with op.batch_alter_table('ledger_grants', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_grants_customer')

    op.drop_table('ledger_grants')
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_entries_source')
        batch_op.drop_index(batch_op.f('ix_ledger_entries_group_id'))
        batch_op.drop_index('ix_ledger_entries_customer_account')

    op.drop_table('ledger_entries')
    with op.batch_alter_table('ledger_transaction_groups', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_transaction_groups_one_issue', sqlite_where=sa.text("kind = 'grant_issue' AND grant_id IS NOT NULL"), postgresql_where=sa.text("kind = 'grant_issue' AND grant_id IS NOT NULL"))
        batch_op.drop_index('ix_ledger_transaction_groups_one_expiry', sqlite_where=sa.text("kind = 'breakage' AND grant_id IS NOT NULL"), postgresql_where=sa.text("kind = 'breakage' AND grant_id IS NOT NULL"))
        batch_op.drop_index('ix_ledger_transaction_groups_customer')
        batch_op.drop_index('ix_ledger_transaction_groups_charge')

    op.drop_table('ledger_transaction_groups')
