"""The applier against the billing store (reconciler.md §5.1, §5.3): each unit kind does what its
steps say, invoice classes are judged at apply time, and broken invariants raise."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.lines import ANNOTATION_SYNC_IGNORE
from billing.errors import ConflictError
from patches.apply import ApplyPorts, apply_order, apply_plan
from patches.errors import ApplyError, PlanInvariantError
from patches.model import Change, GroupDelete, LineChanges, LineDelete, LineUpdate, Operation
from tests.sync.plans import (
    CUSTOMER,
    NS,
    at,
    create_patch,
    example_b,
    flat_new_line,
    group_patch,
    header,
    issue_update,
    line_patch,
    make_plan,
    period,
    period_change,
    ref,
    sync_issue,
    usage_new_line,
)
from tests.sync.stores import gathering_of, ingest, invoices_of, seed_customer

OLD = "sub-2/standard/storage/v[0]/period[0]"
NEW = "sub-2/premium/storage/v[0]/period[0]"


def apply(store, billing, plan):  # type: ignore[no-untyped-def]
    with store.locked_transaction(NS, CUSTOMER):
        apply_plan(plan, ApplyPorts(billing=billing))


def example_b_world(store, billing, clock, *, pay_first: bool = True):  # type: ignore[no-untyped-def]
    """§9.1 B as billing data: a usage line split at 05-12 (paid, qty 40) and 05-20 (draft), rest gathering.

    ``pay_first=False`` leaves the first invoice a draft too."""
    clock.set(at("2025-05-01"))
    seed_customer(billing, progressive=True)
    ingest(billing, (at("2025-05-03"), 25), (at("2025-05-10"), 15), (at("2025-05-15"), 7))
    billing.create_pending_invoice_lines(
        NS, CUSTOMER, "USD", [usage_new_line(period("2025-05-01", "2025-06-01"), identity=OLD, subscription_id="sub-2")]
    )
    clock.set(at("2025-05-12"))
    [paid] = billing.invoice_pending_lines(NS, CUSTOMER)
    if pay_first:
        billing.approve_invoice(NS, paid.id)
    clock.set(at("2025-05-20"))
    [draft] = billing.invoice_pending_lines(NS, CUSTOMER)
    [hierarchy] = billing.get_split_line_hierarchies_for_subscription(NS, "sub-2")
    children = [child.line for child in hierarchy.children]
    assert [c.invoice_id for c in children] == [paid.id, draft.id, gathering_of(billing).id]
    return hierarchy, paid.id, draft.id, gathering_of(billing).id


def test_example_b_applies_creates_first_so_the_gathering_invoice_survives(store, billing_service, clock):
    hierarchy, paid, draft, gathering = example_b_world(store, billing_service, clock)
    c1, c2, c3 = (child.line.id for child in hierarchy.children)
    plan = example_b(gathering=gathering, draft=draft, paid=paid, group=hierarchy.group.id, child_ids=(c1, c2, c3))

    apply(store, billing_service, plan)

    invoices = {invoice.id: invoice for invoice in invoices_of(billing_service)}
    # the gathering invoice is the same one: the new line landed before its last old line went
    assert gathering_of(billing_service).id == gathering
    [new_line] = invoices[gathering].live_lines()
    assert new_line.child_unique_reference_id == NEW and new_line.service_period == period("2025-05-08", "2025-06-01")
    # the emptied draft was deleted
    assert invoices[draft].status == "deleted" and invoices[draft].live_lines() == []
    # the paid child is untouched and carries the issue
    [paid_line] = invoices[paid].lines
    assert paid_line.service_period == period("2025-05-01", "2025-05-12") and paid_line.quantity == Decimal(40)
    assert [i.message for i in invoices[paid].validation_issues] == [
        "usage based line's quantity cannot be changed on immutable invoice (new qty: 25)"
    ]
    group = billing_service.get_split_line_group(NS, hierarchy.group.id)
    assert group.service_period == period("2025-05-01", "2025-05-08") and group.deleted_at is None


def test_a_mutable_line_update_re_snapshots_the_quantity_for_the_new_period(store, billing_service, clock):
    clock.set(at("2025-03-01"))
    seed_customer(billing_service)
    ingest(billing_service, (at("2025-03-02"), 10), (at("2025-03-20"), 5))
    identity = "sub-1/p/api/v[0]/period[0]"
    billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [usage_new_line(period("2025-03-01", "2025-04-01"), identity=identity)])
    clock.set(at("2025-04-01"))
    [draft] = billing_service.invoice_pending_lines(NS, CUSTOMER)
    [line] = billing_service.get_invoice(NS, draft.id).lines
    assert line.quantity == 15
    plan = make_plan(
        patches=(line_patch(Operation.SHRINK, LineUpdate(line=ref(line.id, draft.id, line.service_period, identity=identity),
                                                         changes=period_change(line.service_period, period("2025-03-01", "2025-03-10")))),),
        invoices=(header(draft.id, "mutable"),),
    )
    apply(store, billing_service, plan)
    [after] = billing_service.get_invoice(NS, draft.id).lines
    assert after.service_period == period("2025-03-01", "2025-03-10")
    assert after.quantity == 10 and after.totals.amount == Decimal("0.80")
    assert after.invoice_at == line.invoice_at  # a standard line keeps its invoice_at


def test_a_flat_amount_change_keeps_price_and_per_unit_amount_together_and_rerates(store, billing_service, clock):
    seed_customer(billing_service)
    identity = "sub-1/p/fee/v[0]/period[0]"
    [line] = billing_service.create_pending_invoice_lines(
        NS, CUSTOMER, "USD", [flat_new_line(period("2024-01-01", "2024-02-01"), identity=identity, amount="6")]
    )
    changes = LineChanges(
        service_period=Change(old=line.service_period, new=period("2024-01-01", "2024-01-02")),
        per_unit_amount=Change(old=Decimal(6), new=Decimal("0.19")),
        name=Change(old="fee", new="Fee (prorated)"),
    )
    plan = make_plan(patches=(line_patch(Operation.PRORATE, LineUpdate(line=ref(line.id, line.invoice_id, line.service_period, identity=identity), changes=changes)),),
                     invoices=(header(line.invoice_id, "gathering"),))
    apply(store, billing_service, plan)
    [after] = billing_service.get_invoice(NS, line.invoice_id).live_lines()
    assert (after.per_unit_amount, after.price.amount, after.price.payment_term) == (Decimal("0.19"), Decimal("0.19"), "in_advance")
    assert after.name == "Fee (prorated)" and after.totals.total == Decimal("0.19")
    assert after.id == line.id and after.child_unique_reference_id == identity


def test_a_split_child_is_undeleted_by_clearing_deleted_at(store, billing_service, clock):
    hierarchy, paid, draft, gathering = example_b_world(store, billing_service, clock)
    c3 = hierarchy.children[2].line
    billing_service.update_gathering_invoice(NS, gathering, delete_line_ids=[c3.id])
    deleted = next(line for line in billing_service.get_invoice(NS, gathering).lines if line.id == c3.id)
    assert deleted.deleted_at is not None
    # the gathering invoice went with its last line; a fresh plan could not target it (gone) ...
    assert gathering_of(billing_service) is None
    changes = LineChanges(deleted_at=Change(old=deleted.deleted_at, new=None))
    plan = make_plan(patches=(group_patch(Operation.PRORATE, OLD, LineUpdate(line=ref(c3.id, gathering, c3.service_period, group=hierarchy.group.id), changes=changes), subscription_id="sub-2"),),
                     invoices=(header(gathering, "gathering"),), subscription_id="sub-2")
    # ... and the applier, judging the class at apply time, refuses it
    with pytest.raises(PlanInvariantError, match="gone invoice"):
        apply(store, billing_service, plan)


def test_undelete_on_a_live_gathering_invoice(store, billing_service, clock):
    seed_customer(billing_service)
    keep, gone = billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [
        usage_new_line(period("2024-01-01", "2024-02-01"), identity="sub-1/p/a/v[0]/period[0]"),
        usage_new_line(period("2024-01-01", "2024-02-01"), identity="sub-1/p/b/v[0]/period[0]"),
    ])
    billing_service.update_gathering_invoice(NS, gone.invoice_id, delete_line_ids=[gone.id])
    deleted = next(line for line in billing_service.get_invoice(NS, gone.invoice_id).lines if line.id == gone.id)
    plan = make_plan(patches=(line_patch(Operation.PRORATE, LineUpdate(
        line=ref(gone.id, gone.invoice_id, gone.service_period, identity="sub-1/p/b/v[0]/period[0]"),
        changes=LineChanges(deleted_at=Change(old=deleted.deleted_at, new=None)))),),
        invoices=(header(gone.invoice_id, "gathering"),))
    apply(store, billing_service, plan)
    assert {line.id for line in billing_service.get_invoice(NS, gone.invoice_id).live_lines()} == {keep.id, gone.id}


def test_steps_against_an_invoice_that_became_immutable_raise_and_change_nothing(store, billing_service, clock):
    """The plan said mutable; at apply time the invoice is paid (only possible without the lock)."""
    clock.set(at("2025-03-01"))
    seed_customer(billing_service)
    identity = "sub-1/p/api/v[0]/period[0]"
    billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [usage_new_line(period("2025-03-01", "2025-04-01"), identity=identity)])
    clock.set(at("2025-04-01"))
    [draft] = billing_service.invoice_pending_lines(NS, CUSTOMER)
    [line] = billing_service.get_invoice(NS, draft.id).lines
    plan = make_plan(patches=(line_patch(Operation.DELETE, LineDelete(line=ref(line.id, draft.id, line.service_period, identity=identity))),),
                     invoices=(header(draft.id, "mutable"),))
    billing_service.approve_invoice(NS, draft.id)
    with pytest.raises(PlanInvariantError, match="immutable invoice"):
        apply(store, billing_service, plan)
    assert billing_service.get_invoice(NS, draft.id).live_lines()[0].id == line.id


def test_a_step_for_a_line_that_is_not_on_the_invoice_raises(store, billing_service):
    seed_customer(billing_service)
    [line] = billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_new_line(period("2024-01-01", "2024-02-01"), identity="sub-1/p/fee/v[0]/period[0]")])
    plan = make_plan(patches=(line_patch(Operation.DELETE, LineDelete(line=ref("no-such-line", line.invoice_id, line.service_period, identity="sub-1/p/fee/v[0]/period[0]"))),),
                     invoices=(header(line.invoice_id, "gathering"),))
    with pytest.raises(PlanInvariantError, match="no-such-line") as error:
        apply(store, billing_service, plan)
    assert error.value.identity == "sub-1/p/fee/v[0]/period[0]"
    assert gathering_of(billing_service).live_lines()[0].id == line.id


def test_issue_units_keep_foreign_issues_remove_owned_ones_and_append_new_ones(store, billing_service, clock):
    hierarchy, paid, _, _ = example_b_world(store, billing_service, clock)
    c1 = hierarchy.children[0].line.id
    foreign = sync_issue(c1, "something else").model_copy(update={"component": "charges.invoiceupdater"})
    stale = sync_issue(c1, "line should be deleted, but the invoice is immutable")
    billing_service.upsert_validation_issues(NS, paid, [foreign, stale])
    plan = make_plan(
        issue_updates=(issue_update(paid, add=((c1, OLD, "usage based line's quantity cannot be changed on immutable invoice (new qty: 25)"),),
                                    remove=((c1, OLD, "line should be deleted, but the invoice is immutable"),),
                                    child_periods={c1: hierarchy.children[0].line.service_period}),),
        invoices=(header(paid, "immutable"),), subscription_id="sub-2",
    )
    apply(store, billing_service, plan)
    issues = billing_service.get_invoice(NS, paid).validation_issues
    assert [(i.component, i.message) for i in issues] == [
        ("charges.invoiceupdater", "something else"),
        ("subscription-sync", "usage based line's quantity cannot be changed on immutable invoice (new qty: 25)"),
    ]


def test_group_delete_after_every_child_is_deleted(store, billing_service, clock):
    hierarchy, first, draft, gathering = example_b_world(store, billing_service, clock, pay_first=False)
    c1, c2, c3 = (child.line for child in hierarchy.children)
    group = hierarchy.group.id
    plan = make_plan(patches=(group_patch(Operation.DELETE, OLD,
                                          LineDelete(line=ref(c1.id, first, c1.service_period, group=group)),
                                          LineDelete(line=ref(c2.id, draft, c2.service_period, group=group)),
                                          LineDelete(line=ref(c3.id, gathering, c3.service_period, group=group)),
                                          GroupDelete(group_id=group), subscription_id="sub-2"),),
                     invoices=(header(gathering, "gathering"), header(first, "mutable"), header(draft, "mutable")),
                     subscription_id="sub-2")
    assert apply_order(plan) == [f"invoice:{i}" for i in sorted((first, draft, gathering))] + [f"group_delete:{group}"]
    apply(store, billing_service, plan)
    assert billing_service.get_split_line_group(NS, group).deleted_at is not None
    statuses = {i.id: (i.status, i.deleted_at is not None) for i in invoices_of(billing_service)}
    assert statuses == {gathering: ("gathering", True), first: ("deleted", True), draft: ("deleted", True)}


def test_a_group_delete_billing_refuses_propagates_and_keeps_nothing(store, billing_service, clock):
    hierarchy, paid, draft, gathering = example_b_world(store, billing_service, clock)
    _, c2, c3 = (child.line for child in hierarchy.children)
    group = hierarchy.group.id
    # A plan the planner never makes (D-03): the group delete while the paid child is still live.
    plan = make_plan(patches=(group_patch(Operation.DELETE, OLD,
                                          LineDelete(line=ref(c2.id, draft, c2.service_period, group=group)),
                                          LineDelete(line=ref(c3.id, gathering, c3.service_period, group=group)),
                                          GroupDelete(group_id=group), subscription_id="sub-2"),),
                     invoices=(header(gathering, "gathering"), header(draft, "mutable")), subscription_id="sub-2")
    with pytest.raises(ConflictError, match="live child"):
        apply(store, billing_service, plan)
    assert billing_service.get_split_line_group(NS, group).deleted_at is None
    assert {c.id for c in billing_service.get_invoice(NS, gathering).live_lines()} == {c3.id}
    assert billing_service.get_invoice(NS, draft).status == "draft.manual_approval_needed"


def test_plan_currency_must_be_fiat(store, billing_service):
    with pytest.raises(ApplyError, match="fiat"):
        apply_plan(make_plan(currency="CREDITS"), ApplyPorts(billing=billing_service))


def test_an_empty_plan_makes_no_port_call():
    class NoCalls:
        def __getattr__(self, name):  # type: ignore[no-untyped-def]
            raise AssertionError(f"an empty plan called billing.{name}")

    apply_plan(make_plan(), ApplyPorts(billing=NoCalls(), line_engine=NoCalls(), charges=NoCalls()))


def test_ignored_annotation_is_not_the_appliers_business(store, billing_service):
    """The applier executes what the plan says; skipping ignored lines is the planner's decision."""
    seed_customer(billing_service)
    identity = "sub-1/p/fee/v[0]/period[0]"
    [line] = billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [
        flat_new_line(period("2024-01-01", "2024-02-01"), identity=identity).model_copy(update={"annotations": {ANNOTATION_SYNC_IGNORE: True}})
    ])
    plan = make_plan(patches=(line_patch(Operation.DELETE, LineDelete(line=ref(line.id, line.invoice_id, line.service_period, identity=identity))),),
                     invoices=(header(line.invoice_id, "gathering"),))
    apply(store, billing_service, plan)
    assert gathering_of(billing_service) is None
