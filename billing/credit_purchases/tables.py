"""The credit-purchase tables (charges.md §1.6, §5.2), on the billing store's metadata.

The registry row of a purchase is the shared ``charges`` row (status, intent, state). These tables
hold what the purchase adds, each with the unique index that makes a double fact impossible even when
a service check is bypassed:

| table | holds | unique (live) |
|---|---|---|
| ``credit_purchases`` | the per-type row: settlement, initial external status, fiat rate, cost-basis reference | ``charge_id``; ``(namespace, customer_id, unique_reference_id)``; ``(namespace, customer_id, purchase_key)`` |
| ``credit_purchase_cost_bases`` | a custom-currency cost basis and its resolution (referenced with ``RESTRICT``) | ``id`` |
| ``currency_cost_bases`` | published custom → fiat rates (pinned and dynamic bases resolve against them) | ``id`` |
| ``credit_purchase_grants`` | the grant realization (ledger group, time) | ``(namespace, charge_id)`` |
| ``credit_purchase_payments`` | the one external or invoiced payment | ``(namespace, charge_id)`` |
| ``credit_purchase_invoice_links`` | the invoice and line the purchase is invoiced on | ``(namespace, charge_id)`` |

and one partial index on ``invoice_lines``: at most one live ``charge_creditpurchase`` line per charge.
Check constraints: the settlement type is in its set; the initial external status is set iff the
settlement is external; a fiat rate is null or > 0; a grant's ledger group id is non-empty.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from billing.store.tables import Base, LineRow


def _partial(condition: str) -> dict[str, Any]:
    clause = text(condition)
    return {"sqlite_where": clause, "postgresql_where": clause}


class CurrencyCostBasisRow(Base):
    __tablename__ = "currency_cost_bases"
    __table_args__ = (
        Index("ix_currency_cost_bases_lookup", "namespace", "currency", "fiat_currency", "effective_from"),
        {"sqlite_autoincrement": True},
    )

    sequence: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    namespace: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(16))
    fiat_currency: Mapped[str] = mapped_column(String(16))
    rate: Mapped[Decimal]
    effective_from: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime]


class ChargeCostBasisRow(Base):
    """A purchase's custom-currency cost basis: the intent (mode, rate, pinned id) and its resolution."""

    __tablename__ = "credit_purchase_cost_bases"
    __table_args__ = ({"sqlite_autoincrement": True},)

    sequence: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    namespace: Mapped[str] = mapped_column(String(64))
    charge_id: Mapped[str] = mapped_column(String(64), index=True)
    currency: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16))
    fiat_currency: Mapped[str] = mapped_column(String(16))
    rate: Mapped[Decimal | None]
    currency_cost_basis_id: Mapped[str | None] = mapped_column(
        ForeignKey("currency_cost_bases.id", ondelete="RESTRICT")
    )
    resolved_rate: Mapped[Decimal | None]
    resolved_fiat_currency: Mapped[str | None] = mapped_column(String(16))
    resolved_at: Mapped[dt.datetime | None]
    resolved_source_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class CreditPurchaseRow(Base):
    """The per-type row of a credit purchase (the ``charges`` row is its registry entry)."""

    __tablename__ = "credit_purchases"
    __table_args__ = (
        Index("ix_credit_purchases_live_identity", "namespace", "customer_id", "unique_reference_id", unique=True,
              **_partial("deleted_at IS NULL AND unique_reference_id IS NOT NULL")),
        Index("ix_credit_purchases_live_key", "namespace", "customer_id", "purchase_key", unique=True,
              **_partial("deleted_at IS NULL AND purchase_key IS NOT NULL")),
        CheckConstraint("settlement_type IN ('promotional', 'external', 'invoice')", name="settlement_type"),
        CheckConstraint(
            "(settlement_type = 'external' AND external_initial_status IS NOT NULL)"
            " OR (settlement_type <> 'external' AND external_initial_status IS NULL)",
            name="external_initial_status",
        ),
        CheckConstraint("fiat_rate IS NULL OR CAST(fiat_rate AS NUMERIC) > 0", name="fiat_rate_positive"),
        {"sqlite_autoincrement": True},
    )

    sequence: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    charge_id: Mapped[str] = mapped_column(ForeignKey("charges.id"), unique=True)
    namespace: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(64))
    unique_reference_id: Mapped[str | None] = mapped_column(String(512))
    purchase_key: Mapped[str | None] = mapped_column(String(256))
    settlement_type: Mapped[str] = mapped_column(String(16))
    external_initial_status: Mapped[str | None] = mapped_column(String(16))
    fiat_rate: Mapped[Decimal | None]
    cost_basis_id: Mapped[str | None] = mapped_column(
        ForeignKey("credit_purchase_cost_bases.id", ondelete="RESTRICT")
    )
    created_at: Mapped[dt.datetime]
    deleted_at: Mapped[dt.datetime | None]


