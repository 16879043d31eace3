"""Stored plans (reconciler.md §6.6, D-11, §11 item 10): a plan saved as JSON applies later when the
persisted state has not moved; any intervening change raises ``StalePlanError`` and commits nothing."""

from __future__ import annotations

import pytest

from billing.operations.line_edits import LineEdit
from patches.errors import StalePlanError
from patches.render import load_plan, render_json
from tests.sync.plans import at
from tests.sync.stores import table_dump
from tests.sync.world import CUSTOMER, NAMESPACE, replace_items_at_0115, split_world


def stored_plan(world):  # type: ignore[no-untyped-def]
    """Plan in a dry run and keep only its JSON, as ``subsync plan --out`` does."""
    return load_plan(render_json(world.sync(dry_run=True).plan))


def test_a_stored_plan_applies_on_an_unchanged_basis_like_the_real_run_would(make_world, store):
    world = split_world(make_world)
    replace_items_at_0115(world)
    plan = stored_plan(world)
    world.at("2024-01-21T00:00:00Z")  # time passing is not a change of the basis

    result = world.service.apply_stored_plan(plan)

    assert result.plan == plan and not result.deleted and not result.skipped
    state = world.sync_state()
    assert (state.has_billables, state.next_sync_after, state.synced_at) == (
        plan.has_billables, plan.max_generation_time_limit, at("2024-01-21"))
    # applied completely: a fresh plan at the stored plan's horizon is empty
    assert world.sync(as_of=plan.as_of).plan.is_empty


def test_an_empty_stored_plan_only_writes_the_sync_state(make_world, store):
    world = split_world(make_world)
    plan = stored_plan(world)
    assert plan.is_empty
    world.at("2024-01-22T00:00:00Z")
    world.service.apply_stored_plan(plan)
    assert world.sync_state().synced_at == at("2024-01-22")


def _another_sync(world):  # type: ignore[no-untyped-def]
    world.sync()


def _invoice_pending_lines(world):  # type: ignore[no-untyped-def]
    world.at("2024-02-01T00:00:00Z")
    world.billing.invoice_pending_lines(NAMESPACE, CUSTOMER)


def _approve_the_draft(world):  # type: ignore[no-untyped-def]
    draft = next(i for i in world.invoices() if i.status == "draft.manual_approval_needed")
    world.billing.approve_invoice(NAMESPACE, draft.id)


def _api_edit_of_a_line(world):  # type: ignore[no-untyped-def]
    gathering = next(i for i in world.invoices() if i.kind == "gathering" and i.deleted_at is None)
    line = next(line for line in gathering.live_lines() if line.child_unique_reference_id)
    world.billing.edit_line(NAMESPACE, gathering.id, line.id, LineEdit(name="renamed by hand"))


def _api_delete_of_a_line(world):  # type: ignore[no-untyped-def]
    gathering = next(i for i in world.invoices() if i.kind == "gathering" and i.deleted_at is None)
    line = gathering.live_lines()[0]
    world.billing.delete_line(NAMESPACE, gathering.id, line.id)


def _issue_written_on_the_paid_invoice(world):  # type: ignore[no-untyped-def]
    from billing.invoices import ValidationIssue

    paid = next(i for i in world.invoices() if i.status == "paid")
    world.billing.upsert_validation_issues(NAMESPACE, paid.id, [ValidationIssue(
        severity="warning", code="other", message="someone else's", component="charges.invoiceupdater", path="lines/x")])


@pytest.mark.parametrize("change", [_another_sync, _invoice_pending_lines, _approve_the_draft, _api_edit_of_a_line,
                                    _api_delete_of_a_line, _issue_written_on_the_paid_invoice],
                         ids=lambda f: f.__name__.strip("_"))
def test_an_intervening_change_makes_the_stored_plan_stale_and_nothing_is_committed(make_world, store, change):
    world = split_world(make_world)
    replace_items_at_0115(world)
    plan = stored_plan(world)
    change(world)
    before = table_dump(store)

    with pytest.raises(StalePlanError) as error:
        world.service.apply_stored_plan(plan)

    assert error.value.plan_basis == plan.basis and error.value.current_basis != plan.basis
    assert error.value.subscription_id == "sub-1" and error.value.customer_id == CUSTOMER
    assert table_dump(store) == before


def test_a_stored_plan_cannot_be_applied_twice(make_world, store):
    world = split_world(make_world)
    replace_items_at_0115(world)
    plan = stored_plan(world)
    world.service.apply_stored_plan(plan)
    before = table_dump(store)
    with pytest.raises(StalePlanError):
        world.service.apply_stored_plan(plan)
    assert table_dump(store) == before
