"""The worked examples of reconciler.md §9.1 (A–I) as planner tests, asserting the rendered text.

Each test builds the persisted state in memory, plans, and compares ``render_text`` without its
header line (the header carries the fingerprint). Where the spec gives the text, it is copied here
verbatim. Every example also checks convergence: planning again against the state the plan leads to
gives nothing.
"""

from __future__ import annotations

from decimal import Decimal

from patches.model import ChargeDelete, ChargeShrink, LineCreate, LineDelete, Operation, Shape
from patches.render import render_text
from reconciler import plan, required_probes
from reconciler.probes import QuantityProbe
from reconciler.settings import SyncSettings
from tests.reconciler.factories import Book, flat, ident, inputs, issue, period, t, target, unit

SUB_END_MONTH = ("2025-03-01", "2025-04-01")


def entries(p) -> list[str]:  # type: ignore[no-untyped-def]
    return render_text(p).splitlines()[1:]


def test_example_a_emptied_split_child_on_cancellation() -> None:
    identity = ident("api-calls")
    book = Book()
    book.gathering()
    book.standard("inv-1", "draft.waiting_for_collection")
    book.hierarchy(
        identity,
        SUB_END_MONTH,
        [("c1", "inv-1", ("2025-03-01", "2025-03-10")), ("c2", "gathering", ("2025-03-10", "2025-04-01"), {"invoice_at": "2025-04-01"})],
        name="api-calls",
    )
    # cancelled at 2025-03-10T00:00:00.400Z: the target builder truncates the end to the second
    cancelled = target(("2025-03-01", "2025-03-10T00:00:00"), item_key="api-calls", full=SUB_END_MONTH)
    result = plan(inputs([cancelled], book))
    assert entries(result) == [
        "~ shrink invoice.split_line_group sub-1/main/api-calls/v[0]/period[0]: child [2025-03-10T00:00:00Z, "
        "2025-04-01T00:00:00Z) @ gathering: delete; group service_period [2025-03-01T00:00:00Z, 2025-04-01T00:00:00Z)"
        " → [2025-03-01T00:00:00Z, 2025-03-10T00:00:00Z)"
    ]


def test_example_a_second_sync_plans_nothing() -> None:
    identity = ident("api-calls")
    book = Book()
    book.gathering(deleted=True)  # billing deleted the emptied gathering invoice
    book.standard("inv-1", "draft.waiting_for_collection")
    book.hierarchy(
        identity,
        ("2025-03-01", "2025-03-10"),
        [("c1", "inv-1", ("2025-03-01", "2025-03-10")), ("c2", "gathering", ("2025-03-10", "2025-04-01"), {"deleted": True})],
        name="api-calls",
    )
    cancelled = target(("2025-03-01", "2025-03-10"), item_key="api-calls", full=SUB_END_MONTH)
    assert plan(inputs([cancelled], book)).is_empty


def _example_b(child_2_deleted: bool = False, issued: bool = False) -> tuple[Book, list]:  # type: ignore[type-arg]
    book = Book("sub-2")
    book.gathering(deleted=child_2_deleted)
    paid_issues = (
        [issue("c1", "usage based line's quantity cannot be changed on immutable invoice (new qty: 25)")] if issued else []
    )
    book.standard("inv-5", "paid", issues=paid_issues)
    book.standard("inv-7", "deleted" if child_2_deleted else "draft.waiting_for_collection")
    old_identity = ident("storage", phase_key="standard", sub_id="sub-2")
    book.hierarchy(
        old_identity,
        ("2025-05-01", "2025-05-08") if child_2_deleted else ("2025-05-01", "2025-06-01"),
        [
            ("c1", "inv-5", ("2025-05-01", "2025-05-12"), {"quantity": "40"}),
            ("c2", "inv-7", ("2025-05-12", "2025-05-20"), {"deleted": child_2_deleted}),
            ("c3", "gathering", ("2025-05-20", "2025-06-01"), {"deleted": child_2_deleted}),
        ],
        price=_billing_unit("0.08"),
        name="storage",
    )
    from tests.reconciler.factories import subscription

    sub = subscription(sub_id="sub-2", customer_id="cus-2")
    month = ("2025-05-01", "2025-06-01")
    targets = [
        target(("2025-05-01", "2025-05-08"), sub=sub, phase_key="standard", item_key="storage", price=unit("0.08"), full=month),
        target(("2025-05-08", "2025-06-01"), sub=sub, phase_key="premium", item_key="storage", price=unit("0.08"), full=month),
    ]
    return book, targets


def _billing_unit(amount: str):  # type: ignore[no-untyped-def]
    from tests.reconciler.factories import billing_unit

    return billing_unit(amount)