class GrantRow(Base):
    __tablename__ = "credit_purchase_grants"
    __table_args__ = (
        Index("ix_credit_purchase_grants_one_per_charge", "namespace", "charge_id", unique=True),
        CheckConstraint("transaction_group_id <> ''", name="transaction_group_id_set"),
        {"sqlite_autoincrement": True},
    )

    sequence: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    namespace: Mapped[str] = mapped_column(String(64))
    charge_id: Mapped[str] = mapped_column(ForeignKey("charges.id"))
    transaction_group_id: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime]


class PaymentRow(Base):
    __tablename__ = "credit_purchase_payments"
    __table_args__ = (
        Index("ix_credit_purchase_payments_one_per_charge", "namespace", "charge_id", unique=True),
        CheckConstraint("kind IN ('external', 'invoiced')", name="kind"),
        CheckConstraint("status IN ('authorized', 'failed', 'settled', 'voided')", name="status"),
        {"sqlite_autoincrement": True},
    )

    sequence: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    namespace: Mapped[str] = mapped_column(String(64))
    charge_id: Mapped[str] = mapped_column(ForeignKey("charges.id"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    fiat_amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(16))
    service_period_start: Mapped[dt.datetime]
    service_period_end: Mapped[dt.datetime]
    authorized_transaction_group_id: Mapped[str] = mapped_column(String(64))
    authorized_at: Mapped[dt.datetime]
    failed_transaction_group_id: Mapped[str | None] = mapped_column(String(64))
    failed_at: Mapped[dt.datetime | None]
    settled_transaction_group_id: Mapped[str | None] = mapped_column(String(64))
    settled_at: Mapped[dt.datetime | None]
    voided_at: Mapped[dt.datetime | None]
    invoice_id: Mapped[str | None] = mapped_column(ForeignKey("invoices.id"))
    line_id: Mapped[str | None] = mapped_column(ForeignKey("invoice_lines.id"))
    annotations: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class InvoiceLinkRow(Base):
    __tablename__ = "credit_purchase_invoice_links"
    __table_args__ = (
        Index("ix_credit_purchase_invoice_links_one_per_charge", "namespace", "charge_id", unique=True),
        {"sqlite_autoincrement": True},
    )

    sequence: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    namespace: Mapped[str] = mapped_column(String(64))
    charge_id: Mapped[str] = mapped_column(ForeignKey("charges.id"))
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"))
    line_id: Mapped[str] = mapped_column(ForeignKey("invoice_lines.id"))
    linked_at: Mapped[dt.datetime]
    detailed_line: Mapped[dict[str, Any] | None]


#: A purchase is invoiced through exactly one live line (§1.6); the service checks first, this index
#: is the backstop.
LIVE_PURCHASE_LINE_INDEX = Index(
    "ix_invoice_lines_live_credit_purchase",
    LineRow.namespace,
    LineRow.charge_id,
    unique=True,
    **_partial("deleted_at IS NULL AND engine = 'charge_creditpurchase'"),
)
