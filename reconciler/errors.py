"""Planner errors (reconciler.md §3, §10.1)."""

from __future__ import annotations

from typing import Any

from billing.errors import SyncError


class PlanningError(SyncError):
    """Base of planner errors."""

    def __init__(self, message: str, *, shape: str | None = None, operation: str | None = None,
                 charge_id: str | None = None, **context: Any) -> None:
        self.shape = shape
        self.operation = operation
        self.charge_id = charge_id
        super().__init__(message, **context)


class CreditsUnavailableError(PlanningError):
    """credit_only settlement without a charges backend."""


class FlatFeeAgainstHierarchyError(PlanningError):
    """A flat expected line against a split-line hierarchy."""


class PriceKindMismatchError(PlanningError):
    """Flat against usage (either direction) under one identity (D-12)."""


class UnsupportedOperationError(PlanningError):
    """An operation a collection does not support (hierarchy create, charge prorate)."""


class DuplicateChargePatchError(PlanningError):
    """A second patch for one charge id."""


class EmptyExpectedLineError(PlanningError):
    """expected_line_or_error found no line."""


class InvalidCurrencyError(PlanningError):
    """The subscription's invoice currency is not a fiat ISO 4217 code."""
