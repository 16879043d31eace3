"""The per-customer billing lock (reconciler §6.3).

The lock row ``billing_customer_locks(namespace, customer_id)`` is locked with ``SELECT … FOR
UPDATE`` on PostgreSQL (inserted first when the customer was never locked) inside the caller's
transaction: a second transaction locking the same customer waits until the first commits or rolls
back. On SQLite the transaction already began with ``BEGIN IMMEDIATE`` (the database write lock), and
the row is upserted for uniformity.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from billing.store.tables import CustomerLockRow


def acquire_customer_lock(session: Session, namespace: str, customer_id: str) -> None:
    postgresql = session.get_bind().dialect.name == "postgresql"
    upsert = (
        (pg_insert if postgresql else sqlite_insert)(CustomerLockRow)
        .values(namespace=namespace, customer_id=customer_id)
        .on_conflict_do_nothing(index_elements=["namespace", "customer_id"])
    )
    if not postgresql:
        session.execute(upsert)
        return
    lock = (
        select(CustomerLockRow.namespace)
        .where(CustomerLockRow.namespace == namespace, CustomerLockRow.customer_id == customer_id)
        .with_for_update()
    )
    if session.execute(lock).first() is not None:  # the customer was locked before: one round trip
        return
    # First lock of this customer. A concurrent first locker's uncommitted row makes the insert wait
    # for its transaction; the SELECT that follows (a new snapshot, READ COMMITTED) then sees the row.
    session.execute(upsert)
    session.execute(lock)
