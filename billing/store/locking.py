"""The per-customer billing lock (reconciler §6.3).

The lock row ``billing_customer_locks(namespace, customer_id)`` is upserted and, on PostgreSQL,
locked with ``SELECT … FOR UPDATE`` inside the caller's transaction: a second transaction locking the
same customer waits until the first commits or rolls back. On SQLite the transaction already began
with ``BEGIN IMMEDIATE`` (the database write lock), and the row is upserted for uniformity.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from billing.store.tables import CustomerLockRow


def acquire_customer_lock(session: Session, namespace: str, customer_id: str) -> None:
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(CustomerLockRow)
        .values(namespace=namespace, customer_id=customer_id)
        .on_conflict_do_nothing(index_elements=["namespace", "customer_id"])
    )
    if dialect == "postgresql":
        session.execute(
            select(CustomerLockRow.namespace)
            .where(CustomerLockRow.namespace == namespace, CustomerLockRow.customer_id == customer_id)
            .with_for_update()
        )
