"""The hierarchy collection (reconciler.md §3.12): delete, inward and outward moves, rendered fields,
drift of immutable children, the group step and labels; D-01, D-02, D-03, D-04."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.prices import TaxConfig as BillingTaxConfig
from patches.model import GroupDelete, GroupUpdate, LineCreate, LineDelete, LineUpdate, Operation
from reconciler import plan, required_probes
from reconciler.drift import SHOULD_BE_DELETED, USAGE_QUANTITY
from subscriptions.models import TaxConfig
from tests.reconciler.factories import Book, billing_unit, ident, inputs, period, t, target, unit

ID = ident()
IGNORE = {"billing.subscription.sync.ignore": True}
G = ("2025-03-01", "2025-04-01")
DRAFT = "draft.waiting_for_collection"


def _book(children, *, group=G, invoices=(("inv-d", DRAFT), ("inv-p", "paid")), gone=False, **group_fields) -> Book:  # type: ignore[no-untyped-def]
    book = Book()
    book.gathering(deleted=gone)
    for invoice_id, status in invoices:
        book.standard(invoice_id, status)
    book.hierarchy(ID, group, children, **group_fields)
    return book


def _steps(result):  # type: ignore[no-untyped-def]
    (patch,) = result.patches
    return patch.operation, list(patch.steps)


def _describe(step) -> tuple:  # type: ignore[no-untyped-def, type-arg]
    if isinstance(step, LineDelete):
        return ("delete", step.line.line_id)
    if isinstance(step, LineUpdate):
        return ("update", step.line.line_id, tuple(name for name, _ in step.changes.items()))
    if isinstance(step, LineCreate):
        return ("create", step.line.service_period.start, step.line.service_period.end)
    if isinstance(step, GroupUpdate):
        return ("group_update", tuple(name for name, _ in step.changes.items()))
    if isinstance(step, GroupDelete):
        return ("group_delete",)
    raise AssertionError(step)


def _target(start: str = G[0], end: str = G[1], **fields):  # type: ignore[no-untyped-def]
    return target((start, end), full=("2025-02-01", "2025-05-01"), billing=G, **fields)


def _plan(book: Book, *targets, quantities=None):  # type: ignore[no-untyped-def]
    request = inputs(list(targets), book)
    probes = required_probes(request)
    return plan(request, quantities if quantities is not None else {p: Decimal(0) for p in probes})


# -- skip -------------------------------------------------------------------------------------------


def test_any_ignored_child_live_or_deleted_freezes_the_hierarchy() -> None:
    children = [
        ("c1", "inv-p", ("2025-03-01", "2025-03-10")),
        ("c2", "gathering", ("2025-03-10", "2025-04-01"), {"deleted": True, "annotations": IGNORE}),
    ]
    assert _plan(_book(children)).is_empty  # delete: no patch, no issue for the paid child
    assert _plan(_book(children), _target(end="2025-03-05")).is_empty  # update: no patch, no issue


# -- delete (target absent) -------------------------------------------------------------------------


def test_delete_removes_live_mutable_children_manual_ones_too_then_the_group() -> None:
    children = [
        ("c1", "inv-d", ("2025-03-01", "2025-03-10"), {"managed_by": "manual"}),
        ("c2", "gathering", ("2025-03-10", "2025-04-01")),
    ]
    operation, steps = _steps(_plan(_book(children)))
    assert operation is Operation.DELETE
    assert [_describe(s) for s in steps] == [("delete", "c1"), ("delete", "c2"), ("group_delete",)]


def test_d03_delete_keeps_the_group_of_a_live_immutable_child_where_openmeter_rolls_back_every_run() -> None:
    children = [("c1", "inv-p", ("2025-03-01", "2025-03-10")), ("c2", "gathering", ("2025-03-10", "2025-04-01"))]
    result = _plan(_book(children))
    operation, steps = _steps(result)
    assert [_describe(s) for s in steps] == [("delete", "c2")]  # no group delete while c1 is live
    (update,) = result.issue_updates
    assert [(i.severity, i.path, i.message) for i in update.add] == [("warning", "lines/c1", SHOULD_BE_DELETED)]


def test_d02_delete_never_deletes_an_already_deleted_child_again() -> None:
    children = [("c1", "inv-d", ("2025-03-01", "2025-03-10"), {"deleted": True}), ("c2", "gathering", ("2025-03-10", "2025-04-01"))]
    _, steps = _steps(_plan(_book(children)))
    assert [_describe(s) for s in steps] == [("delete", "c2"), ("group_delete",)]


def test_delete_of_a_hierarchy_whose_children_are_all_deleted_is_only_the_group_delete() -> None:
    children = [("c1", "inv-p", ("2025-03-01", "2025-04-01"), {"deleted": True})]
    _, steps = _steps(_plan(_book(children)))
    assert [_describe(s) for s in steps] == [("group_delete",)]


def test_delete_with_only_an_immutable_live_child_has_no_patch_only_the_issue() -> None:
    result = _plan(_book([("c1", "inv-p", G)]))
    assert result.patches == () and [u.invoice_id for u in result.issue_updates] == ["inv-p"]


# -- (a) inward moves -------------------------------------------------------------------------------


def test_inward_end_move_keeps_earlier_children_cuts_the_straddling_one_deletes_later_ones() -> None:
    children = [
        ("c1", "inv-d", ("2025-03-01", "2025-03-10")),
        ("c2", "gathering", ("2025-03-10", "2025-03-20")),
        ("c3", "gathering", ("2025-03-20", "2025-04-01")),
    ]
    operation, steps = _steps(_plan(_book(children), _target(end="2025-03-15")))
    assert operation is Operation.SHRINK
    assert [_describe(s) for s in steps] == [
        ("update", "c2", ("service_period", "invoice_at")),
        ("delete", "c3"),
        ("group_update", ("service_period",)),
    ]
    assert steps[0].changes.service_period.new == period("2025-03-10", "2025-03-15")
    assert steps[0].changes.invoice_at.new == t("2025-04-01")  # E.invoice_at = max(03-15, billing end 04-01)


def test_inward_move_of_a_child_on_a_mutable_invoice_keeps_its_invoice_at() -> None:
    children = [("c1", "inv-d", ("2025-03-01", "2025-03-20")), ("c2", "gathering", ("2025-03-20", "2025-04-01"))]
    _, steps = _steps(_plan(_book(children), _target(end="2025-03-15")))
    assert [_describe(s) for s in steps] == [
        ("update", "c1", ("service_period",)),
        ("delete", "c2"),
        ("group_update", ("service_period",)),
    ]


def test_d02_an_emptied_child_already_deleted_is_not_deleted_again_where_openmeter_raises_a_spurious_issue() -> None:
    children = [("c1", "inv-d", ("2025-03-01", "2025-03-10")), ("c2", "inv-p", ("2025-03-10", "2025-04-01"), {"deleted": True})]
    result = _plan(_book(children), _target(end="2025-03-10"))
    operation, steps = _steps(result)
    assert [_describe(s) for s in steps] == [("group_update", ("service_period",))]
    assert result.issue_updates == ()


def test_d02_an_emptied_deleted_child_on_a_mutable_invoice_gets_no_step() -> None:
    children = [("c1", "inv-d", ("2025-03-01", "2025-03-10")), ("c2", "gathering", ("2025-03-10", "2025-04-01"), {"deleted": True})]
    _, steps = _steps(_plan(_book(children), _target(end="2025-03-10")))
    assert [_describe(s) for s in steps] == [("group_update", ("service_period",))]


def test_inward_start_move_clips_and_deletes_from_the_start() -> None:
    children = [
        ("c1", "inv-d", ("2025-03-01", "2025-03-10")),
        ("c2", "gathering", ("2025-03-10", "2025-04-01")),
    ]
    operation, steps = _steps(_plan(_book(children), _target(start="2025-03-15")))
    assert operation is Operation.SHRINK
    assert [_describe(s) for s in steps] == [
        ("delete", "c1"),
        ("update", "c2", ("service_period",)),
        ("group_update", ("service_period",)),
    ]
    assert steps[1].changes.service_period.new == period("2025-03-15", "2025-04-01")


def test_inward_move_undeletes_a_deleted_subscription_child_but_not_a_manual_one() -> None:
    children = [
        ("c1", "gathering", ("2025-03-01", "2025-03-20"), {"deleted": True}),
        ("c2", "inv-d", ("2025-03-20", "2025-04-01")),
    ]
    _, steps = _steps(_plan(_book(children), _target(start="2025-03-05", end="2025-03-25")))
    assert _describe(steps[0]) == ("update", "c1", ("service_period", "invoice_at", "deleted_at"))
    manual = [("c1", "gathering", ("2025-03-01", "2025-03-20"), {"deleted": True, "managed_by": "manual"}), children[1]]
    _, steps = _steps(_plan(_book(manual), _target(start="2025-03-05", end="2025-03-25")))
    assert _describe(steps[0]) == ("update", "c1", ("service_period", "invoice_at"))


def test_unchanged_children_get_no_step() -> None:
    children = [("c1", "inv-d", ("2025-03-01", "2025-03-10")),
                ("c2", "gathering", ("2025-03-10", "2025-03-20"), {"invoice_at": "2025-04-01"})]
    _, steps = _steps(_plan(_book(children), _target(end="2025-03-20")))
    assert [_describe(s) for s in steps] == [("group_update", ("service_period",))]


# -- (b) outward end --------------------------------------------------------------------------------


def test_outward_end_with_no_children_is_only_the_group_step() -> None:
    operation, steps = _steps(_plan(_book([]), _target(end="2025-04-10")))
    assert operation is Operation.EXTEND
    assert [_describe(s) for s in steps] == [("group_update", ("service_period",))]


def test_outward_end_grows_a_gathering_candidate_with_invoice_at() -> None:
    children = [("c1", "inv-p", ("2025-03-01", "2025-03-10")), ("c2", "gathering", ("2025-03-10", "2025-04-01"), {"invoice_at": "2025-04-01"})]
    operation, steps = _steps(_plan(_book(children), _target(end="2025-04-10")))
    assert operation is Operation.EXTEND
    assert [_describe(s) for s in steps] == [
        ("update", "c2", ("service_period", "invoice_at")),
        ("group_update", ("service_period",)),
    ]
    assert steps[0].changes.service_period.new == period("2025-03-10", "2025-04-10")
    assert steps[0].changes.invoice_at.new == t("2025-04-10")


def test_outward_end_grows_a_draft_candidate_without_invoice_at() -> None:
    children = [("c1", "inv-d", G)]
    _, steps = _steps(_plan(_book(children), _target(end="2025-04-10")))
    assert [_describe(s) for s in steps] == [("update", "c1", ("service_period",)), ("group_update", ("service_period",))]


def test_outward_end_undeletes_a_deleted_subscription_candidate() -> None:
    children = [("c1", "inv-p", ("2025-03-01", "2025-03-10")), ("c2", "gathering", ("2025-03-10", "2025-04-01"), {"deleted": True, "invoice_at": "2025-04-10"})]
    _, steps = _steps(_plan(_book(children), _target(end="2025-04-10")))
    assert _describe(steps[0]) == ("update", "c2", ("service_period", "deleted_at"))


def test_d04_outward_end_past_an_immutable_candidate_creates_a_gathering_child_where_openmeter_bills_nothing() -> None:
    children = [("c1", "inv-p", G, {"quantity": "3"})]
    result = _plan(_book(children), _target(end="2025-04-10"))
    _, steps = _steps(result)
    assert [_describe(s) for s in steps] == [("create", t("2025-04-01"), t("2025-04-10")), ("group_update", ("service_period",))]
    new = steps[0].line
    assert new.split_line_group_id == "grp-1" and new.child_unique_reference_id is None
    assert new.managed_by == "subscription" and new.invoice_at == t("2025-04-10")
    assert result.issue_updates == ()  # the paid child lies inside the new period: no drift


def test_outward_end_without_an_eligible_candidate_creates_from_the_group_end() -> None:
    """Children on a gone gathering invoice or a deleted standard invoice are never candidates."""
    children = [("c1", "inv-x", ("2025-03-01", "2025-03-10"), {"deleted": True}), ("c2", "gathering", ("2025-03-10", "2025-03-25"), {"deleted": True})]
    book = _book(children, invoices=(("inv-x", "deleted"),), gone=True)
    _, steps = _steps(_plan(book, _target(end="2025-04-10")))
    assert [_describe(s) for s in steps] == [("create", t("2025-04-01"), t("2025-04-10")), ("group_update", ("service_period",))]


def test_outward_end_candidate_is_the_child_with_the_greatest_end() -> None:
    children = [("c1", "gathering", ("2025-03-01", "2025-03-20"), {"invoice_at": "2025-04-10"}),
                ("c2", "inv-p", ("2025-03-20", "2025-04-01"))]
    _, steps = _steps(_plan(_book(children), _target(end="2025-04-10")))
    assert [_describe(s) for s in steps] == [("create", t("2025-04-01"), t("2025-04-10")), ("group_update", ("service_period",))]


# -- (c) outward start ------------------------------------------------------------------------------


def test_d01_outward_start_grows_the_first_child_where_openmeter_ignores_start_changes() -> None:
    children = [("c1", "gathering", ("2025-03-01", "2025-03-20"), {"invoice_at": "2025-04-01"}),
                ("c2", "inv-p", ("2025-03-20", "2025-04-01"))]
    operation, steps = _steps(_plan(_book(children), _target(start="2025-02-20")))
    assert operation is Operation.EXTEND
    assert [_describe(s) for s in steps] == [("update", "c1", ("service_period",)), ("group_update", ("service_period",))]
    assert steps[0].changes.service_period.new == period("2025-02-20", "2025-03-20")


def test_outward_start_before_an_immutable_first_child_creates_a_child_before_it() -> None:
    children = [("c1", "inv-p", ("2025-03-05", "2025-03-20")), ("c2", "gathering", ("2025-03-20", "2025-04-01"))]
    _, steps = _steps(_plan(_book(children), _target(start="2025-02-20")))
    assert [_describe(s) for s in steps] == [("create", t("2025-02-20"), t("2025-03-05")), ("group_update", ("service_period",))]


def test_outward_start_without_an_eligible_candidate_creates_up_to_the_group_start() -> None:
    children = [("c1", "gathering", G, {"deleted": True})]
    book = _book(children, gone=True)
    _, steps = _steps(_plan(book, _target(start="2025-02-20")))
    assert [_describe(s) for s in steps] == [("create", t("2025-02-20"), t("2025-03-01")), ("group_update", ("service_period",))]


def test_both_edges_outward_on_a_single_mutable_child_merge_into_one_update() -> None:
    _, steps = _steps(_plan(_book([("c1", "gathering", G)]), _target(start="2025-02-20", end="2025-04-10")))
    assert [_describe(s) for s in steps] == [("update", "c1", ("service_period", "invoice_at")), ("group_update", ("service_period",))]
    assert steps[0].changes.service_period.new == period("2025-02-20", "2025-04-10")


# -- (d) rendered fields ----------------------------------------------------------------------------


def test_d01_rendered_fields_of_live_subscription_children_on_mutable_invoices_follow_the_target() -> None:
    children = [
        ("c1", "inv-p", ("2025-03-01", "2025-03-10")),
        ("c2", "inv-d", ("2025-03-10", "2025-03-20"), {"managed_by": "manual"}),
        ("c3", "gathering", ("2025-03-20", "2025-04-01"), {"invoice_at": "2025-04-01"}),
    ]
    result = _plan(_book(children), _target(price=unit("2"), tax_config=TaxConfig(code="tx"), name="renamed"))
    operation, steps = _steps(result)
    assert operation is Operation.PRORATE
    assert [_describe(s) for s in steps] == [
        ("update", "c3", ("price", "name", "tax_config")),
        ("group_update", ("name", "price")),
    ]
    assert steps[0].changes.tax_config.new == BillingTaxConfig(code="tx")
    assert steps[0].changes.price.new == billing_unit("2")


def test_a_hierarchy_in_line_with_its_target_plans_nothing() -> None:
    children = [("c1", "inv-p", ("2025-03-01", "2025-03-10")), ("c2", "gathering", ("2025-03-10", "2025-04-01"), {"invoice_at": "2025-04-01"})]
    assert _plan(_book(children), _target()).is_empty


# -- (e) drift of immutable children ----------------------------------------------------------------


def test_immutable_children_drift_with_their_period_clipped_to_the_target() -> None:
    children = [
        ("c1", "inv-p", ("2025-03-01", "2025-03-10"), {"quantity": "40"}),
        ("c2", "inv-q", ("2025-03-10", "2025-03-20"), {"quantity": "7"}),
        ("c3", "gathering", ("2025-03-20", "2025-04-01")),
    ]
    book = _book(children, invoices=(("inv-p", "paid"), ("inv-q", "paid")))
    request = inputs([_target(end="2025-03-05")], book)
    assert {(p.line_id, p.period) for p in required_probes(request)} == {("c1", period("2025-03-01", "2025-03-05"))}
    (probe,) = required_probes(request)
    result = plan(request, {probe: Decimal(25)})
    updates = {u.invoice_id: [(i.severity, i.path, i.message) for i in u.add] for u in result.issue_updates}
    assert updates == {
        "inv-p": [("warning", "lines/c1", USAGE_QUANTITY.format("25"))],
        "inv-q": [("warning", "lines/c2", SHOULD_BE_DELETED)],  # empty intersection: "delete"
    }


def test_an_immutable_child_re_metered_to_the_same_quantity_gets_no_issue() -> None:
    children = [("c1", "inv-p", ("2025-03-01", "2025-03-10"), {"quantity": "40"}), ("c2", "gathering", ("2025-03-10", "2025-04-01"))]
    request = inputs([_target(end="2025-03-05")], _book(children))
    (probe,) = required_probes(request)
    assert plan(request, {probe: Decimal(40)}).issue_updates == ()


def test_a_manual_child_keeps_its_rendered_fields_but_follows_the_group_period() -> None:
    children = [("c1", "inv-d", ("2025-03-01", "2025-03-20"), {"managed_by": "manual", "name": "mine"}), ("c2", "gathering", ("2025-03-20", "2025-04-01"))]
    _, steps = _steps(_plan(_book(children), _target(end="2025-03-15", name="renamed")))
    assert [_describe(s) for s in steps] == [
        ("update", "c1", ("service_period",)),
        ("delete", "c2"),
        ("group_update", ("service_period", "name")),
    ]


# -- (f) group step and (g) labels ------------------------------------------------------------------


def test_group_update_carries_period_name_price_and_discounts_when_they_differ() -> None:
    from subscriptions.models import Discounts

    result = _plan(_book([("c1", "inv-p", G)]), _target(end="2025-03-15", name="new", price=unit("3"),
                                                         discounts=Discounts(percentage=Decimal(5))))
    _, steps = _steps(result)
    group_step = steps[-1]
    assert _describe(group_step) == ("group_update", ("service_period", "name", "price", "rate_card_discounts"))


@pytest.mark.parametrize(
    ("start", "end", "label"),
    [
        pytest.param("2025-03-01", "2025-03-20", Operation.SHRINK, id="earlier end: shrink"),
        pytest.param("2025-03-01", "2025-04-10", Operation.EXTEND, id="later end: extend"),
        pytest.param("2025-03-05", "2025-04-01", Operation.SHRINK, id="same end, later start: shrink"),
        pytest.param("2025-02-20", "2025-04-01", Operation.EXTEND, id="same end, earlier start: extend"),
        pytest.param("2025-03-01", "2025-04-01", Operation.PRORATE, id="same period: prorate"),
    ],
)
def test_hierarchy_labels(start: str, end: str, label: Operation) -> None:
    result = _plan(_book([("c1", "inv-d", G)]), _target(start, end, name="renamed"))
    assert [p.operation for p in result.patches] == [label]
