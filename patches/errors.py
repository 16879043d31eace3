"""Errors of plans and of applying them (reconciler.md §10.1)."""

from __future__ import annotations

from typing import Any

from billing.errors import SyncError


class PlanInvariantError(SyncError):
    """An internal invariant broke: a missing probe, a cycle, a step against an immutable invoice."""


class PlanFormatError(SyncError):
    """A stored plan cannot be read (bad JSON, failed validation, another format_version)."""


class ApplyError(SyncError):
    """Base of applier errors."""


class ChargesUnavailableError(ApplyError):
    """The plan has charge steps but no charges port is configured."""


class ChargeAdvanceLimitError(ApplyError):
    """Charge advancement did not settle within the round limit."""


class StalePlanError(ApplyError):
    """A stored plan's basis no longer matches the persisted state (or a repair's old value differs)."""

    def __init__(self, message: str, *, plan_basis: str | None = None, current_basis: str | None = None,
                 **context: Any) -> None:
        self.plan_basis = plan_basis
        self.current_basis = current_basis
        super().__init__(message, **context)
