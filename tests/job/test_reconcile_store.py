"""The periodic job on a real store: convergence, not-due skipping, unlocked pre-planning of forced
subscriptions, failure isolation with nothing committed for the failed one, deleted subscriptions,
custom currencies and ``--invoice``."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from billing.service import BillingService
from billing.store.tables import LineRow, SyncStateRow
from billing.subscription_store import SubscriptionStore
from billing.sync_state import SubscriptionRef
from billing.sync_state_store import SyncStateStore
from subscriptions import edits
from subscriptions.setup import parse_subscription
from subsync.job import Outcome, ReconcileJob
from subsync.sync import StoredSubscriptions
from tests.job.stores import NAMESPACE, START, corrupt_view, invert_a_line_period, seed, setup_of

UTC = dt.timezone.utc
MID_MARCH = dt.datetime(2024, 3, 15, tzinfo=UTC)


def states(store):  # type: ignore[no-untyped-def]
    with store.engine.connect() as connection:
        rows = connection.execute(select(SyncStateRow.subscription_id, SyncStateRow.has_billables,
                                         SyncStateRow.synced_at, SyncStateRow.next_sync_after)).all()
    return {row[0]: tuple(row[1:]) for row in rows}


def line_count(store, subscription_id=None):  # type: ignore[no-untyped-def]
    query = select(func.count()).select_from(LineRow).where(LineRow.deleted_at.is_(None))
    if subscription_id is not None:
        query = query.where(LineRow.subscription_id == subscription_id)
    with store.engine.connect() as connection:
        return connection.execute(query).scalar_one()


@pytest.fixture
def seeded(store, clock):  # type: ignore[no-untyped-def]
    ids = seed(store, 8, per_customer=4)
    clock.set(MID_MARCH)
    return ids


def test_a_run_converges_then_nothing_is_due_and_a_forced_run_changes_nothing(store, clock, seeded):
    job = ReconcileJob.for_store(store)
    first = job.run()
    assert (first.synced, first.unchanged, first.failed, first.listed) == (8, 0, 0, 8)
    written = states(store)
    assert set(written) == set(seeded)
    assert all(row == (True, MID_MARCH, dt.datetime(2024, 4, 1, tzinfo=UTC)) for row in written.values())
    lines = line_count(store)

    clock.set(MID_MARCH + dt.timedelta(hours=1))
    second = job.run()
    assert (second.processed, second.not_due) == (0, 8)

    forced = job.run(force=True)
    assert (forced.synced, forced.unchanged, forced.failed) == (0, 8, 0)
    # Pre-planned without the lock: nothing was written, not even synced_at.
    assert states(store) == written and line_count(store) == lines


def test_without_pre_planning_a_forced_run_only_moves_synced_at(store, clock, seeded):
    ReconcileJob.for_store(store).run()
    before = states(store)
    clock.set(MID_MARCH + dt.timedelta(hours=1))
    forced = ReconcileJob.for_store(store, preplan=False).run(force=True)
    assert (forced.synced, forced.unchanged) == (0, 8)
    after = states(store)
    assert {k: (v[0], v[2]) for k, v in after.items()} == {k: (v[0], v[2]) for k, v in before.items()}
    assert {v[1] for v in after.values()} == {MID_MARCH + dt.timedelta(hours=1)}


def test_a_forced_subscription_with_changes_is_planned_again_under_the_lock_and_applied(store, clock, seeded):
    job = ReconcileJob.for_store(store)
    job.run()
    subscriptions = SubscriptionStore(store)
    view = StoredSubscriptions(subscriptions).get_view(NAMESPACE, seeded[3])
    view = edits.cancel(view, MID_MARCH + dt.timedelta(days=5))
    subscriptions.upsert_subscription(NAMESPACE, view.subscription.id, customer_id=view.subscription.customer_id,
                                      view=view.model_dump(mode="json"), active_from=view.subscription.active_from,
                                      active_to=view.subscription.active_to)
    clock.set(MID_MARCH + dt.timedelta(hours=1))
    report = job.run(force=True, keep_plans=True)
    assert (report.synced, report.unchanged) == (1, 7)
    [plan] = report.plans
    assert plan.subscription_id == seeded[3] and not plan.is_empty
    assert states(store)[seeded[3]][1] == MID_MARCH + dt.timedelta(hours=1)  # written by the locked sync
    assert job.run(force=True).synced == 0  # converged


def test_one_bad_subscription_never_stops_the_run_and_commits_nothing(store, clock, seeded):
    job = ReconcileJob.for_store(store)
    job.run()
    clock.set(dt.datetime(2024, 4, 2, tzinfo=UTC))  # everything is due again
    invert_a_line_period(store, seeded[2])
    corrupt_view(store, seeded[5], per_customer=4)
    lines_of_broken = line_count(store, seeded[2])
    before = states(store)

    report = job.run()

    assert (report.synced, report.failed) == (6, 2)
    failures = {f.subscription_id: f for f in report.failures}
    assert failures[seeded[2]].category == "IntegrityError"
    assert "end" in failures[seeded[2]].message or "period" in failures[seeded[2]].message
    assert failures[seeded[5]].category == "ValidationError"
    assert failures[seeded[2]].customer_id == "cus-00000" and failures[seeded[5]].customer_id == "cus-00001"
    after = states(store)
    assert after[seeded[2]] == before[seeded[2]] and after[seeded[5]] == before[seeded[5]]  # rolled back
    assert line_count(store, seeded[2]) == lines_of_broken
    # The failed ones are still due, so the next run retries (and reports) them; the rest is not due.
    again = job.run()
    assert {f.subscription_id for f in again.failures} == {seeded[2], seeded[5]}
    assert (again.processed, again.not_due) == (2, 6)


def test_a_deleted_subscription_is_reconciled_once_to_nothing(store, clock, seeded):
    job = ReconcileJob.for_store(store)
    job.run()
    assert line_count(store, seeded[0]) > 0
    SubscriptionStore(store).delete_subscription(NAMESPACE, seeded[0])
    SyncStateStore(store).invalidate(SubscriptionRef(namespace=NAMESPACE, subscription_id=seeded[0]))
    clock.set(MID_MARCH + dt.timedelta(hours=1))  # the others are not due
    report = job.run(keep_plans=True)
    assert (report.synced, report.not_due) == (1, 7)
    assert [p.subscription_id for p in report.plans] == [seeded[0]]
    assert line_count(store, seeded[0]) == 0
    assert states(store)[seeded[0]][0] is False  # has_billables = false: never due again
    assert job.run().processed == 0


def test_custom_currency_subscriptions_are_skipped_without_a_sync_state(store, clock):
    seed(store, 1, per_customer=1)
    setup = setup_of(1, 1)
    setup["currencies"] = [{"code": "CREDITS", "precision": 2}]
    setup["plan"]["phases"][0]["rate_cards"][0]["price"]["currency"] = "CREDITS"
    view = parse_subscription(setup, clock=START)
    BillingService(store).create_customer(NAMESPACE, "cus-00001", customer_id="cus-00001")
    SubscriptionStore(store).upsert_subscription(NAMESPACE, view.subscription.id, customer_id="cus-00001",
                                                 view=view.model_dump(mode="json"), active_from=START)
    clock.set(MID_MARCH)
    report = ReconcileJob.for_store(store).run()
    assert (report.synced, report.skipped, report.failed) == (1, 1, 0)
    assert set(states(store)) == {"sub-00000"}


def test_invoice_invoices_the_customers_of_synced_subscriptions(store, clock, seeded):
    report = ReconcileJob.for_store(store).run(invoice=True)
    assert report.ok and len(report.invoices) == 2  # one per customer: every in-advance fee is due
    invoices = BillingService(store).list_customer_invoices(NAMESPACE, "cus-00000")
    assert sorted(i.id for i in invoices if i.kind == "standard") == sorted(
        i for i in report.invoices if i in {inv.id for inv in invoices})
    # Nothing left to invoice is not an error.
    clock.set(MID_MARCH + dt.timedelta(hours=1))
    again = ReconcileJob.for_store(store).run(force=True, invoice=True)
    assert again.ok and again.invoices == []


def test_progress_is_told_how_many_are_due_and_each_outcome(store, clock, seeded):
    seen = []

    class Recorder:
        def due(self, count):  # type: ignore[no-untyped-def]
            seen.append(("due", count))

        def done(self, listed, outcome):  # type: ignore[no-untyped-def]
            seen.append((listed.subscription_id, outcome))

    ReconcileJob.for_store(store).run(limit=3, progress=Recorder())
    assert seen == [("due", 3)] + [(sid, Outcome.SYNCED) for sid in seeded[:3]]