def test_example_b_late_phase_insert_over_immutable_draft_and_gathering_children() -> None:
    book, targets = _example_b()
    request = inputs(targets, book, sub_id="sub-2", customer_id="cus-2", as_of="2025-05-18")
    probe = QuantityProbe(invoice_id="inv-5", line_id="c1", period=period("2025-05-01", "2025-05-08"))
    assert required_probes(request) == {probe}
    result = plan(request, {probe: Decimal(25)})
    assert render_text(result).splitlines()[0].startswith(
        "plan ns/sub-2 customer=cus-2 currency=USD as_of=2025-05-18T00:00:00Z basis="
    )
    assert entries(result) == [
        "+ create invoice.line sub-2/premium/storage/v[0]/period[0]: @ gathering: create service_period "
        "[2025-05-08T00:00:00Z, 2025-06-01T00:00:00Z), invoice_at 2025-06-01T00:00:00Z, price unit(0.08)",
        "~ shrink invoice.split_line_group sub-2/standard/storage/v[0]/period[0]: child [2025-05-12T00:00:00Z, "
        "2025-05-20T00:00:00Z) @ standard:inv-7: delete; child [2025-05-20T00:00:00Z, 2025-06-01T00:00:00Z) @ gathering:"
        " delete; group service_period [2025-05-01T00:00:00Z, 2025-06-01T00:00:00Z) → [2025-05-01T00:00:00Z, "
        "2025-05-08T00:00:00Z)",
        "! issue + standard:inv-5 warning lines/sub-2/standard/storage/v[0]/period[0] child [2025-05-01T00:00:00Z, "
        "2025-05-12T00:00:00Z): \"usage based line's quantity cannot be changed on immutable invoice (new qty: 25)\"",
    ]


def test_example_b_second_sync_plans_nothing() -> None:
    book, targets = _example_b(child_2_deleted=True, issued=True)
    # the new phase's line now exists on a fresh gathering invoice
    book.gathering("gathering-2")
    book.line("n1", "gathering-2", ("2025-05-08", "2025-06-01"), identity=targets[1].unique_id,
              price=_billing_unit("0.08"), name="storage")
    request = inputs(targets, book, sub_id="sub-2", customer_id="cus-2", as_of="2025-05-18")
    probes = required_probes(request)
    assert plan(request, {probe: Decimal(25) for probe in probes}).is_empty


def test_example_c_issued_flat_fee_reprorated_s011() -> None:
    book = Book()
    book.gathering()
    book.standard("inv-1", "paid")
    old_0 = ident("fee", period_index=0)
    old_1 = ident("fee", period_index=1)
    book.line("l0", "inv-1", ("2024-01-01", "2024-02-01"), identity=old_0, price=_billing_flat("6.00"),
              name="fee", invoice_at="2024-01-01")
    book.line("l1", "gathering", ("2024-02-01", "2024-03-01"), identity=old_1, price=_billing_flat("6.00"),
              name="fee", invoice_at="2024-02-01")
    january = ("2024-01-01", "2024-02-01")
    targets = [
        target(("2024-01-01", "2024-01-02"), item_key="fee", price=flat("6"), full=january, billing=january),
        target(("2024-01-02", "2024-02-01"), item_key="fee", version=1, price=flat("10"), full=january, billing=january),
        target(("2024-02-01", "2024-03-01"), item_key="fee", version=1, period_index=1, price=flat("10"),
               billing=("2024-02-01", "2024-03-01")),
    ]
    result = plan(inputs(targets, book))
    assert entries(result) == [
        "- delete invoice.line sub-1/main/fee/v[0]/period[1]: @ gathering: delete",
        "+ create invoice.line sub-1/main/fee/v[1]/period[0]: @ gathering: create service_period "
        "[2024-01-02T00:00:00Z, 2024-02-01T00:00:00Z), invoice_at 2024-01-01T00:00:00Z, price flat(9.68, in_advance)",
        "+ create invoice.line sub-1/main/fee/v[1]/period[1]: @ gathering: create service_period "
        "[2024-02-01T00:00:00Z, 2024-03-01T00:00:00Z), invoice_at 2024-02-01T00:00:00Z, price flat(10.00, in_advance)",
        "! issue + standard:inv-1 warning lines/sub-1/main/fee/v[0]/period[0]: \"flat fee line's per unit amount "
        "cannot be changed on immutable invoice (new per unit amount: 0.19)\"",
    ]


def _billing_flat(amount: str, term: str = "in_advance"):  # type: ignore[no-untyped-def]
    from tests.reconciler.factories import billing_flat

    return billing_flat(amount, term)


