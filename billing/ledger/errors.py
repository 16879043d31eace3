"""Errors of the credit ledger. Each names the grant, charge, run or field it concerns.

They subclass the billing errors of the same category (charges.md §0.3), so ``subsync.errors`` maps
them without a registry entry of their own:

| class | category | used for |
|---|---|---|
| ``LedgerValidationError`` | ValidationError | non-positive or unrounded amounts, naive times, an unknown settlement, correcting more than the run's uncorrected allocations |
| ``LedgerPreconditionError`` | PreconditionFailed (billing's ``IllegalTransitionError``) | an unresolved cost basis; a payment step the purchase's receivable does not allow yet |
| ``LedgerConflictError`` | ConflictError | a second grant for one purchase; voiding an expired or already voided grant; paying or voiding a settled purchase |
| ``LedgerNotFoundError`` | NotFoundError | no grant for the purchase; no allocation of the run |
| ``LedgerInvariantError`` | IntegrityError | an unbalanced group or another broken §2.11 invariant (a defect, never bad input) |
"""

from __future__ import annotations

from billing.errors import (
    BillingError,
    BillingValidationError,
    ConflictError,
    IllegalTransitionError,
    NotFoundError,
    StoreIntegrityError,
)


class LedgerError(BillingError):
    """Base class of every ledger error."""


class LedgerValidationError(LedgerError, BillingValidationError):
    """Bad input to a ledger operation. Nothing was written."""


class LedgerPreconditionError(LedgerError, IllegalTransitionError):
    """The operation is not possible in the ledger's current state (charges.md: ``PreconditionFailed``)."""


class LedgerConflictError(LedgerError, ConflictError):
    """The operation conflicts with what the ledger holds (double grant, void of an expired grant…)."""


class LedgerNotFoundError(LedgerError, NotFoundError):
    """A grant or allocation the operation needs does not exist."""


class LedgerInvariantError(LedgerError, StoreIntegrityError):
    """A §2.11 invariant would break (an unbalanced group…): a defect, rolled back with the operation."""
