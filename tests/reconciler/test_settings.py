"""Settings (reconciler.md §8.1) and credit resolution (§3.2, the §9.2.2 table, D-09)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from patches.model import Shape
from reconciler import plan
from reconciler.settings import SyncSettings, credits_misconfigured, resolve_credits
from tests.reconciler.factories import NAMESPACE, flat, inputs, subscription, target


def test_defaults_are_those_of_section_8_1() -> None:
    settings = SyncSettings()
    assert settings.credits_enabled is False
    assert settings.credit_then_invoice_enabled is True
    assert settings.force_async_invoice_pending_lines is False
    assert settings.max_lines_per_collected_invoice is None
    assert settings.lockdown_namespaces == frozenset()
    assert settings.reconcile_page_size == 10_000
    assert settings.reconcile_default_lookback == timedelta(hours=24)


def test_settings_are_frozen_and_validated() -> None:
    settings = SyncSettings()
    with pytest.raises(ValidationError):
        settings.credits_enabled = True  # type: ignore[misc]
    with pytest.raises(ValidationError):
        SyncSettings(reconcile_page_size=0)
    with pytest.raises(ValidationError):
        SyncSettings(unknown_switch=True)  # type: ignore[call-arg]


def test_credit_resolution_happy_path() -> None:
    settings = SyncSettings(credits_enabled=True)
    assert not credits_misconfigured(settings, charges_port_configured=True)
    resolved = resolve_credits(settings)
    assert resolved.credits_enabled is True
    request = inputs(settings=settings, charges=True)
    assert request.subscription.namespace == NAMESPACE
    assert plan(request).is_empty


def test_credit_resolution_missing_charges_port_is_refused_d09() -> None:
    """D-09: credits are never silently turned off for lack of a charges port. The sync service raises
    ``ConfigurationError`` at construction; the planner's inputs refuse the combination too."""
    settings = SyncSettings(credits_enabled=True)
    assert credits_misconfigured(settings, charges_port_configured=False)
    with pytest.raises(ValidationError, match="charges port"):
        inputs(settings=settings, charges=False)


def test_credit_resolution_credits_disabled() -> None:
    resolved = resolve_credits(SyncSettings(credits_enabled=False))
    assert resolved.credits_enabled is False
    assert not credits_misconfigured(SyncSettings(credits_enabled=False), charges_port_configured=False)


def test_credit_then_invoice_without_credits_routes_to_lines() -> None:
    settings = SyncSettings(credits_enabled=False, credit_then_invoice_enabled=True)
    assert resolve_credits(settings).credit_then_invoice_enabled is False
    new = target(("2025-01-01", "2025-02-01"), price=flat("100"), sub=subscription())
    result = plan(inputs([new], settings=settings, charges=True))
    assert [p.shape for p in result.patches] == [Shape.LINE]
