"""In-scope filtering (reconciler.md §3.6, targetstate.md §8.6): a dropped target counts as absent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from patches.model import ChargeCreate, LineDelete, Operation, Shape
from reconciler import plan
from reconciler.errors import InvalidCurrencyError
from reconciler.settings import SyncSettings
from targetstate.money import Currency
from tests.reconciler.factories import Book, billing_flat, flat, ident, inputs, target

JAN = ("2024-01-01", "2024-02-01")


def test_a_non_billable_target_is_dropped_and_its_line_deleted() -> None:
    """An in-arrears one-time fee with an empty full service period is not billable (S-017)."""
    identity = ident("setup", period_index=None)
    book = Book()
    book.gathering()
    book.line("l1", "gathering", ("2024-01-01", "2024-01-01"), identity=identity, price=billing_flat("5", "in_arrears"))
    open_ended = target(("2024-01-01", "2024-01-01"), item_key="setup", period_index=None, price=flat("5", "in_arrears"))
    assert not open_ended.is_billable
    result = plan(inputs([open_ended], book))
    assert [(p.operation, p.identity) for p in result.patches] == [(Operation.DELETE, identity)]


def test_a_zero_amount_target_on_the_invoice_backend_is_dropped_and_its_line_retired_c019() -> None:
    """§3.6 step 4: an invoice-backed flat fee whose prorated amount rounds to 0 is deleted through
    the line collection, not migrated to a charge; the new version goes to charges."""
    old = ident("fee", period_index=0)
    book = Book()
    book.gathering()
    book.line("l1", "gathering", JAN, identity=old, price=billing_flat("1"), invoice_at="2024-01-01")
    # a one-hour slice of a monthly 1.00 fee prorates to 0.00 (targetstate §8.5)
    hour = target(("2024-01-10T00:00", "2024-01-10T01:00"), item_key="fee", price=flat("1"), full=JAN, billing=JAN)
    new_version = target(("2024-01-10T01:00", "2024-02-01"), item_key="fee", version=1, price=flat("2"), full=JAN, billing=JAN)
    assert hour.expected_line() is None
    result = plan(inputs([hour, new_version], book, settings=SyncSettings(credits_enabled=True), charges=True))
    assert [(p.operation, p.shape, p.identity) for p in result.patches] == [
        (Operation.DELETE, Shape.LINE, old),
        (Operation.CREATE, Shape.FLAT_FEE_CHARGE, new_version.unique_id),
    ]
    assert isinstance(result.patches[0].steps[0], LineDelete)


def test_a_charge_backed_target_is_kept_even_with_a_zero_amount() -> None:
    """§3.6 step 3: the charge decides about zero amounts itself."""
    free = target(JAN, item_key="fee", price=flat("0"))
    result = plan(inputs([free], settings=SyncSettings(credits_enabled=True), charges=True))
    (patch,) = result.patches
    assert patch.shape is Shape.FLAT_FEE_CHARGE
    (step,) = patch.steps
    assert isinstance(step, ChargeCreate) and step.intent.amount_before_proration == Decimal("0.00")


def test_a_zero_amount_target_without_anything_persisted_plans_nothing() -> None:
    free = target(JAN, item_key="fee", price=flat("0"))
    assert plan(inputs([free])).is_empty


def test_expected_line_errors_propagate_as_planning_errors() -> None:
    bad = target(JAN, price=flat("1")).model_copy(update={"currency": Currency(code="XAU", minor_units=2)})
    with pytest.raises(InvalidCurrencyError) as raised:
        plan(inputs([bad]))
    assert raised.value.identity == bad.unique_id and raised.value.subscription_id == "sub-1"
