"""The periodic job over many generated subscriptions, a few of them deliberately broken.

Size: ``SUBSYNC_SCALE=ci`` (set by .ci/run) runs 1 000 subscriptions, ``SUBSYNC_SCALE=full`` 5 000, and
a local run without it 200. Broken on purpose: stored views that are not subscriptions (a corrupt row)
and subscriptions whose stored line ends before it starts (a persisted-state integrity error).

Expected: every healthy subscription converges in the first run; the broken ones are reported with
their category and customer, and nothing of theirs is committed; a second, forced run at the same time
plans nothing for the healthy ones and reports the broken ones again; a third, unforced run only retries
the broken ones.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest

from billing.sync_state import SubscriptionRef
from billing.sync_state_store import SyncStateStore
from subsync.job import ReconcileJob
from subsync.logging import configure_logging
from subsync.sync import SyncService
from tests.job.stores import NAMESPACE, corrupt_view, invert_a_line_period, seed

UTC = dt.timezone.utc
SIZES = {"ci": 1_000, "full": 5_000}
PER_CUSTOMER = 10


def scale() -> int:
    return SIZES.get(os.environ.get("SUBSYNC_SCALE", ""), 200)


@pytest.fixture
def sqlite_store(tmp_path, clock):  # type: ignore[no-untyped-def]
    """The embedded default only: the PostgreSQL store is covered by test_reconcile_store.py, and CI's
    time is better spent on one backend at this size."""
    from billing.store import Store

    instance = Store(f"sqlite:///{tmp_path / 'scale.db'}", clock=clock)
    instance.create_all()
    yield instance
    instance.dispose()


@pytest.mark.slow
def test_reconcile_many_subscriptions_with_a_few_broken(sqlite_store, clock):
    store = sqlite_store
    configure_logging("ERROR")  # the failures are logged at error level; a thousand info lines are not
    count = scale()
    ids = seed(store, count, per_customer=PER_CUSTOMER, usage=False)
    clock.set(dt.datetime(2024, 1, 20, tzinfo=UTC))
    corrupt = {ids[7], ids[count // 2], ids[-1]}
    integrity = {ids[3], ids[count // 3], ids[-12]}
    # An integrity error needs stored lines: sync those first, break a line, and make them due again.
    service = SyncService.for_store(store)
    sync_states = SyncStateStore(store)
    for subscription_id in integrity:
        service.sync_by_id(NAMESPACE, subscription_id, clock.now())
        invert_a_line_period(store, subscription_id)
        sync_states.invalidate(SubscriptionRef(namespace=NAMESPACE, subscription_id=subscription_id))
    for subscription_id in corrupt:
        corrupt_view(store, subscription_id, per_customer=PER_CUSTOMER)
    broken = corrupt | integrity
    job = ReconcileJob.for_store(store)

    first = job.run()

    assert first.listed == count
    assert (first.synced, first.failed) == (count - len(broken), len(broken))
    categories = {f.subscription_id: f.category for f in first.failures}
    assert categories == {**{s: "ValidationError" for s in corrupt}, **{s: "IntegrityError" for s in integrity}}
    messages = {f.subscription_id: f.message for f in first.failures}
    assert all("SubscriptionView is invalid" in messages[s] for s in corrupt)
    assert all("ends before it starts" in messages[s] for s in integrity)
    assert all(f.customer_id == f"cus-{int(f.subscription_id[4:]) // PER_CUSTOMER:05d}" for f in first.failures)
    refs = [SubscriptionRef(namespace=NAMESPACE, subscription_id=s) for s in ids]
    written = {ref.subscription_id for start in range(0, count, 200) for ref in sync_states.get_many(refs[start : start + 200])}
    assert written == set(ids) - broken  # nothing committed for the broken ones

    second = job.run(force=True, keep_plans=True)
    assert (second.synced, second.unchanged, second.failed) == (0, count - len(broken), len(broken))
    assert second.plans == []
    assert {f.subscription_id for f in second.failures} == broken

    third = job.run()
    assert (third.processed, third.not_due, third.failed) == (len(broken), count - len(broken), len(broken))
