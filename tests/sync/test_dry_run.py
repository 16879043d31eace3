"""Dry run (reconciler.md §6.5, D-07, §11 item 9): same lock and plan as a real run, nothing committed —
no row, no ``updated_at``, not even the lock row — and no invoicing."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from subscriptions import edits
from subsync.sync.dry_run import dry_run_entries
from tests.sync.plans import at
from tests.sync.stores import table_dump
from tests.sync.world import FEE, API, ARREARS, replace_items_at_0115, setup, split_world


def fresh(make_world):  # type: ignore[no-untyped-def]
    world = make_world(setup(FEE, API, ARREARS))
    world.at("2024-01-15T00:00:00Z")
    return world


def cancelled(make_world):  # type: ignore[no-untyped-def]
    world = fresh(make_world)
    world.sync()
    world.edit(edits.cancel, at("2024-01-20"))
    return world


def every_artifact(make_world):  # type: ignore[no-untyped-def]
    world = split_world(make_world)
    replace_items_at_0115(world)
    return world


@pytest.mark.parametrize("situation", [fresh, cancelled, every_artifact], ids=lambda f: f.__name__)
def test_a_dry_run_commits_nothing_and_plans_what_the_real_run_then_does(make_world, store, situation, monkeypatch):
    world = situation(make_world)
    invoiced = []
    monkeypatch.setattr(world.billing, "invoice_pending_lines", lambda *a, **k: invoiced.append(a) or [])
    before = table_dump(store)

    dry = world.sync(dry_run=True, invoice=True)

    assert table_dump(store) == before  # row counts, values and updated_at, the lock row included
    assert invoiced == []
    assert not dry.plan.is_empty
    real = world.sync()
    assert real.plan == dry.plan
    assert table_dump(store) != before


def test_a_dry_run_after_convergence_is_empty_and_writes_no_sync_state(make_world, store):
    world = fresh(make_world)
    world.sync()
    state = world.sync_state()
    world.at("2024-01-16T00:00:00Z")
    before = table_dump(store)
    assert world.sync(dry_run=True).plan.is_empty
    assert table_dump(store) == before and world.sync_state() == state


def test_a_dry_run_takes_the_customer_lock_in_a_rolled_back_transaction(make_world, monkeypatch):
    world = fresh(make_world)
    calls = []
    real = world.billing.locked_transaction
    monkeypatch.setattr(world.billing, "locked_transaction", lambda *a, **k: (calls.append((a, k)), real(*a, **k))[1])
    world.sync(dry_run=True)
    assert calls == [(("default", "cus-1"), {"rollback": True})]


def test_the_dry_run_log_suppresses_current_period_creates_only(make_world):
    world = fresh(make_world)
    with capture_logs() as logs:
        result = world.sync(dry_run=True)
    entries = [e for e in logs if e["event"] == "sync.dry_run.entry"]
    suppressed = [e for e in logs if e["event"] == "sync.dry_run.suppressed"]
    # the January lines are catch-up work; February's in-advance fee is not in the current period
    assert [e["identity"] for e in entries] == ["sub-1/main/fee/v[0]/period[1]"]
    assert [e["count"] for e in suppressed] == [3]
    assert len(result.plan.patches) == 4  # the returned plan is not filtered


def test_the_dry_run_log_shows_updates_deletes_group_steps_and_issues(make_world):
    world = every_artifact(make_world)
    plan = world.sync(dry_run=True).plan
    entries, suppressed = dry_run_entries(plan, world.clock.now())
    kinds = sorted(entry["entry"] for entry in entries)
    # the new usage version's line [01-15, 02-01) is current-period catch-up work: suppressed
    assert suppressed == 1
    assert kinds == ["group_update", "issue", "line_delete", "line_delete", "line_update"]
