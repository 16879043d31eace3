"""Reference repair before planning (reconciler.md §3.3; D-07: repairs are plan entries, not writes)."""

from __future__ import annotations

import pytest

from patches.model import Change, Operation, ReferenceRepair, Shape
from persistedstate.errors import ChargeReferenceMismatchError, DuplicateIdentityError
from reconciler import plan
from reconciler.settings import SyncSettings
from tests.reconciler.factories import Book, flat, ident, inputs, target

CREDITS = SyncSettings(credits_enabled=True)
JAN = ("2025-01-01", "2025-02-01")
ID = ident()


def _book(**fields) -> Book:  # type: ignore[no-untyped-def]
    book = Book()
    book.flat_fee_charge("ch-1", ID, JAN, **fields)
    return book


def _target(**fields):  # type: ignore[no-untyped-def]
    fields.setdefault("item_id", "item-new")
    return target(JAN, price=flat("10"), **fields)


def test_d07_a_recreated_item_row_is_a_repair_entry_and_planning_goes_on_against_the_repaired_copy() -> None:
    book = _book(item_id="item-old")
    request = inputs([_target()], book, settings=CREDITS, charges=True)
    result = plan(request)
    assert result.reference_repairs == (
        ReferenceRepair(identity=ID, shape=Shape.FLAT_FEE_CHARGE, charge_id="ch-1", item_id=Change(old="item-old", new="item-new")),
    )
    assert result.patches == () and not result.is_empty
    # the inputs are untouched: the planner wrote nothing
    assert request.persisted.by_identity[ID].charge.subscription.item_id == "item-old"  # type: ignore[union-attr]


def test_a_repaired_charge_is_still_diffed_by_its_period() -> None:
    book = _book(item_id="item-old")
    result = plan(inputs([target(("2025-01-01", "2025-01-15"), full=JAN, price=flat("10"), item_id="item-new")], book,
                         settings=CREDITS, charges=True))
    assert len(result.reference_repairs) == 1
    assert [(p.operation, p.shape) for p in result.patches] == [(Operation.SHRINK, Shape.FLAT_FEE_CHARGE)]


def test_the_same_item_id_needs_no_repair() -> None:
    assert plan(inputs([_target(item_id="item-main-api-0")], _book(), settings=CREDITS, charges=True)).is_empty


def test_no_repair_without_a_charges_port() -> None:
    result = plan(inputs([_target()], _book(item_id="item-old"), settings=SyncSettings(), charges=False))
    assert result.reference_repairs == ()


def test_invoice_items_are_never_repaired() -> None:
    book = Book()
    book.gathering()
    book.line("l1", "gathering", JAN, identity=ID, item_id="item-old", price=None)
    result = plan(inputs([target(JAN, item_id="item-new")], book, settings=CREDITS, charges=True))
    assert result.is_empty


@pytest.mark.parametrize(
    ("fields", "target_fields"),
    [
        pytest.param({"reference": False}, {}, id="no subscription reference"),
        pytest.param({"subscription_id": "sub-other"}, {}, id="another subscription"),
        pytest.param({"phase_id": "phase-other"}, {}, id="another phase"),
    ],
)
def test_a_foreign_or_missing_reference_is_an_integrity_error(fields, target_fields) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ChargeReferenceMismatchError) as raised:
        plan(inputs([_target(**target_fields)], _book(**fields), settings=CREDITS, charges=True))
    error = raised.value
    assert (error.charge_id, error.identity, error.subscription_id, error.customer_id) == ("ch-1", ID, "sub-1", "cus-1")


def test_two_billable_targets_with_one_identity_fail_in_repair() -> None:
    twin = _target()
    with pytest.raises(DuplicateIdentityError) as raised:
        plan(inputs([twin, twin], _book(), settings=CREDITS, charges=True))
    assert raised.value.scope == "target" and raised.value.identity == ID and raised.value.subscription_id == "sub-1"


def test_repairs_are_in_identity_order() -> None:
    book = Book()
    book.flat_fee_charge("ch-b", ident("b"), JAN, item_id="old-b")
    book.flat_fee_charge("ch-a", ident("a"), JAN, item_id="old-a")
    targets = [target(JAN, price=flat("10"), item_key="b", item_id="new-b"), target(JAN, price=flat("10"), item_key="a", item_id="new-a")]
    result = plan(inputs(targets, book, settings=CREDITS, charges=True))
    assert [r.identity for r in result.reference_repairs] == [ident("a"), ident("b")]
