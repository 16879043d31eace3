"""The credit ledger (charges.md §2): an append-only, double-entry record of every grant, consumption,
correction, expiry, payment and void of customer credit, with balances as of a time.

``StoreLedger(store)`` implements the ``LedgerPort`` of §2.10 on the billing store; charges call only
the port. ``check_invariants(store, namespace, customer_id)`` lists violations of §2.11. See
``docs/ledger.md``.
"""

from billing.ledger.errors import (
    LedgerConflictError,
    LedgerError,
    LedgerInvariantError,
    LedgerNotFoundError,
    LedgerPreconditionError,
    LedgerValidationError,
)
from billing.ledger.invariants import check_invariants
from billing.ledger.models import (
    Allocation,
    BalanceProjection,
    ChargeRef,
    Consumption,
    ConsumptionMode,
    Correction,
    CorrectionSlice,
    Entry,
    Grant,
    LedgerChargeRef,
    NegativeBalance,
    Slice,
    TransactionGroup,
)
from billing.ledger.port import LedgerPort
from billing.ledger.service import StoreLedger

__all__ = [
    "Allocation",
    "BalanceProjection",
    "ChargeRef",
    "Consumption",
    "ConsumptionMode",
    "Correction",
    "CorrectionSlice",
    "Entry",
    "Grant",
    "LedgerChargeRef",
    "LedgerConflictError",
    "LedgerError",
    "LedgerInvariantError",
    "LedgerNotFoundError",
    "LedgerPort",
    "LedgerPreconditionError",
    "LedgerValidationError",
    "NegativeBalance",
    "Slice",
    "StoreLedger",
    "TransactionGroup",
    "check_invariants",
]
