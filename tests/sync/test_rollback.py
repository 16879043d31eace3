"""Rollback (reconciler.md §10.2): a fault anywhere after the transaction opens leaves billing and the
sync state exactly as they were — compared as full table dumps — and a later sync still converges."""

from __future__ import annotations

import pytest

from tests.sync.stores import table_dump
from tests.sync.world import replace_items_at_0115, split_world


class Injected(RuntimeError):
    pass


WRITES = [
    "create_pending_invoice_lines",    # unit create:USD (first)
    "update_standard_invoice",         # invoice unit of the draft
    "update_gathering_invoice",        # invoice unit of the gathering invoice
    "upsert_validation_issues",        # issues unit of the paid invoice
    "update_split_line_group",         # group unit (last)
]


@pytest.mark.parametrize("method", WRITES)
def test_a_fault_after_a_write_in_the_middle_of_apply_rolls_everything_back(make_world, store, monkeypatch, method):
    world = split_world(make_world)
    replace_items_at_0115(world)
    state = world.sync_state()
    before = table_dump(store)
    real = getattr(world.billing, method)

    def write_then_fail(*args, **kwargs):  # type: ignore[no-untyped-def]
        real(*args, **kwargs)  # the write happens inside the sync transaction ...
        raise Injected(method)  # ... and then the sync fails

    monkeypatch.setattr(world.billing, method, write_then_fail)
    with pytest.raises(Injected):
        world.sync(invoice=True)

    assert table_dump(store) == before
    assert world.sync_state() == state
    monkeypatch.undo()
    assert not world.sync().plan.is_empty
    assert world.sync().plan.is_empty


def test_a_fault_in_the_sync_state_write_rolls_back_the_applied_plan(make_world, store, monkeypatch):
    world = split_world(make_world)
    replace_items_at_0115(world)
    before = table_dump(store)
    real = world.service.sync_states.upsert

    def write_then_fail(state):  # type: ignore[no-untyped-def]
        real(state)
        raise Injected("sync state")

    monkeypatch.setattr(world.service.sync_states, "upsert", write_then_fail)
    with pytest.raises(Injected):
        world.sync()
    assert table_dump(store) == before


def test_a_fault_while_planning_writes_nothing(make_world, store, monkeypatch):
    world = split_world(make_world)
    replace_items_at_0115(world)
    before = table_dump(store)
    import reconciler

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise Injected("planner")

    monkeypatch.setattr(reconciler, "plan_probing", broken)
    with pytest.raises(Injected):
        world.sync()
    assert table_dump(store) == before
