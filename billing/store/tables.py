"""The ORM schema of the billing store (SQLAlchemy 2 declarative).

Every entity has an opaque string ``id`` (uuid4 hex, or a caller-given id for customers and
subscriptions) and an integer ``sequence`` primary key that orders rows by creation (the scenario
clock is frozen, so timestamps tie). Rows are never hard-deleted: ``deleted_at`` soft-deletes.
The alembic migrations in ``billing/migrations`` produce exactly this schema (a test checks it).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from billing.store.column_types import DecimalText, JsonDocument, UtcDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

LIVE = text("deleted_at IS NULL")


def _partial(condition: str):  # type: ignore[no-untyped-def]
    clause = text(condition)
    return {"sqlite_where": clause, "postgresql_where": clause}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        dt.datetime: UtcDateTime(),
        Decimal: DecimalText(),
        dict[str, Any]: JsonDocument,
    }


def _sequence() -> Mapped[int]:
    return mapped_column("sequence", Integer, primary_key=True, autoincrement=True)


class _Timestamps:
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    deleted_at: Mapped[dt.datetime | None]


class _Totals:
    amount: Mapped[Decimal] = mapped_column(default=Decimal(0))
    discounts: Mapped[Decimal] = mapped_column(default=Decimal(0))
    credits: Mapped[Decimal] = mapped_column(default=Decimal(0))
    taxes: Mapped[Decimal] = mapped_column(default=Decimal(0))
    total: Mapped[Decimal] = mapped_column(default=Decimal(0))


class CustomerRow(_Timestamps, Base):
    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("namespace", "id"),
        Index("ix_customers_live_key", "namespace", "key", unique=True, **_partial("deleted_at IS NULL")),
        {"sqlite_autoincrement": True},
    )

    sequence: Mapped[int] = _sequence()
    id: Mapped[str] = mapped_column(String(64))
    namespace: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(256))
    currency: Mapped[str] = mapped_column(String(16))
    billing_profile: Mapped[dict[str, Any]]


class CustomerLockRow(Base):
    """One row per customer, locked ``FOR UPDATE`` by the per-customer billing lock (reconciler §6.3)."""

    __tablename__ = "billing_customer_locks"

    namespace: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)


class InvoiceRow(_Timestamps, _Totals, Base):
    __tablename__ = "invoices"
    __table_args__ = (
        Index(
            "ix_invoices_live_gathering",
            "namespace",
            "customer_id",
            "currency",
            unique=True,
            **_partial("kind = 'gathering' AND deleted_at IS NULL"),
        ),
        Index("ix_invoices_customer", "namespace", "customer_id"),
        {"sqlite_autoincrement": True},
    )

    sequence: Mapped[int] = _sequence()
    id: Mapped[str] = mapped_column(String(64), unique=True)
    namespace: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(64))
    immutable: Mapped[bool] = mapped_column(Boolean)
    currency: Mapped[str] = mapped_column(String(16))
    collection_at: Mapped[dt.datetime | None]
    collected_at: Mapped[dt.datetime | None]
    issued_at: Mapped[dt.datetime | None]
    due_at: Mapped[dt.datetime | None]


class SplitLineGroupRow(_Timestamps, Base):
    __tablename__ = "split_line_groups"
    __table_args__ = (
        Index(
            "ix_split_line_groups_live_identity",
            "namespace",
            "subscription_id",
            "unique_reference_id",
            unique=True,
            **_partial("deleted_at IS NULL"),
        ),
        {"sqlite_autoincrement": True},
    )

    sequence: Mapped[int] = _sequence()
    id: Mapped[str] = mapped_column(String(64), unique=True)
    namespace: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(16))
    service_period_start: Mapped[dt.datetime]
    service_period_end: Mapped[dt.datetime]
    unique_reference_id: Mapped[str | None] = mapped_column(String(512))
    price: Mapped[dict[str, Any]]
    feature_key: Mapped[str | None] = mapped_column(String(128))
    subscription_id: Mapped[str | None] = mapped_column(String(64))
    subscription_phase_id: Mapped[str | None] = mapped_column(String(256))
    subscription_item_id: Mapped[str | None] = mapped_column(String(256))
    subscription_billing_period_start: Mapped[dt.datetime | None]
    subscription_billing_period_end: Mapped[dt.datetime | None]
    name: Mapped[str] = mapped_column(String(256))
    description: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata")
    rate_card_discounts: Mapped[dict[str, Any] | None]


class LineRow(_Timestamps, _Totals, Base):
    __tablename__ = "invoice_lines"
    __table_args__ = (
        # The no-duplicate rule: one live subscription-managed line per identity.
        Index(
            "ix_invoice_lines_live_identity",
            "namespace",
            "subscription_id",
            "child_unique_reference_id",
            unique=True,
            **_partial("deleted_at IS NULL AND managed_by = 'subscription' AND charge_id IS NULL"),
        ),
        Index("ix_invoice_lines_subscription", "namespace", "subscription_id"),
        {"sqlite_autoincrement": True},
    )

    sequence: Mapped[int] = _sequence()
    id: Mapped[str] = mapped_column(String(64), unique=True)
    namespace: Mapped[str] = mapped_column(String(64))
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(256))
    description: Mapped[str | None] = mapped_column(Text)
    managed_by: Mapped[str] = mapped_column(String(16))
    annotations: Mapped[dict[str, Any]]
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata")
    service_period_start: Mapped[dt.datetime]
    service_period_end: Mapped[dt.datetime]
    invoice_at: Mapped[dt.datetime]
    price: Mapped[dict[str, Any]]
    price_type: Mapped[str] = mapped_column(String(16))
    per_unit_amount: Mapped[Decimal | None]
    quantity: Mapped[Decimal | None]
    feature_key: Mapped[str | None] = mapped_column(String(128))
    rate_card_discounts: Mapped[dict[str, Any] | None]
    tax_config: Mapped[dict[str, Any] | None]
    child_unique_reference_id: Mapped[str | None] = mapped_column(String(512))
    subscription_id: Mapped[str | None] = mapped_column(String(64))
    subscription_phase_id: Mapped[str | None] = mapped_column(String(256))
    subscription_item_id: Mapped[str | None] = mapped_column(String(256))
    subscription_billing_period_start: Mapped[dt.datetime | None]
    subscription_billing_period_end: Mapped[dt.datetime | None]
    split_line_group_id: Mapped[str | None] = mapped_column(ForeignKey("split_line_groups.id"), index=True)
    charge_id: Mapped[str | None] = mapped_column(String(64), index=True)
    engine: Mapped[str] = mapped_column(String(32))


class ValidationIssueRow(_Timestamps, Base):
    __tablename__ = "invoice_validation_issues"
    __table_args__ = (
        Index(
            "ix_invoice_validation_issues_live_hash",
            "invoice_id",
            "dedupe_hash",
            unique=True,
            **_partial("deleted_at IS NULL"),
        ),
        {"sqlite_autoincrement": True},
    )

    sequence: Mapped[int] = _sequence()
    id: Mapped[str] = mapped_column(String(64), unique=True)
    namespace: Mapped[str] = mapped_column(String(64))
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(128))
    message: Mapped[str] = mapped_column(Text)
    component: Mapped[str] = mapped_column(String(128))
    path: Mapped[str] = mapped_column(String(1024))
    dedupe_hash: Mapped[str] = mapped_column(String(64))


class MeterRow(Base):
    __tablename__ = "meters"
    __table_args__ = (UniqueConstraint("namespace", "key"), {"sqlite_autoincrement": True})

    sequence: Mapped[int] = _sequence()
    id: Mapped[str] = mapped_column(String(64), unique=True)
    namespace: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(64))
    aggregation: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime]


class UsageEventRow(Base):
    __tablename__ = "usage_events"
    __table_args__ = (
        Index("ix_usage_events_lookup", "namespace", "customer_id", "meter_key", "time"),
        {"sqlite_autoincrement": True},
    )

    sequence: Mapped[int] = _sequence()
    id: Mapped[str] = mapped_column(String(64), unique=True)
    namespace: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(64))
    meter_key: Mapped[str] = mapped_column(String(64))
    time: Mapped[dt.datetime]
    value: Mapped[Decimal]
    ingested_at: Mapped[dt.datetime]


class ChargeRow(_Timestamps, Base):
    """The charge registry row with its layered intent as JSON documents (charges.md §1.6)."""

    __tablename__ = "charges"
    __table_args__ = (
        Index(
            "ix_charges_live_identity",
            "namespace",
            "unique_reference_id",
            unique=True,
            **_partial("deleted_at IS NULL AND unique_reference_id IS NOT NULL"),
        ),
        Index(
            "ix_charges_live_purchase_key",
            "namespace",
            "customer_id",
            "purchase_key",
            unique=True,
            **_partial("deleted_at IS NULL AND purchase_key IS NOT NULL"),
        ),
        Index("ix_charges_subscription", "namespace", "subscription_id"),
        Index("ix_charges_customer", "namespace", "customer_id"),
        {"sqlite_autoincrement": True},
    )

    sequence: Mapped[int] = _sequence()
    id: Mapped[str] = mapped_column(String(64), unique=True)
    namespace: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(16))
    unique_reference_id: Mapped[str | None] = mapped_column(String(512))
    subscription_id: Mapped[str | None] = mapped_column(String(64))
    subscription_phase_id: Mapped[str | None] = mapped_column(String(256))
    subscription_item_id: Mapped[str | None] = mapped_column(String(256))
    settlement_mode: Mapped[str | None] = mapped_column(String(32))
    purchase_key: Mapped[str | None] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(64))
    meta_status: Mapped[str] = mapped_column(String(16))
    advance_after: Mapped[dt.datetime | None]
    tax_config: Mapped[dict[str, Any] | None]
    #: Type-specific immutable attribution (feature key, cost basis).
    attributes: Mapped[dict[str, Any]]
    base_intent: Mapped[dict[str, Any]]
    override_intent: Mapped[dict[str, Any] | None]
    state: Mapped[dict[str, Any]]
    #: The base layer's ``intent_deleted_at``, queryable for the ``base_intent`` listing filter.
    base_deleted_at: Mapped[dt.datetime | None]


class ChargeRealizationRow(Base):
    __tablename__ = "charge_realizations"
    __table_args__ = ({"sqlite_autoincrement": True},)

    sequence: Mapped[int] = _sequence()
    id: Mapped[str] = mapped_column(String(64), unique=True)
    namespace: Mapped[str] = mapped_column(String(64))
    charge_id: Mapped[str] = mapped_column(ForeignKey("charges.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    type: Mapped[str | None] = mapped_column(String(64))
    service_period_start: Mapped[dt.datetime | None]
    service_period_end: Mapped[dt.datetime | None]
    line_id: Mapped[str | None] = mapped_column(String(64))
    invoice_id: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime]
    deleted_at: Mapped[dt.datetime | None]


class SyncStateRow(Base):
    __tablename__ = "subscription_billing_sync_state"
    __table_args__ = (UniqueConstraint("namespace", "subscription_id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace: Mapped[str] = mapped_column(String(64))
    subscription_id: Mapped[str] = mapped_column(String(64), unique=True)
    has_billables: Mapped[bool] = mapped_column(Boolean)
    synced_at: Mapped[dt.datetime]
    next_sync_after: Mapped[dt.datetime | None]


class SubscriptionRow(_Timestamps, Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("namespace", "id"),
        Index("ix_subscriptions_customer", "namespace", "customer_id"),
        {"sqlite_autoincrement": True},
    )

    sequence: Mapped[int] = _sequence()
    id: Mapped[str] = mapped_column(String(64))
    namespace: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(64))
    #: The serialised ``SubscriptionView`` (opaque to billing).
    view: Mapped[dict[str, Any]]
    active_from: Mapped[dt.datetime]
    active_to: Mapped[dt.datetime | None]


# --- credit ledger (charges.md §2) -------------------------------------------------------------------
# The ledger's tables live in their own module on this Base; importing it here registers them in the
# one metadata that create_all, the migrations and ``pending_schema_changes`` read.
from billing.store import ledger_tables as _ledger_tables  # noqa: E402,F401

# --- credit purchases (charges.md §5) ------------------------------------------------------------------
# Registered the same way: the per-type purchase row, cost bases, grants, payments and invoice links.
from billing.credit_purchases import tables as _credit_purchase_tables  # noqa: E402,F401
