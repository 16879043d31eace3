"""Apply order (reconciler.md §5.2, §11 item 8): units, edges and the exact order of fixed plans."""

from __future__ import annotations

import pytest

from patches.apply import apply_graph, apply_order, build_units, ordered_units, sort_units
from patches.apply.units import Stage
from patches.errors import PlanInvariantError
from patches.model import (
    Change,
    ChargeDelete,
    GroupDelete,
    LineCreate,
    LineDelete,
    LineUpdate,
    Operation,
    Patch,
    ReferenceRepair,
    Shape,
)
from tests.sync.plans import (
    create_patch,
    example_b,
    flat_new_line,
    group_patch,
    group_period_update,
    header,
    issue_update,
    line_patch,
    make_plan,
    period,
    period_change,
    ref,
    usage_new_line,
)

JAN = period("2025-01-01", "2025-02-01")
FEB = period("2025-02-01", "2025-03-01")


def charge_delete_patch(identity: str, charge_id: str) -> Patch:
    return Patch(operation=Operation.DELETE, identity=identity, shape=Shape.FLAT_FEE_CHARGE, subscription_id="sub-1",
                 steps=(ChargeDelete(charge_id=charge_id),))


def repair(identity: str, charge_id: str) -> ReferenceRepair:
    return ReferenceRepair(identity=identity, shape=Shape.FLAT_FEE_CHARGE, charge_id=charge_id,
                           item_id=Change[str](old="item-old", new="item-new"))


def every_kind_plan():
    """One unit of every kind, and two of the kinds whose ties the key breaks."""
    g1, g2 = "grp-a", "grp-b"
    patches = (
        create_patch(flat_new_line(FEB, identity="sub-1/p/fee/v[0]/period[1]")),
        line_patch(Operation.PRORATE, LineUpdate(line=ref("l-9", "inv-b", JAN, identity="sub-1/p/fee/v[0]/period[0]"),
                                                 changes=period_change(JAN, period("2025-01-01", "2025-01-20")))),
        line_patch(Operation.DELETE, LineDelete(line=ref("l-8", "inv-a", JAN, identity="sub-1/p/old/v[0]/period[0]"))),
        group_patch(Operation.DELETE, "sub-1/p/api/v[0]/period[0]",
                    LineDelete(line=ref("c-1", "inv-b", JAN, group=g1)), GroupDelete(group_id=g1)),
        group_patch(Operation.SHRINK, "sub-1/p/api/v[1]/period[0]",
                    LineDelete(line=ref("c-2", "inv-a", FEB, group=g2)),
                    group_period_update(g2, FEB, period("2025-02-01", "2025-02-10"))),
        charge_delete_patch("sub-1/p/charge/v[0]/period[0]", "chg-1"),
    )
    issues = (issue_update("inv-z", add=(("c-9", "sub-1/p/api/v[0]/period[0]", "line should be deleted, but the invoice is immutable"),),
                           child_periods={"c-9": JAN}),)
    invoices = (header("inv-a", "gathering"), header("inv-b", "mutable"), header("inv-z", "immutable"))
    return make_plan(patches=patches, issue_updates=issues, invoices=invoices,
                     repairs=(repair("sub-1/p/charge/v[0]/period[0]", "chg-1"),))


def test_example_b_apply_order_is_create_then_invoices_by_id_then_issues_then_group_update():
    """§9.1 B: create:USD; the draft and gathering invoice units in invoice-id order; issues; group."""
    assert apply_order(example_b()) == [
        "create:USD", "invoice:inv-7", "invoice:inv-9", "issues:inv-5", "group_update:grp-1",
    ]


def test_example_b_invoice_units_follow_invoice_ids_not_plan_order():
    # The gathering invoice sorts first when its id does (D-10: order decided by ids only).
    assert apply_order(example_b(gathering="inv-0", draft="inv-7")) == [
        "create:USD", "invoice:inv-0", "invoice:inv-7", "issues:inv-5", "group_update:grp-1",
    ]


def test_every_unit_kind_runs_in_stage_order_with_ties_broken_by_invoice_id_then_identity():
    assert apply_order(every_kind_plan()) == [
        "repair:chg-1",
        "create:USD",
        "invoice:inv-a",
        "invoice:inv-b",
        "issues:inv-z",
        "group_delete:grp-a",
        "group_update:grp-b",
        "charges",
    ]


def test_group_units_of_several_groups_are_ordered_by_patch_identity():
    patches = tuple(
        group_patch(Operation.SHRINK, identity, LineDelete(line=ref(f"c-{group}", "inv-g", FEB, group=group)),
                    group_period_update(group, FEB, period("2025-02-01", "2025-02-05")))
        # group ids sort the other way round than identities: the key uses the identity
        for identity, group in (("sub-1/p/a/v[0]/period[0]", "grp-z"), ("sub-1/p/b/v[0]/period[0]", "grp-a"))
    )
    plan = make_plan(patches=patches, invoices=(header("inv-g", "gathering"),))
    assert apply_order(plan) == ["invoice:inv-g", "group_update:grp-z", "group_update:grp-a"]


