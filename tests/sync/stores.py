"""Store helpers for applier and sync tests: a customer, usage, and full table dumps."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from billing.customers import BillingProfile, CollectionConfig, InvoicingConfig
from billing.usage import NewUsageEvent
from tests.sync.plans import CUSTOMER, NS


def profile(*, progressive: bool = False, auto_advance: bool = False, payment_app: str = "auto",
            end_proration: str = "bill_actual_period") -> BillingProfile:
    return BillingProfile(
        collection=CollectionConfig(interval="PT0S"),
        invoicing=InvoicingConfig(auto_advance=auto_advance, draft_period="P1D", progressive_billing=progressive,
                                  subscription_end_proration_mode=end_proration),
        payment_app=payment_app,
    )


def seed_customer(billing: Any, *, customer_id: str = CUSTOMER, **profile_args: Any) -> None:
    billing.create_customer(NS, customer_id, customer_id=customer_id, billing_profile=profile(**profile_args))
    billing.register_meter(NS, "api", "sum")


def ingest(billing: Any, *events: tuple[dt.datetime, str | int], customer_id: str = CUSTOMER) -> None:
    billing.ingest_usage(NS, customer_id, "api", [NewUsageEvent(time=t, value=Decimal(str(v))) for t, v in events])


def table_dump(store: Any) -> dict[str, list[tuple]]:
    """Every row of every table (timestamps and ids included), to compare before and after."""
    from billing.store.tables import Base

    dump: dict[str, list[tuple]] = {}
    with store.engine.connect() as connection:
        for name, table in sorted(Base.metadata.tables.items()):
            dump[name] = sorted((tuple(row) for row in connection.execute(select(table)).all()), key=repr)
    return dump


def invoices_of(billing: Any, customer_id: str = CUSTOMER) -> list[Any]:
    return billing.list_customer_invoices(NS, customer_id)


def gathering_of(billing: Any, customer_id: str = CUSTOMER) -> Any | None:
    live = [i for i in invoices_of(billing, customer_id) if i.kind == "gathering" and i.deleted_at is None]
    assert len(live) <= 1
    return live[0] if live else None
