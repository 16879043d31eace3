"""The line collection (reconciler.md §3.11) and rendered fields / labels of lines (§3.9, D-01)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.prices import Discounts as BillingDiscounts
from billing.prices import TaxConfig as BillingTaxConfig
from patches.model import LineCreate, LineDelete, LineUpdate, Operation
from persistedstate.errors import MissingInvoiceError
from persistedstate.items import InvoiceLineItem
from reconciler import plan
from reconciler.drift import SHOULD_BE_DELETED
from reconciler.scope import ScopedTarget
from subscriptions.models import Discounts, TaxConfig
from tests.reconciler.factories import (
    Book,
    billing_flat,
    billing_unit,
    flat,
    ident,
    inputs,
    planning,
    scoped,
    t,
    target,
    unit,
)

IGNORE = {"billing.subscription.sync.ignore": True}
JAN = ("2025-01-01", "2025-02-01")
ID = ident()


def _book(invoice: str = "gathering", status: str = "draft.waiting_for_collection", **fields) -> Book:  # type: ignore[no-untyped-def]
    book = Book()
    if invoice.startswith("gathering"):
        book.gathering(invoice, deleted=invoice == "gathering-gone")
    else:
        book.standard(invoice, status)
    book.line("l1", invoice, JAN, identity=ID, **fields)
    return book


def _ops(result) -> list[tuple[Operation, type]]:  # type: ignore[no-untyped-def, type-arg]
    return [(p.operation, type(p.steps[0])) for p in result.patches]


# -- add_delete (§3.11 delete table) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("invoice", "status", "fields", "expected_ops", "expected_issue"),
    [
        pytest.param("inv-1", "paid", {"annotations": IGNORE}, [], None, id="ignored: nothing, no issue"),
        pytest.param("gathering", "", {"deleted": True, "managed_by": "manual"}, [], None, id="already deleted: nothing"),
        pytest.param("gathering", "", {}, [(Operation.DELETE, LineDelete)], None, id="gathering: delete"),
        pytest.param("inv-1", "draft.waiting_for_collection", {}, [(Operation.DELETE, LineDelete)], None, id="mutable: delete"),
        pytest.param("inv-1", "paid", {}, [], SHOULD_BE_DELETED, id="immutable: should-be-deleted drift"),
        pytest.param("gathering-gone", "", {}, [], None, id="gone: nothing"),
    ],
)
def test_add_delete(invoice, status, fields, expected_ops, expected_issue) -> None:  # type: ignore[no-untyped-def]
    result = plan(inputs([], _book(invoice, status, **fields)))
    assert _ops(result) == expected_ops
    messages = [issue.message for update in result.issue_updates for issue in update.add]
    assert messages == ([expected_issue] if expected_issue else [])


def test_a_live_manual_line_is_still_deleted_when_its_target_disappears() -> None:
    """Kept on purpose (§2.5): the delete path does not check ``managed_by``."""
    assert _ops(plan(inputs([], _book(managed_by="manual")))) == [(Operation.DELETE, LineDelete)]


def test_a_delete_names_the_line_and_its_invoice() -> None:
    (patch,) = plan(inputs([], _book("inv-1"))).patches
    (step,) = patch.steps
    assert (step.line.line_id, step.line.invoice_id, step.line.identity) == ("l1", "inv-1", ID)
    assert step.change_source == "system"


# -- add_create -------------------------------------------------------------------------------------


def test_add_create_holds_the_expected_gathering_line() -> None:
    new = target(JAN, price=flat("6"), tax_config=TaxConfig(code="txcd_1"), discounts=Discounts(percentage=Decimal(10)))
    (patch,) = plan(inputs([new])).patches
    (step,) = patch.steps
    assert isinstance(step, LineCreate) and patch.operation is Operation.CREATE
    line = step.line
    assert line.child_unique_reference_id == new.unique_id and line.managed_by == "subscription"
    assert line.per_unit_amount == Decimal("6.00") and line.price.payment_term == "in_advance"
    assert line.tax_config == BillingTaxConfig(code="txcd_1")
    assert line.rate_card_discounts == BillingDiscounts(percentage=Decimal(10))
    assert line.invoice_at == t("2025-01-01") and line.annotations == {} and line.metadata == {}
    assert line.subscription.item_id == new.item.id and line.subscription.phase_id == new.phase_id
    assert step.currency == "USD"


def test_add_create_without_an_expected_line_does_nothing() -> None:
    request = inputs([target(JAN)])
    ctx, collections = planning(request)
    collections.line.add_create(ScopedTarget(request.target.items[0], "invoice.line", None))
    assert collections.line.patches == []


# -- add_update (§3.11 update steps) ----------------------------------------------------------------


def _shrunk(**fields):  # type: ignore[no-untyped-def]
    return target(("2025-01-01", "2025-01-20"), full=JAN, **fields)


def test_update_skips_an_ignored_line_even_on_an_immutable_invoice() -> None:
    assert plan(inputs([_shrunk()], _book("inv-1", "paid", annotations=IGNORE))).is_empty
    assert plan(inputs([_shrunk()], _book(annotations=IGNORE))).is_empty


def test_update_skips_a_manual_line_s022() -> None:
    assert plan(inputs([_shrunk()], _book(managed_by="manual", name="edited"))).is_empty


def test_update_needs_the_line_invoice() -> None:
    book = _book("inv-1")
    request = inputs([_shrunk()], book)
    line_item = request.persisted.by_identity[ID]
    assert isinstance(line_item, InvoiceLineItem)
    orphan = InvoiceLineItem(line=line_item.line.model_copy(update={"invoice_id": "inv-missing"}))
    ctx, collections = planning(request, items={ID: orphan})
    with pytest.raises(MissingInvoiceError, match="invoice not found for persisted subscription state: inv-missing") as raised:
        collections.line.add_update(orphan, scoped(ctx, request.target.items[0]))
    assert raised.value.identity == ID and raised.value.invoice_id == "inv-missing"


def test_update_on_a_gone_invoice_does_nothing() -> None:
    assert plan(inputs([_shrunk()], _book("gathering-gone"))).is_empty


def test_update_of_a_usage_line_with_an_emptied_period_is_a_delete() -> None:
    emptied = target(("2025-01-10", "2025-01-10"), full=JAN)
    (patch,) = plan(inputs([emptied], _book())).patches
    assert patch.operation is Operation.SHRINK and isinstance(patch.steps[0], LineDelete)


def test_update_undeletes_a_soft_deleted_subscription_line() -> None:
    """Unreachable through the loader (§2.5), but the rule holds for the collection."""
    (patch,) = plan(inputs([target(JAN)], _book(deleted=True))).patches
    (step,) = patch.steps
    assert isinstance(step, LineUpdate) and patch.operation is Operation.PRORATE
    assert step.changes.deleted_at.old is not None and step.changes.deleted_at.new is None
    assert [name for name, _ in step.changes.items()] == ["deleted_at"]


def test_update_without_a_difference_plans_nothing() -> None:
    assert plan(inputs([target(JAN)], _book())).is_empty


def test_update_compares_through_billing_normaliser() -> None:
    """Decimal scale and billing's canonical values compare equal: no no-op fix."""
    book = _book(discounts=BillingDiscounts(percentage=Decimal("10.00")), price=billing_unit("1.000"))
    assert plan(inputs([target(JAN, discounts=Discounts(percentage=Decimal("10")))], book)).is_empty


