"""Values of the credit ledger (charges.md §2): accounts, postings, groups, grants, negative-balance
records, consumption slices, corrections and the 16-value scenario projection. All frozen; money is
``Decimal``."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from billing.types import UtcDatetime

Account = Literal["fbo", "receivable", "accrued", "wash", "breakage", "brokerage", "earnings"]
ACCOUNTS: tuple[Account, ...] = Account.__args__  # type: ignore[attr-defined]

#: The posting kinds of the §2.9 catalogue. A group has one ``kind`` (the operation) and each of its
#: entries names the posting kind it belongs to.
PostingKind = Literal[
    "grant_issue",
    "promotional_settle",
    "consume",
    "negative_balance_open",
    "correct",
    "invoice_usage_accrue",
    "payment_convert",
    "payment_authorize",
    "payment_authorization_reverse",
    "payment_settle",
    "breakage",
    "grant_void",
    "purchase_void",
]
POSTING_KINDS: tuple[PostingKind, ...] = PostingKind.__args__  # type: ignore[attr-defined]

GroupKind = Literal[
    "grant_issue",
    "consume",
    "correct",
    "invoice_usage_accrue",
    "payment_authorize",
    "payment_authorization_reverse",
    "payment_settle",
    "breakage",
    "grant_void",
    "purchase_void",
]
ConsumptionMode = Literal["credit_only", "credit_then_invoice"]
ReceivableStatus = Literal["open", "authorized"]
#: What a receivable entry is owed for: a credit purchase (charge id), a run (run id) or a
#: negative-balance record (record id).
ReceivableSource = Literal["purchase", "run", "negative_balance"]
SliceSource = Literal["lot", "negative_balance"]
VoidKind = Literal["manual", "invoice"]
VoidReason = Literal["voided", "uncollectible"]

#: Priority of a grant that does not set one; the scenario projection's FBO counts only these lots.
DEFAULT_PRIORITY = 1


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ChargeRef(Protocol):
    """What the ledger reads from any charge: every charge model of ``billing.charges`` fits."""

    @property
    def id(self) -> str: ...
    @property
    def namespace(self) -> str: ...
    @property
    def customer_id(self) -> str: ...
    @property
    def currency(self) -> str: ...


class LedgerChargeRef(_Frozen):
    """A bare charge reference, for callers that do not hold a charge model."""

    id: str
    namespace: str
    customer_id: str
    currency: str


class Entry(_Frozen):
    """One posting of a group, with the dimensions of its account (§2.2)."""

    id: str
    group_id: str
    posting: PostingKind
    account: Account
    currency: str
    amount: Decimal
    booked_at: UtcDatetime
    lot_id: str | None = None
    cost_basis: Decimal | None = None
    receivable_status: ReceivableStatus | None = None
    source_kind: ReceivableSource | None = None
    source_id: str | None = None
    sequence: int


class TransactionGroup(_Frozen):
    id: str
    namespace: str
    customer_id: str
    kind: GroupKind
    booked_at: UtcDatetime
    recorded_at: UtcDatetime
    charge_id: str | None = None
    run_id: str | None = None
    grant_id: str | None = None
    negative_balance_id: str | None = None
    reason: str | None = None
    entries: tuple[Entry, ...] = ()
    sequence: int

    def sums(self) -> dict[str, Decimal]:
        """The sum of the group's entries per currency (zero for every currency of a valid group)."""
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for entry in self.entries:
            totals[entry.currency] += entry.amount
        return dict(totals)


class Grant(_Frozen):
    id: str
    namespace: str
    customer_id: str
    currency: str
    amount: Decimal
    covered_at_issue: Decimal
    priority: int
    effective_at: UtcDatetime
    expires_at: UtcDatetime | None = None
    feature_filters: tuple[str, ...] = ()
    cost_basis: Decimal | None = None
    source_charge_id: str
    issue_group_id: str
    revoked_remainder: Decimal
    consumed_to_negative: Decimal
    voided_at: UtcDatetime | None = None
    void_kind: VoidKind | None = None
    void_group_id: str | None = None
    negative_balance_id: str | None = None
    created_at: UtcDatetime
    sequence: int

    def eligible_for(self, feature_key: str | None) -> bool:
        """Unrestricted grants serve every charge; restricted ones only the features they list (§2.5)."""
        return not self.feature_filters or (feature_key is not None and feature_key in self.feature_filters)


