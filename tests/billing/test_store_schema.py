"""The packaged alembic migrations produce exactly the ORM schema (like ``alembic check``)."""

from __future__ import annotations

from sqlalchemy import inspect, text

from billing.store import Store, pending_schema_changes
from billing.store.tables import Base


def test_migrations_produce_the_orm_schema(database, clock):
    url, schema = database
    store = Store(url, clock=clock, schema=schema)
    try:
        store.upgrade()
        assert pending_schema_changes(store.engine) == []
        names = set(inspect(store.engine).get_table_names())
        assert set(Base.metadata.tables) <= names and "alembic_version" in names
        store.upgrade()  # idempotent at head
        # The check can fail: drop an index and it reports the difference.
        with store.engine.begin() as connection:
            connection.execute(text("DROP INDEX ix_invoice_lines_live_identity"))
        changes = pending_schema_changes(store.engine)
        assert any("ix_invoice_lines_live_identity" in repr(change) for change in changes)
    finally:
        store.dispose()


def test_the_migrated_store_works(database, clock):
    from billing.service import BillingService
    from tests.billing.builders import CUSTOMER, NS, flat_line, make_customer

    url, schema = database
    store = Store(url, clock=clock, schema=schema)
    try:
        store.upgrade()
        billing = BillingService(store)
        make_customer(billing)
        [line] = billing.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_line()])
        assert billing.get_invoice(NS, line.invoice_id).lines[0].id == line.id
    finally:
        store.dispose()


def test_subscription_references_built_from_64_character_keys_fit(billing_service):
    """Phase and item ids are made of keys of up to 64 characters ({sub}.{phase}.{item}.{version}),
    about 200 characters; PostgreSQL refused them while the columns were VARCHAR(64)."""
    from billing.lines import SubscriptionReference
    from tests.billing.builders import CUSTOMER, JANUARY, NS, flat_line, make_customer

    sub, phase, item = "s" * 64, "p" * 64, "i" * 64
    reference = SubscriptionReference(
        subscription_id=sub, phase_id=f"{sub}.{phase}", item_id=f"{sub}.{phase}.{item}.12", billing_period=JANUARY
    )
    make_customer(billing_service)
    identity = f"{sub}/{phase}/{item}/v[12]/period[0]"
    [line] = billing_service.create_pending_invoice_lines(
        NS, CUSTOMER, "USD", [flat_line(identity, subscription=reference)]
    )
    [stored] = billing_service.get_gathering_lines_for_subscription(NS, sub)
    assert stored.subscription == reference and stored.id == line.id