def test_example_d_manual_split_child_keeps_its_edit_and_follows_the_group_s023() -> None:
    identity = ident()
    book = Book()
    book.gathering()
    book.standard("inv-1", "draft.waiting_for_collection")
    book.hierarchy(
        identity,
        ("2024-01-01", "2024-02-01"),
        [
            ("c1", "inv-1", ("2024-01-01", "2024-01-15"), {"managed_by": "manual", "name": "renamed"}),
            ("c2", "gathering", ("2024-01-15", "2024-02-01")),
        ],
    )
    cancelled = target(("2024-01-01", "2024-01-10"), full=("2024-01-01", "2024-02-01"))
    result = plan(inputs([cancelled], book))
    assert entries(result) == [
        "~ shrink invoice.split_line_group sub-1/main/api/v[0]/period[0]: child [2024-01-01T00:00:00Z, "
        "2024-01-15T00:00:00Z) @ standard:inv-1: service_period [2024-01-01T00:00:00Z, 2024-01-15T00:00:00Z) → "
        "[2024-01-01T00:00:00Z, 2024-01-10T00:00:00Z); child [2024-01-15T00:00:00Z, 2024-02-01T00:00:00Z) @ gathering: "
        "delete; group service_period [2024-01-01T00:00:00Z, 2024-02-01T00:00:00Z) → [2024-01-01T00:00:00Z, "
        "2024-01-10T00:00:00Z)"
    ]


def test_example_e_credit_only_cancellation_shrinks_current_and_deletes_later_charges() -> None:
    book = Book()
    current, later, at_start = ident(period_index=0), ident(period_index=1), ident("seats", period_index=0)
    month = ("2025-03-01", "2025-04-01")
    book.usage_charge("ch-current", current, month, invoice_at="2025-04-01")
    book.usage_charge("ch-later", later, ("2025-04-01", "2025-05-01"), invoice_at="2025-05-01")
    book.usage_charge("ch-at-start", at_start, month, invoice_at="2025-04-01")
    # cancelled 03-20: the current period shrinks; "seats" was cancelled exactly at its start, so the
    # builder dropped its (empty) target
    cancelled = target(("2025-03-01", "2025-03-20"), full=month, billing=("2025-03-01", "2025-03-20"),
                       sub=_credit_only())
    settings = SyncSettings(credits_enabled=True)
    result = plan(inputs([cancelled], book, settings=settings, charges=True, settlement_mode="credit_only"))
    kinds = [(p.operation, p.identity, type(p.steps[0])) for p in result.patches]
    assert kinds == [
        (Operation.DELETE, later, ChargeDelete),  # deletes first, identities in str order
        (Operation.DELETE, at_start, ChargeDelete),
        (Operation.SHRINK, current, ChargeShrink),
    ]
    shrink = result.patches[2].steps[0].changes
    assert shrink.service_period_end.new == t("2025-03-20")
    assert shrink.billing_period_end.new == t("2025-03-20")
    assert shrink.invoice_at.old == t("2025-04-01") and shrink.invoice_at.new == t("2025-03-20")
    assert shrink.full_service_period_end.old == shrink.full_service_period_end.new == t("2025-04-01")


def _credit_only():  # type: ignore[no-untyped-def]
    from tests.reconciler.factories import subscription

    return subscription(settlement_mode="credit_only")


def _example_f(issued: bool = False, group_end_deleted: bool = False) -> Book:
    book = Book("sub-3")
    book.gathering(deleted=issued)
    issues = [issue("c1", "line should be deleted, but the invoice is immutable")] if issued else []
    book.standard("inv-9", "paid", issues=issues)
    book.hierarchy(
        ident(period_index=2, sub_id="sub-3"),
        ("2025-09-01", "2025-10-01"),
        [("c1", "inv-9", ("2025-09-01", "2025-09-15")), ("c2", "gathering", ("2025-09-15", "2025-10-01"), {"deleted": issued})],
    )
    return book


def test_example_f_deleting_a_hierarchy_with_a_paid_child_d03() -> None:
    result = plan(inputs([], _example_f(), sub_id="sub-3"))
    assert entries(result) == [
        "- delete invoice.split_line_group sub-3/main/api/v[0]/period[2]: child [2025-09-15T00:00:00Z, "
        "2025-10-01T00:00:00Z) @ gathering: delete",
        "! issue + standard:inv-9 warning lines/sub-3/main/api/v[0]/period[2] child [2025-09-01T00:00:00Z, "
        "2025-09-15T00:00:00Z): \"line should be deleted, but the invoice is immutable\"",
    ]


