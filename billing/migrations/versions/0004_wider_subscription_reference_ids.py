"""Wider subscription phase and item ids on lines, split-line groups and charges.

Phase ids (``{subscription}.{phase}``) and item ids (``{subscription}.{phase}.{item}.{version}``) are
built from keys of up to 64 characters each, so they reach about 200 characters; VARCHAR(64) made
PostgreSQL refuse a valid subscription's lines on apply.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_TABLES = ("invoice_lines", "split_line_groups", "charges")
_COLUMNS = ("subscription_phase_id", "subscription_item_id")


def _resize(old: int, new: int) -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            for column in _COLUMNS:
                batch.alter_column(column, existing_type=sa.String(length=old), type_=sa.String(length=new),
                                   existing_nullable=True)


def upgrade() -> None:
    _resize(64, 256)


def downgrade() -> None:
    _resize(256, 64)
