"""Set-up through billing operations, and row tweaks for the deliberately corrupt or old rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from billing.charges.store import ChargeStore
from billing.store.tables import ChargeRow, InvoiceRow, LineRow, SplitLineGroupRow
from persistedstate import PersistedState, load_persisted_state
from tests.persistedstate.builders import CUSTOMER, NS, SUB

TABLES = {"line": LineRow, "invoice": InvoiceRow, "group": SplitLineGroupRow, "charge": ChargeRow}


def load(billing: Any, *, with_charges: bool = True, subscription_id: str = SUB) -> PersistedState:
    charges = ChargeStore(billing.store) if with_charges else None
    return load_persisted_state(billing, namespace=NS, subscription_id=subscription_id, customer_id=CUSTOMER,
                                charges=charges)


def write_row(store: Any, kind: str, row_id: str, **values: Any) -> None:
    """Overwrite columns of one stored row, bypassing billing (old or corrupt data only)."""
    table = TABLES[kind]
    with store.engine.begin() as connection:
        result = connection.execute(update(table.__table__).where(table.__table__.c.id == row_id).values(**values))
        assert result.rowcount == 1, f"no {kind} row {row_id}"
