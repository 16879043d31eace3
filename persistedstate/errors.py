"""Integrity errors of the persisted state (reconciler.md §2.4, §10.1)."""

from __future__ import annotations

from typing import Any, Literal

from billing.errors import SyncError

DuplicateScope = Literal["invoice", "charge", "cross_backend", "target"]


class PersistedStateIntegrityError(SyncError):
    """Base of every loader and repair integrity error. Terminal: reported, never retried."""


class DuplicateIdentityError(PersistedStateIntegrityError):
    def __init__(self, message: str, *, scope: DuplicateScope, first_shape: str | None = None,
                 second_shape: str | None = None, **context: Any) -> None:
        self.scope = scope
        self.first_shape = first_shape
        self.second_shape = second_shape
        super().__init__(message, **context)


class MissingInvoiceError(PersistedStateIntegrityError):
    def __init__(self, message: str, *, invoice_id: str, **context: Any) -> None:
        self.invoice_id = invoice_id
        super().__init__(message, **context)


class UnknownItemTypeError(PersistedStateIntegrityError):
    def __init__(self, message: str, *, item_type: str, **context: Any) -> None:
        self.item_type = item_type
        super().__init__(message, **context)


class UnsupportedItemTypeError(UnknownItemTypeError):
    """A credit-purchase charge tied to a subscription."""


class InvalidPeriodError(PersistedStateIntegrityError):
    def __init__(self, message: str, *, field: str | None = None, period: Any = None, **context: Any) -> None:
        self.field = field
        self.period = period
        super().__init__(message, **context)


class InvalidChargeError(PersistedStateIntegrityError):
    def __init__(self, message: str, *, charge_id: str, reason: str, **context: Any) -> None:
        self.charge_id = charge_id
        self.reason = reason
        super().__init__(message, **context)


class ChargeReferenceMismatchError(PersistedStateIntegrityError):
    def __init__(self, message: str, *, charge_id: str, **context: Any) -> None:
        self.charge_id = charge_id
        super().__init__(message, **context)
