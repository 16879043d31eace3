"""Customers, billing profiles, meters and usage ingestion."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import TypeAdapter, ValidationError

from billing.customers import BillingProfile, Customer
from billing.errors import BillingValidationError, ConflictError
from billing.ids import new_id
from billing.money import currency_precision
from billing.store.mapping import customer_of
from billing.store.unit_of_work import UnitOfWork
from billing.types import KEY_PATTERN, Key
from billing.usage import Aggregation, Meter, NewUsageEvent, UsageEvent

_KEY = TypeAdapter(Key)


def _check_currency(uow: UnitOfWork, currency: str) -> None:
    currency_precision(currency, custom=uow.custom_currencies)


def create_customer(
    uow: UnitOfWork,
    namespace: str,
    key: str,
    *,
    customer_id: str | None = None,
    name: str | None = None,
    currency: str = "USD",
    billing_profile: BillingProfile | None = None,
) -> Customer:
    _check_currency(uow, currency)
    try:
        _KEY.validate_python(key)
    except ValidationError as exc:
        raise BillingValidationError(f"customer key {key!r} must match {KEY_PATTERN} (max 64 characters)") from exc
    if uow.customers.by_key(namespace, key) is not None:
        raise ConflictError(f"customer key {key!r} is already used in namespace {namespace!r}")
    customer_id = customer_id or new_id()
    if uow.customers.row(namespace, customer_id) is not None:
        raise ConflictError(f"customer {customer_id!r} already exists in namespace {namespace!r}")
    row = uow.customers.insert(
        namespace=namespace, customer_id=customer_id, key=key, name=name, currency=currency,
        profile=billing_profile or BillingProfile(), now=uow.now,
    )
    uow.flush()
    return customer_of(row)


def update_customer(
    uow: UnitOfWork, namespace: str, customer_id: str, *, name: str | None = None, currency: str | None = None
) -> Customer:
    row = uow.customers.require_row(namespace, customer_id)
    if row.deleted_at is not None:
        raise ConflictError(f"customer {customer_id!r} is deleted")
    if currency is not None:
        _check_currency(uow, currency)
        row.currency = currency
    if name is not None:
        row.name = name
    row.updated_at = uow.now
    uow.flush()
    return customer_of(row)


def update_billing_profile(uow: UnitOfWork, namespace: str, customer_id: str, profile: BillingProfile) -> Customer:
    row = uow.customers.require_row(namespace, customer_id)
    uow.lock_customer(namespace, customer_id)
    row.billing_profile = profile.model_dump(mode="json")
    row.updated_at = uow.now
    uow.flush()
    return customer_of(row)


def delete_customer(uow: UnitOfWork, namespace: str, customer_id: str) -> Customer:
    """Mark the customer deleted at ``now`` (invoices and lines stay; new lines may not end after it)."""
    row = uow.customers.require_row(namespace, customer_id)
    uow.lock_customer(namespace, customer_id)
    if row.deleted_at is None:
        row.deleted_at = uow.now
        row.updated_at = uow.now
    uow.flush()
    return customer_of(row)


def register_meter(uow: UnitOfWork, namespace: str, key: str, aggregation: Aggregation = "sum") -> Meter:
    return uow.usage.upsert_meter(Meter(namespace=namespace, key=key, aggregation=aggregation), uow.now)


def ingest_usage(
    uow: UnitOfWork, namespace: str, customer_id: str, meter_key: str, events: Sequence[NewUsageEvent]
) -> list[UsageEvent]:
    uow.customers.require_row(namespace, customer_id)
    uow.usage.require_meter(namespace, meter_key)
    return uow.usage.insert_events(namespace, customer_id, meter_key, list(events), uow.now)