def test_example_f_second_sync_plans_nothing() -> None:
    assert plan(inputs([], _example_f(issued=True), sub_id="sub-3")).is_empty


def _example_g(extended: bool = False) -> Book:
    book = Book("sub-4")
    book.gathering()
    book.standard("inv-1", "paid")
    book.standard("inv-2", "paid")
    children = [("c1", "inv-1", ("2025-06-01", "2025-06-10")), ("c2", "inv-2", ("2025-06-10", "2025-06-20"))]
    if extended:
        children.append(("c3", "gathering", ("2025-06-20", "2025-07-01"), {"invoice_at": "2025-07-01"}))  # type: ignore[arg-type]
    book.hierarchy(
        ident(period_index=5, sub_id="sub-4"),
        ("2025-06-01", "2025-07-01") if extended else ("2025-06-01", "2025-06-20"),
        children,
        price=_billing_unit("0.02"),
    )
    return book


def _g_target():  # type: ignore[no-untyped-def]
    from tests.reconciler.factories import subscription

    return target(("2025-06-01", "2025-07-01"), sub=subscription(sub_id="sub-4"), period_index=5, price=unit("0.02"))


def test_example_g_continuing_past_a_paid_last_child_d04() -> None:
    result = plan(inputs([_g_target()], _example_g(), sub_id="sub-4"))
    assert entries(result) == [
        "~ extend invoice.split_line_group sub-4/main/api/v[0]/period[5]: child [2025-06-20T00:00:00Z, "
        "2025-07-01T00:00:00Z) @ gathering: create invoice_at 2025-07-01T00:00:00Z, price unit(0.02); group "
        "service_period [2025-06-01T00:00:00Z, 2025-06-20T00:00:00Z) → [2025-06-01T00:00:00Z, 2025-07-01T00:00:00Z)"
    ]
    (create,) = [s for s in result.patches[0].steps if isinstance(s, LineCreate)]
    assert create.line.split_line_group_id == "grp-1" and create.line.child_unique_reference_id is None


def test_example_g_second_sync_plans_nothing() -> None:
    assert plan(inputs([_g_target()], _example_g(extended=True), sub_id="sub-4")).is_empty


def _example_h(issues: list) -> tuple[Book, str]:  # type: ignore[type-arg]
    book = Book("sub-5")
    book.standard("inv-3", "paid", issues=issues)
    identity = ident("seats", sub_id="sub-5")
    book.line("l1", "inv-3", ("2025-02-01", "2025-03-01"), identity=identity, quantity="12", name="seats")
    return book, identity


def _h_target(end: str):  # type: ignore[no-untyped-def]
    from tests.reconciler.factories import subscription

    return target(("2025-02-01", end), sub=subscription(sub_id="sub-5"), item_key="seats",
                  full=("2025-02-01", "2025-03-01"))


def test_example_h_issue_added_then_cleared_when_drift_disappears_d06() -> None:
    message = "usage based line's quantity cannot be changed on immutable invoice (new qty: 9)"
    book, _ = _example_h([])
    request = inputs([_h_target("2025-02-20")], book, sub_id="sub-5")
    (probe,) = required_probes(request)
    added = plan(request, {probe: Decimal(9)})
    assert entries(added) == [f'! issue + standard:inv-3 warning lines/sub-5/main/seats/v[0]/period[0]: "{message}"']

    book, _ = _example_h([issue("l1", message)])
    reverted = plan(inputs([_h_target("2025-03-01")], book, sub_id="sub-5"))
    assert entries(reverted) == [f'! issue - standard:inv-3 warning lines/sub-5/main/seats/v[0]/period[0]: "{message}"']


def test_example_i_start_only_change_of_a_usage_line_d01() -> None:
    from tests.reconciler.factories import subscription

    identity = ident(phase_key="growth", sub_id="sub-6")
    book = Book("sub-6")
    book.gathering()
    book.line("l1", "gathering", ("2025-07-15", "2025-08-01"), identity=identity)
    moved = target(("2025-07-10", "2025-08-01"), sub=subscription(sub_id="sub-6"), phase_key="growth",
                   full=("2025-07-01", "2025-08-01"))
    result = plan(inputs([moved], book, sub_id="sub-6"))
    assert entries(result) == [
        "~ extend invoice.line sub-6/growth/api/v[0]/period[0]: @ gathering: service_period [2025-07-15T00:00:00Z, "
        "2025-08-01T00:00:00Z) → [2025-07-10T00:00:00Z, 2025-08-01T00:00:00Z)"
    ]
    assert result.patches[0].shape is Shape.LINE
    assert not any(isinstance(step, LineDelete) for step in result.patches[0].steps)