def test_edges_of_section_5_2():
    graph = apply_graph(every_kind_plan())
    # 1. every create before every invoice unit
    assert graph.has_edge("create:USD", "invoice:inv-a") and graph.has_edge("create:USD", "invoice:inv-b")
    # 2. units holding a step for a child of G before G's group units, and only those
    assert graph.has_edge("invoice:inv-b", "group_delete:grp-a")
    assert graph.has_edge("invoice:inv-a", "group_update:grp-b")
    assert not graph.has_edge("invoice:inv-a", "group_delete:grp-a")
    assert not graph.has_edge("invoice:inv-b", "group_update:grp-b")
    # 3. every invoice-side unit and every repair before charges
    assert set(graph.predecessors("charges")) == set(graph.nodes) - {"charges"}
    # issues and repairs depend on nothing
    assert not list(graph.predecessors("issues:inv-z")) and not list(graph.predecessors("repair:chg-1"))


def test_new_split_child_is_created_before_its_group_changes():
    group = "grp-1"
    old, new = period("2025-06-01", "2025-06-20"), period("2025-06-01", "2025-07-01")
    child = usage_new_line(period("2025-06-20", "2025-07-01"), group=group)
    plan = make_plan(patches=(group_patch(Operation.EXTEND, "sub-1/main/api/v[0]/period[5]",
                                          LineCreate(currency="USD", line=child),
                                          group_period_update(group, old, new)),))
    graph = apply_graph(plan)
    assert graph.has_edge("create:USD", "group_update:grp-1")
    assert apply_order(plan) == ["create:USD", "group_update:grp-1"]


def test_steps_inside_a_unit_run_by_patch_identity_then_line_id():
    plan = make_plan(
        patches=(
            line_patch(Operation.DELETE, LineDelete(line=ref("l-2", "inv-g", JAN, identity="sub-1/p/b/v[0]/period[0]"))),
            line_patch(Operation.DELETE, LineDelete(line=ref("l-1", "inv-g", JAN, identity="sub-1/p/c/v[0]/period[0]"))),
            group_patch(Operation.DELETE, "sub-1/p/a/v[0]/period[0]",
                        LineDelete(line=ref("l-9", "inv-g", JAN, group="grp-1")),
                        LineDelete(line=ref("l-3", "inv-g", FEB, group="grp-1"))),
        ),
        invoices=(header("inv-g", "gathering"),),
    )
    [unit] = [u for u in ordered_units(plan) if u.name == "invoice:inv-g"]
    assert [(p.identity, p.line_id) for p in unit.ordered_steps()] == [
        ("sub-1/p/a/v[0]/period[0]", "l-3"),
        ("sub-1/p/a/v[0]/period[0]", "l-9"),
        ("sub-1/p/b/v[0]/period[0]", "l-2"),
        ("sub-1/p/c/v[0]/period[0]", "l-1"),
    ]


def test_an_empty_plan_has_no_units():
    assert apply_order(make_plan()) == []


def test_only_issue_updates_give_issue_units_in_invoice_order():
    plan = make_plan(
        issue_updates=(
            issue_update("inv-1", remove=(("l-1", "sub-1/p/a/v[0]/period[0]", "line should be deleted, but the invoice is immutable"),)),
            issue_update("inv-2", add=(("l-2", "sub-1/p/b/v[0]/period[0]", "line should be deleted, but the invoice is immutable"),)),
        ),
        invoices=(header("inv-1", "immutable"), header("inv-2", "immutable")),
    )
    assert apply_order(plan) == ["issues:inv-1", "issues:inv-2"]


def test_a_cycle_in_the_apply_graph_raises_plan_invariant_error():
    plan = every_kind_plan()
    graph = apply_graph(plan)
    graph.add_edge("charges", "create:USD")  # can only come from a broken graph builder
    with pytest.raises(PlanInvariantError, match="cycle") as error:
        sort_units(graph, plan)
    assert error.value.subscription_id == "sub-1" and error.value.customer_id == "cus-1"


def test_unit_keys_are_stage_invoice_identity():
    units = build_units(every_kind_plan())
    assert units["invoice:inv-a"].sort_key == (int(Stage.INVOICE), "inv-a", "")
    assert units["group_delete:grp-a"].sort_key == (int(Stage.GROUP_DELETE), "", "sub-1/p/api/v[0]/period[0]")
    assert units["repair:chg-1"].sort_key == (0, "", "sub-1/p/charge/v[0]/period[0]")
    assert units["create:USD"].subject == "USD"