class NegativeBalance(_Frozen):
    id: str
    namespace: str
    customer_id: str
    currency: str
    feature_key: str | None = None
    amount: Decimal
    #: What is still owed: the record's open receivable, read from the entries.
    outstanding: Decimal
    source_kind: Literal["run", "purchase"]
    source_id: str
    charge_id: str | None = None
    group_id: str
    booked_at: UtcDatetime
    created_at: UtcDatetime
    sequence: int


class Slice(_Frozen):
    """One consumption slice; its ``id`` is the allocation id a correction names (use it as the credit
    realization id, or keep it next to yours)."""

    id: str
    source: SliceSource
    grant_id: str | None = None
    negative_balance_id: str | None = None
    amount: Decimal
    cost_basis: Decimal | None = None


class Consumption(_Frozen):
    transaction_group_id: str
    requested: Decimal
    slices: tuple[Slice, ...] = ()

    @property
    def total(self) -> Decimal:
        return sum((s.amount for s in self.slices), Decimal(0))

    @property
    def from_credit(self) -> Decimal:
        """The part covered by real credit (lots)."""
        return sum((s.amount for s in self.slices if s.source == "lot"), Decimal(0))

    @property
    def negative_balance(self) -> Decimal:
        """The ``credit_only`` shortfall turned into a negative-balance record."""
        return sum((s.amount for s in self.slices if s.source == "negative_balance"), Decimal(0))


class CorrectionSlice(_Frozen):
    allocation_id: str
    amount: Decimal


class Correction(_Frozen):
    transaction_group_id: str
    requested: Decimal
    slices: tuple[CorrectionSlice, ...] = ()

    @property
    def total(self) -> Decimal:
        return sum((s.amount for s in self.slices), Decimal(0))


class Allocation(_Frozen):
    """A stored slice with what corrections have taken back from it so far."""

    id: str
    charge_id: str
    run_id: str | None = None
    currency: str
    source: SliceSource
    grant_id: str | None = None
    negative_balance_id: str | None = None
    amount: Decimal
    corrected: Decimal
    cost_basis: Decimal | None = None
    booked_at: UtcDatetime
    group_id: str
    sequence: int

    @property
    def uncorrected(self) -> Decimal:
        return self.amount - self.corrected


class BalanceProjection(_Frozen):
    """The 16-value ledger vector of ``scenarios/credits.md`` §0.5, in one currency, as of a time.

    ``_all`` is any cost basis, ``_promo`` cost basis 0, ``_invoice`` cost basis 1. FBO counts the
    remaining credit of default-priority lots (§2.5); business accounts (wash, earnings) are summed
    over this customer's groups. ``model_dump(by_alias=True)`` gives the scenario names.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    fbo_all: Decimal = Field(Decimal(0), alias="FBO_all")
    fbo_promo: Decimal = Field(Decimal(0), alias="FBO_promo")
    fbo_invoice: Decimal = Field(Decimal(0), alias="FBO_invoice")
    open_receivable_all: Decimal = Field(Decimal(0), alias="OpenRecv_all")
    open_receivable_promo: Decimal = Field(Decimal(0), alias="OpenRecv_promo")
    open_receivable_invoice: Decimal = Field(Decimal(0), alias="OpenRecv_invoice")
    authorized_receivable_all: Decimal = Field(Decimal(0), alias="AuthRecv_all")
    authorized_receivable_promo: Decimal = Field(Decimal(0), alias="AuthRecv_promo")
    authorized_receivable_invoice: Decimal = Field(Decimal(0), alias="AuthRecv_invoice")
    accrued_all: Decimal = Field(Decimal(0), alias="Accrued_all")
    accrued_promo: Decimal = Field(Decimal(0), alias="Accrued_promo")
    accrued_invoice: Decimal = Field(Decimal(0), alias="Accrued_invoice")
    wash_all: Decimal = Field(Decimal(0), alias="Wash_all")
    wash_promo: Decimal = Field(Decimal(0), alias="Wash_promo")
    wash_invoice: Decimal = Field(Decimal(0), alias="Wash_invoice")
    earnings_all: Decimal = Field(Decimal(0), alias="Earnings_all")

    def vector(self) -> dict[str, Decimal]:
        """All 16 values by their scenario names."""
        return self.model_dump(by_alias=True)

    def nonzero(self) -> dict[str, Decimal]:
        """The values a scenario lists (the others must be 0)."""
        return {name: value for name, value in self.vector().items() if value != 0}
