"""Immutable invoices: drift becomes validation-issue changes (reconciler.md §3.10; D-05, D-06, D-13)
and quantity probes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from patches.errors import PlanInvariantError
from reconciler import plan, plan_probing, required_probes
from reconciler.drift import (
    FLAT_AMOUNT,
    FLAT_PERIOD,
    ISSUE_CODE,
    ISSUE_COMPONENT,
    LINE_NOT_FOUND,
    SHOULD_BE_DELETED,
    USAGE_QUANTITY,
)
from reconciler.probes import QuantityProbe
from tests.reconciler.factories import Book, billing_flat, flat, ident, inputs, issue, period, target

JAN = ("2025-01-01", "2025-02-01")
ID = ident()


def _book(*, issues=(), forget: bool = False, **fields) -> Book:  # type: ignore[no-untyped-def]
    book = Book()
    book.standard("inv-1", "paid", issues=issues)
    book.line("l1", "inv-1", JAN, identity=ID, **fields)
    if forget:
        book.forget_line("inv-1", "l1")
    return book


def _added(result) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    return [(i.severity, i.path, i.message) for u in result.issue_updates for i in u.add]


def _removed(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [i.message for u in result.issue_updates for i in u.remove]


def _plan(book: Book, targets, quantity: str = "0"):  # type: ignore[no-untyped-def]
    request = inputs(targets, book)
    return plan(request, {probe: Decimal(quantity) for probe in required_probes(request)})


# the §3.10 table, row by row


def test_delete_drift_of_a_listed_line_is_a_warning() -> None:
    result = _plan(_book(), [])
    assert result.patches == ()
    assert _added(result) == [("warning", "lines/l1", SHOULD_BE_DELETED)]


def test_d13_delete_drift_of_an_unlisted_line_is_critical_and_names_the_line_where_openmeter_says_lines_nil() -> None:
    assert _added(_plan(_book(forget=True), [])) == [("critical", "lines/l1", LINE_NOT_FOUND)]


def test_update_drift_of_an_unlisted_line_fails_the_sync() -> None:
    with pytest.raises(PlanInvariantError) as raised:
        _plan(_book(forget=True), [target(("2025-01-01", "2025-01-20"), full=JAN)])
    assert raised.value.identity == ID and raised.value.subscription_id == "sub-1"


def test_flat_amount_drift_is_a_warning_with_the_new_amount_and_no_period_check() -> None:
    book = _book(price=billing_flat("6.00"), invoice_at="2025-01-01", name="api")
    shorter = target(("2025-01-01", "2025-01-02"), full=("2025-01-01", "2025-02-01"), price=flat("6"))
    assert _added(_plan(book, [shorter])) == [("warning", "lines/l1", FLAT_AMOUNT.format("0.19"))]


def test_flat_period_drift_with_the_same_amount_is_a_period_warning() -> None:
    book = _book(price=billing_flat("6.00"), invoice_at="2025-01-01")
    # without proration the amount stays 6.00 while the period shrinks
    from tests.reconciler.factories import subscription

    shorter = target(("2025-01-01", "2025-01-20"), full=JAN, price=flat("6"), sub=subscription(pro_rating=False))
    assert _added(_plan(book, [shorter])) == [("warning", "lines/l1", FLAT_PERIOD)]


def test_usage_period_drift_with_a_different_quantity_is_a_warning() -> None:
    book = _book(quantity="12")
    shorter = target(("2025-01-01", "2025-01-20"), full=JAN)
    assert _added(_plan(book, [shorter], "12.50")) == [("warning", "lines/l1", USAGE_QUANTITY.format("12.5"))]


def test_usage_period_drift_with_the_same_quantity_is_no_issue() -> None:
    assert _plan(_book(quantity="12"), [target(("2025-01-01", "2025-01-20"), full=JAN)], "12.000").is_empty


def test_usage_line_with_the_same_period_is_no_issue_and_no_probe() -> None:
    request = inputs([target(JAN)], _book(quantity="12"))
    assert required_probes(request) == set()
    assert plan(request).is_empty


def test_a_manual_line_on_an_immutable_invoice_gets_no_update_drift_but_delete_drift() -> None:
    assert _plan(_book(managed_by="manual"), [target(("2025-01-01", "2025-01-20"), full=JAN)]).is_empty
    assert _added(_plan(_book(managed_by="manual"), [])) == [("warning", "lines/l1", SHOULD_BE_DELETED)]


def test_an_ignored_line_on_an_immutable_invoice_gets_no_issue() -> None:
    assert _plan(_book(annotations={"billing.subscription.sync.ignore": True}), []).is_empty


def test_issues_carry_the_sync_code_and_component() -> None:
    (update,) = _plan(_book(), []).issue_updates
    (added,) = update.add
    assert (added.code, added.component) == (ISSUE_CODE, ISSUE_COMPONENT)
    (line,) = update.lines
    assert (line.line_id, line.identity, line.child_period) == ("l1", ID, None)


# D-05 / D-06: issue changes converge


def test_d05_drift_already_reported_plans_nothing_where_openmeter_re_plans_the_patch_every_sync() -> None:
    book = _book(issues=[issue("l1", SHOULD_BE_DELETED)])
    assert _plan(book, []).is_empty


def test_d06_sync_removes_its_own_issue_when_the_drift_is_gone() -> None:
    book = _book(issues=[issue("l1", SHOULD_BE_DELETED)])
    result = _plan(book, [target(JAN)])
    assert _added(result) == [] and _removed(result) == [SHOULD_BE_DELETED]


def test_d06_a_changed_drift_replaces_the_old_issue() -> None:
    old = USAGE_QUANTITY.format("9")
    book = _book(quantity="12", issues=[issue("l1", old)])
    result = _plan(book, [target(("2025-01-01", "2025-01-20"), full=JAN)], "10")
    assert _added(result) == [("warning", "lines/l1", USAGE_QUANTITY.format("10"))]
    assert _removed(result) == [old]


def test_issues_this_sync_does_not_own_are_never_touched() -> None:
    foreign = [
        issue("l1", "charges say so", component="charges.invoiceupdater"),
        issue("l1", "other code", code="something_else"),
        issue("other-subscription-line", SHOULD_BE_DELETED),
    ]
    book = _book(issues=foreign)
    assert _plan(book, [target(JAN)]).is_empty


def test_issue_updates_are_sorted_and_per_invoice_in_id_order() -> None:
    book = Book()
    book.standard("inv-b", "paid")
    book.standard("inv-a", "paid")
    book.line("l2", "inv-b", JAN, identity=ident("b"))
    book.line("l1", "inv-a", JAN, identity=ident("a"))
    book.line("l3", "inv-a", ("2025-02-01", "2025-03-01"), identity=ident("a", period_index=1))
    book.forget_line("inv-a", "l3")
    result = _plan(book, [])
    assert [u.invoice_id for u in result.issue_updates] == ["inv-a", "inv-b"]
    assert [(i.path, i.severity) for i in result.issue_updates[0].add] == [("lines/l1", "warning"), ("lines/l3", "critical")]


def test_the_plan_never_contains_a_patch_against_an_immutable_invoice() -> None:
    result = _plan(_book(quantity="3"), [target(("2025-01-01", "2025-01-20"), full=JAN, name="renamed")], "1")
    assert result.patches == ()


# quantity probes


def test_required_probes_is_exactly_what_plan_reads() -> None:
    request = inputs([target(("2025-01-01", "2025-01-20"), full=JAN)], _book(quantity="12"))
    probe = QuantityProbe(invoice_id="inv-1", line_id="l1", period=period("2025-01-01", "2025-01-20"))
    assert required_probes(request) == {probe}
    assert _added(plan(request, {probe: Decimal(5)})) == [("warning", "lines/l1", USAGE_QUANTITY.format("5"))]


def test_a_missing_probe_is_a_plan_invariant_error() -> None:
    request = inputs([target(("2025-01-01", "2025-01-20"), full=JAN)], _book(quantity="12"))
    with pytest.raises(PlanInvariantError, match="quantity probe missing") as raised:
        plan(request, {})
    assert raised.value.identity == ID and raised.value.customer_id == "cus-1"


def test_probe_periods_are_truncated_to_the_second() -> None:
    request = inputs([target(("2025-01-01", "2025-01-20T00:00:00"), full=JAN)], _book(quantity="12"))
    (probe,) = required_probes(request)
    assert probe.period.end.microsecond == 0


# plan_probing: the sync service's one-pass planning


def test_plan_probing_evaluates_the_required_probes_once_and_plans_with_their_quantities() -> None:
    request = inputs([target(("2025-01-01", "2025-01-20"), full=JAN)], _book(quantity="12"))
    asked: list[set[QuantityProbe]] = []

    def evaluate(probes):  # type: ignore[no-untyped-def]
        asked.append(probes)
        return {probe: Decimal("12.50") for probe in probes}

    result = plan_probing(request, evaluate)
    assert asked == [required_probes(request)] and len(asked[0]) == 1
    assert result == plan(request, {probe: Decimal("12.50") for probe in asked[0]})
    assert _added(result) == [("warning", "lines/l1", USAGE_QUANTITY.format("12.5"))]


def test_plan_probing_plans_once_and_evaluates_nothing_when_no_probe_is_needed() -> None:
    request = inputs([target(JAN)], _book(quantity="12"))

    def evaluate(probes):  # type: ignore[no-untyped-def]
        raise AssertionError(f"no probe is needed, got {probes}")

    assert plan_probing(request, evaluate) == plan(request)
