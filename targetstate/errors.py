"""Errors of the target-state builder (targetstate spec §2.5).

Every failure of a build raises ``TargetStateError`` or a subclass. An error names the subscription
and customer and, where known, the phase, item key, version and identity it concerns; inner code
raises with what it knows and outer code fills in the rest with ``enrich``.
"""

from __future__ import annotations

from typing import Any

_CONTEXT_FIELDS = ("subscription_id", "customer_id", "phase_key", "item_key", "version", "identity")


class TargetStateError(Exception):
    """The target state of a subscription cannot be built."""

    def __init__(
        self,
        message: str,
        *,
        subscription_id: str | None = None,
        customer_id: str | None = None,
        phase_key: str | None = None,
        item_key: str | None = None,
        version: int | None = None,
        identity: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.subscription_id = subscription_id
        self.customer_id = customer_id
        self.phase_key = phase_key
        self.item_key = item_key
        self.version = version
        self.identity = identity

    def enrich(self, **context: Any) -> "TargetStateError":
        """Fill in the context fields that are still unknown; returns ``self`` for ``raise e.enrich(…)``."""
        for name, value in context.items():
            if name not in _CONTEXT_FIELDS:
                raise TypeError(f"unknown error context field {name!r}")
            if getattr(self, name) is None and value is not None:
                setattr(self, name, value)
        return self

    @property
    def context(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _CONTEXT_FIELDS if getattr(self, name) is not None}

    def __str__(self) -> str:
        parts: list[str] = []
        if self.subscription_id is not None:
            owner = f"subscription {self.subscription_id!r}"
            if self.customer_id is not None:
                owner += f" (customer {self.customer_id!r})"
            parts.append(owner)
        elif self.customer_id is not None:
            parts.append(f"customer {self.customer_id!r}")
        if self.phase_key is not None:
            parts.append(f"phase {self.phase_key!r}")
        if self.item_key is not None:
            parts.append(f"item {self.item_key!r}")
        if self.version is not None:
            parts.append(f"version {self.version}")
        if self.identity is not None:
            parts.append(f"identity {self.identity!r}")
        prefix = ", ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message


class TimeArithmeticError(TargetStateError):
    """A recurrence or instant cannot be computed: non-positive cadence, missing anchor, more than
    1,000,000 periods from the anchor, or a date beyond the representable range (§2.4, §4.1)."""


class QueriedBeforeSubscriptionStart(TargetStateError):
    """``billing_period_at`` was asked about an instant before the subscription start (§4.2).

    Only the horizon (§5.3) catches it; anywhere else it fails the build.
    """


class DuplicateIdentityError(TargetStateError):
    """Two target items share one identity (§7)."""


class InvalidCurrencyError(TargetStateError):
    """The invoice currency is not a fiat ISO 4217 code (§2.3, §5.1 step 6, §8.2)."""


class InvalidPeriodError(TargetStateError):
    """A period the builder needs is inconsistent: a version queried outside its active range (§4.3),
    or a continuity correction that cannot apply (§5.10 steps 4 and 6)."""