# rendered fields, one row per field of §3.9 (D-01: any difference is reconciled)


def _single_update(result) -> LineUpdate:  # type: ignore[no-untyped-def]
    (patch,) = result.patches
    (step,) = patch.steps
    assert isinstance(step, LineUpdate)
    return step


@pytest.mark.parametrize(
    ("line_fields", "target_fields", "field", "new"),
    [
        pytest.param({"name": "old"}, {"name": "new"}, "name", "new", id="name"),
        pytest.param({}, {"tax_config": TaxConfig(code="tx")}, "tax_config", BillingTaxConfig(code="tx"), id="tax_config"),
        pytest.param({}, {"discounts": Discounts(usage=Decimal(5))}, "rate_card_discounts",
                     BillingDiscounts(usage=Decimal(5)), id="rate_card_discounts"),
        pytest.param({}, {"price": unit("2")}, "price", billing_unit("2"), id="usage price"),
    ],
)
def test_d01_every_rendered_field_difference_of_a_usage_line_is_reconciled(line_fields, target_fields, field, new) -> None:  # type: ignore[no-untyped-def]
    target_fields.setdefault("name", "api")
    step = _single_update(plan(inputs([target(JAN, **target_fields)], _book(**line_fields))))
    assert [name for name, _ in step.changes.items()] == [field]
    assert getattr(step.changes, field).new == new


