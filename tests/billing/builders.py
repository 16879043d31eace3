"""Small builders shared by the billing store tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from billing.customers import BillingProfile, CollectionConfig, InvoicingConfig
from billing.lines import NewLine, SubscriptionReference
from billing.period import Period

UTC = dt.timezone.utc
NS = "ns"
CUSTOMER = "cust-1"
SUB = "sub-1"


def at(month: int, day: int = 1, hour: int = 0) -> dt.datetime:
    return dt.datetime(2024, month, day, hour, tzinfo=UTC)


def period(start: dt.datetime, end: dt.datetime) -> Period:
    return Period(start=start, end=end)


JANUARY = period(at(1), at(2))


def ref(billing_period: Period = JANUARY, subscription_id: str = SUB) -> SubscriptionReference:
    return SubscriptionReference(subscription_id=subscription_id, phase_id="phase-1", item_id="item-1",
                                 billing_period=billing_period)


def flat_line(identity: str | None = "sub-1/default/fee/v[0]/period[0]", *, amount: str = "5",
              service_period: Period = JANUARY, invoice_at: dt.datetime | None = None,
              per_unit_amount: str | None = None, **fields) -> NewLine:
    return NewLine(
        name=fields.pop("name", "fee"),
        service_period=service_period,
        invoice_at=invoice_at or service_period.start,
        price={"type": "flat", "amount": amount, "payment_term": "in_advance"},
        per_unit_amount=None if per_unit_amount is None else Decimal(per_unit_amount),
        child_unique_reference_id=identity,
        subscription=fields.pop("subscription", ref(service_period) if identity else None),
        **fields,
    )


def usage_line(identity: str | None = "sub-1/default/api/v[0]/period[0]", *, unit: str = "0.5",
               service_period: Period = JANUARY, invoice_at: dt.datetime | None = None,
               feature_key: str | None = "api", **fields) -> NewLine:
    return NewLine(
        name=fields.pop("name", "api"),
        service_period=service_period,
        invoice_at=invoice_at or service_period.end,
        price=fields.pop("price", {"type": "unit", "amount": unit}),
        feature_key=feature_key,
        child_unique_reference_id=identity,
        subscription=fields.pop("subscription", ref(service_period) if identity else None),
        **fields,
    )


def profile(*, interval: str = "PT0S", auto_advance: bool = True, draft_period: str = "P1D",
            progressive: bool = False, payment_app: str = "auto") -> BillingProfile:
    return BillingProfile(
        collection=CollectionConfig(interval=interval),
        invoicing=InvoicingConfig(auto_advance=auto_advance, draft_period=draft_period,
                                  progressive_billing=progressive),
        payment_app=payment_app,
    )


def make_customer(billing, **profile_args):  # type: ignore[no-untyped-def]
    customer = billing.create_customer(NS, "customer-1", customer_id=CUSTOMER, billing_profile=profile(**profile_args))
    billing.register_meter(NS, "api", "sum")
    return customer


def db_snapshot(store) -> dict[str, list[tuple]]:  # type: ignore[no-untyped-def]
    """Every row of every billing table, to assert that a failed operation changed nothing."""
    from sqlalchemy import select

    from billing.store.tables import Base

    result: dict[str, list[tuple]] = {}
    with store.engine.connect() as connection:
        for name, table in sorted(Base.metadata.tables.items()):
            rows = connection.execute(select(table)).all()
            result[name] = sorted((tuple(row) for row in rows), key=repr)
    return result
