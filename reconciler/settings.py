"""Sync settings and credit resolution (reconciler.md §3.2, §8.1).

Settings are fixed for the lifetime of a sync service: there is no per-namespace switch and no cache
(DIVERGES D-09: OpenMeter reads both switches from a per-namespace feature gate). The planner receives
the frozen ``SyncSettings`` and whether a charges port is configured, and resolves from them the two
switches routing reads.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, PositiveInt


class SyncSettings(BaseModel):
    """§8.1. Scenario keys: ``credits`` → ``credits_enabled``, ``credit_then_invoice`` →
    ``credit_then_invoice_enabled``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    credits_enabled: bool = False
    credit_then_invoice_enabled: bool = True
    force_async_invoice_pending_lines: bool = False
    max_lines_per_collected_invoice: PositiveInt | None = None
    lockdown_namespaces: frozenset[str] = frozenset()
    reconcile_page_size: PositiveInt = 10_000
    reconcile_default_lookback: timedelta = timedelta(hours=24)


class CreditResolution(BaseModel):
    """The two switches routing reads (§3.2)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    credits_enabled: bool
    credit_then_invoice_enabled: bool


def credits_misconfigured(settings: SyncSettings, *, charges_port_configured: bool) -> bool:
    """True for the combination the sync service must refuse at construction with
    ``ConfigurationError``: credits enabled without a charges port (§3.2, §9.2.2)."""
    return settings.credits_enabled and not charges_port_configured


def resolve_credits(settings: SyncSettings) -> CreditResolution:
    """Credits are enabled iff ``credits_enabled``; credit-then-invoice iff credits are enabled and
    ``credit_then_invoice_enabled``. A missing charges port never silently turns credits off
    (D-09): that combination is refused before planning (``credits_misconfigured``)."""
    credits = settings.credits_enabled
    return CreditResolution(
        credits_enabled=credits,
        credit_then_invoice_enabled=credits and settings.credit_then_invoice_enabled,
    )
