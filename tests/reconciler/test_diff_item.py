"""The core decision ``diff_item(target, existing)`` (reconciler.md §3.8, D-12)."""

from __future__ import annotations

import pytest

from patches.model import ChargeExtend, ChargeShrink, Operation, Shape
from reconciler import diff_item, plan
from reconciler.errors import FlatFeeAgainstHierarchyError, PriceKindMismatchError
from reconciler.settings import SyncSettings
from tests.reconciler.factories import (
    Book,
    billing_flat,
    flat,
    ident,
    inputs,
    planning,
    scoped,
    target,
    unit,
)

JAN = ("2025-01-01", "2025-02-01")


def _line_book(**fields) -> Book:  # type: ignore[no-untyped-def]
    book = Book()
    book.gathering()
    book.line("l1", "gathering", JAN, identity=ident(), **fields)
    return book


def test_none_none_plans_nothing() -> None:
    request = inputs([], _line_book())
    ctx, collections = planning(request)
    diff_item(ctx, collections, None, None)
    assert all(not c.patches for c in collections.in_order())


def test_none_present_deletes() -> None:
    request = inputs([], _line_book())
    ctx, collections = planning(request)
    diff_item(ctx, collections, None, request.persisted.by_identity[ident()])
    assert [p.operation for p in collections.line.patches] == [Operation.DELETE]


def test_present_none_creates() -> None:
    request = inputs([target(JAN)])
    ctx, collections = planning(request)
    diff_item(ctx, collections, scoped(ctx, request.target.items[0]), None)
    assert [p.operation for p in collections.line.patches] == [Operation.CREATE]


def test_present_present_updates() -> None:
    request = inputs([target(("2025-01-01", "2025-01-20"), full=JAN)], _line_book())
    ctx, collections = planning(request)
    diff_item(ctx, collections, scoped(ctx, request.target.items[0]), request.persisted.by_identity[ident()])
    assert [p.operation for p in collections.line.patches] == [Operation.SHRINK]


def test_flat_fee_against_a_hierarchy_is_an_error() -> None:
    book = Book()
    book.gathering()
    book.hierarchy(ident(), JAN, [("c1", "gathering", JAN)])
    with pytest.raises(FlatFeeAgainstHierarchyError, match="flat fee lines cannot be reconciled against a split line hierarchy") as raised:
        plan(inputs([target(JAN, price=flat("5"))], book))
    assert raised.value.identity == ident() and raised.value.shape == "invoice.split_line_group"


def test_d12_flat_target_against_a_usage_line_is_an_error_where_openmeter_silently_updates_the_period() -> None:
    with pytest.raises(PriceKindMismatchError) as raised:
        plan(inputs([target(JAN, price=flat("5"))], _line_book()))
    assert raised.value.identity == ident() and raised.value.customer_id == "cus-1"


def test_d12_usage_target_against_a_flat_line_is_an_error() -> None:
    with pytest.raises(PriceKindMismatchError):
        plan(inputs([target(JAN, price=unit("1"))], _line_book(price=billing_flat("5"), invoice_at="2025-01-01")))


def test_d12_applies_to_charges_as_well() -> None:
    book = Book()
    book.usage_charge("ch-1", ident(), JAN)
    with pytest.raises(PriceKindMismatchError):
        plan(inputs([target(JAN, price=flat("5"))], book, settings=SyncSettings(credits_enabled=True), charges=True))


def _charge_plan(service: tuple[str, str], **target_fields):  # type: ignore[no-untyped-def]
    book = Book()
    book.usage_charge("ch-1", ident(), ("2025-01-01", "2025-02-01"), full=JAN, invoice_at="2025-02-01")
    return plan(inputs([target(service, **target_fields)], book, settings=SyncSettings(credits_enabled=True), charges=True))


def test_charge_target_end_before_existing_end_shrinks() -> None:
    (patch,) = _charge_plan(("2025-01-01", "2025-01-15"), full=JAN).patches
    assert patch.operation is Operation.SHRINK and isinstance(patch.steps[0], ChargeShrink)


def test_charge_target_end_after_existing_end_extends() -> None:
    (patch,) = _charge_plan(("2025-01-01", "2025-02-15"), full=("2025-01-01", "2025-03-01")).patches
    assert patch.operation is Operation.EXTEND and isinstance(patch.steps[0], ChargeExtend)
    assert patch.shape is Shape.USAGE_BASED_CHARGE


def test_charge_with_an_equal_end_gets_nothing_even_when_everything_else_differs() -> None:
    """Start, full-service and billing periods, invoice_at and the price all differ: no patch."""
    result = _charge_plan(("2025-01-10", "2025-02-01"), full=("2024-12-01", "2025-03-01"),
                          billing=("2025-01-10", "2025-03-01"), price=unit("7"))
    assert result.is_empty