def test_d01_flat_amount_change_is_per_unit_amount_only_labelled_prorate() -> None:
    book = _book(price=billing_flat("6"), invoice_at="2025-01-01")
    result = plan(inputs([target(JAN, price=flat("8"))], book))
    step = _single_update(result)
    assert result.patches[0].operation is Operation.PRORATE
    assert [name for name, _ in step.changes.items()] == ["per_unit_amount"]
    assert (step.changes.per_unit_amount.old, step.changes.per_unit_amount.new) == (Decimal(6), Decimal("8.00"))


def test_d01_flat_payment_term_change_replaces_the_whole_price() -> None:
    book = _book(price=billing_flat("6"), invoice_at="2025-02-01")
    step = _single_update(plan(inputs([target(JAN, price=flat("6", "in_arrears"))], book)))
    assert [name for name, _ in step.changes.items()] == ["price"]
    assert step.changes.price.new.payment_term == "in_arrears"


def test_flat_line_period_end_change_is_prorate_with_amount_and_invoice_at_on_gathering() -> None:
    book = _book(price=billing_flat("31"), invoice_at="2025-01-01")
    shorter = target(("2025-01-01", "2025-01-11"), full=JAN, billing=("2025-01-01", "2025-01-11"), price=flat("31"))
    result = plan(inputs([shorter], book))
    step = _single_update(result)
    assert result.patches[0].operation is Operation.PRORATE
    assert [name for name, _ in step.changes.items()] == ["service_period", "per_unit_amount"]
    assert step.changes.per_unit_amount.new == Decimal("10.00")


def test_invoice_at_is_reconciled_on_gathering_lines_only() -> None:
    later = target(JAN, billing=("2025-01-01", "2025-03-01"))  # invoice_at moves to 03-01
    gathering = _single_update(plan(inputs([later], _book())))
    assert [name for name, _ in gathering.changes.items()] == ["invoice_at"]
    assert plan(inputs([later], _book("inv-1", "draft.waiting_for_collection"))).is_empty


@pytest.mark.parametrize(
    ("service", "label"),
    [
        pytest.param(("2025-01-01", "2025-01-20"), Operation.SHRINK, id="earlier end: shrink"),
        pytest.param(("2025-01-01", "2025-02-10"), Operation.EXTEND, id="later end: extend"),
        pytest.param(("2025-01-05", "2025-02-01"), Operation.SHRINK, id="same end, later start: shrink"),
        pytest.param(("2024-12-20", "2025-02-01"), Operation.EXTEND, id="same end, earlier start: extend"),
    ],
)
def test_usage_line_labels(service, label) -> None:  # type: ignore[no-untyped-def]
    moved = target(service, full=("2024-12-01", "2025-03-01"), billing=("2025-01-01", "2025-02-01"))
    result = plan(inputs([moved], _book(invoice_at="2025-02-01" if service[1] <= "2025-02-01" else service[1])))
    assert [p.operation for p in result.patches] == [label]
    step = _single_update(result)
    assert step.changes.service_period.new.start == t(service[0])


def test_usage_line_with_unchanged_period_is_re_rendered_in_place_as_prorate() -> None:
    result = plan(inputs([target(JAN, name="renamed")], _book()))
    assert [p.operation for p in result.patches] == [Operation.PRORATE]
