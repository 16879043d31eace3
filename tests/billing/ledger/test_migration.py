"""The ledger's alembic revision: it creates exactly the ORM's ledger tables, downgrades cleanly, and the
migrated store books and reads ledger money exactly on both databases."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from billing.ledger import StoreLedger, check_invariants
from billing.store import Store, pending_schema_changes
from billing.store.ledger_tables import APPEND_ONLY, LedgerGrantRow
from billing.store.migrate import alembic_config
from tests.billing.ledger.builders import CUSTOMER, NS, T0, D, consumer, purchase
from tests.billing.ledger.conftest import CUSTOM_CURRENCIES

LEDGER_TABLES = {cls.__tablename__ for cls in (*APPEND_ONLY, LedgerGrantRow)}


def test_the_ledger_revision_migrates_up_and_down(database, clock):
    url, schema = database
    store = Store(url, clock=clock, schema=schema, custom_currencies=CUSTOM_CURRENCIES)
    try:
        store.upgrade()
        assert pending_schema_changes(store.engine) == []
        assert LEDGER_TABLES <= set(inspect(store.engine).get_table_names())
        config = alembic_config(store.engine)
        with store.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0002")
        assert not LEDGER_TABLES & set(inspect(store.engine).get_table_names())
        store.upgrade()
        assert pending_schema_changes(store.engine) == []

        ledger = StoreLedger(store)
        ledger.on_promotional_credit_purchase(purchase("100.123", currency="TOKENS"))
        ledger.consume(consumer("TOKENS"), run_id="r", amount=D("0.001"), feature_key=None,
                       booked_at=T0, source_as_of=T0, mode="credit_only")
        assert ledger.balance(NS, CUSTOMER, "TOKENS") == D("100.122")
        amounts = {str(e.amount) for g in ledger.groups(NS, CUSTOMER) for e in g.entries}
        assert {"100.123", "-100.123", "0.001", "-0.001"} == amounts
        assert check_invariants(store, NS, CUSTOMER) == []
    finally:
        store.dispose()
