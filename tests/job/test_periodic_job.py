"""The periodic-job table of reconciler.md §9.2.5, plus the listing and limit rules of §7.1–§7.2, on
fake ports (no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from billing.sync_state import SubscriptionRef
from reconciler.settings import SyncSettings
from subsync.job import NotDue, Outcome, ReconcileErrors, ReconcileJob, not_due_reason
from subsync.sync.errors import SubscriptionNotFoundError
from tests.job.fakes import NAMESPACE, NOW, FakeListing, FakeSyncStates, FixedClock, SpyService, state, stored


def job(rows, states=(), service=None, **settings):  # type: ignore[no-untyped-def]
    return ReconcileJob(service=service or SpyService(), subscriptions=FakeListing(rows),
                        sync_states=FakeSyncStates(list(states)), clock=FixedClock(), settings=SyncSettings(**settings))


def test_reconcile_subscription_skips_unsupported_custom_currencies():
    spy = SpyService()
    job([], service=spy).reconcile_subscription((NAMESPACE, "subscription-id"))
    [(namespace, subscription_id, as_of, options)] = spy.calls
    assert (namespace, subscription_id, as_of) == (NAMESPACE, "subscription-id", NOW)
    assert options.skip_custom_currency_subscriptions is True
    assert options.dry_run is False


def test_reconcile_subscription_accepts_a_subscription_ref():
    spy = SpyService()
    job([], service=spy).reconcile_subscription(SubscriptionRef(namespace=NAMESPACE, subscription_id="s"))
    assert spy.synced_ids == ["s"]


SKIP_RULE_ROWS = [stored("no-state"), stored("no-billables"), stored("nothing-due"), stored("due-later")]
SKIP_RULE_STATES = [
    state("no-billables", has_billables=False),
    state("nothing-due", next_sync_after=None),
    state("due-later", next_sync_after=NOW + dt.timedelta(seconds=1)),
]


@pytest.mark.parametrize("force, expected", [
    (False, ["no-state"]),
    (True, ["no-state", "no-billables", "nothing-due", "due-later"]),
], ids=["skip rules", "force syncs all four"])
def test_skip_rules(force, expected):
    spy = SpyService()
    report = job(SKIP_RULE_ROWS, SKIP_RULE_STATES, service=spy).reconcile_all(force=force)
    assert spy.synced_ids == expected
    assert report.listed == 4 and report.not_due == 4 - len(expected)
    assert all(call[3].skip_custom_currency_subscriptions and not call[3].dry_run for call in spy.calls)


@pytest.mark.parametrize("next_sync_after, reason", [
    (NOW, None),                                   # due exactly now: synced
    (NOW - dt.timedelta(days=1), None),
    (NOW + dt.timedelta(microseconds=1), NotDue.NOT_DUE_YET),
    (None, NotDue.NOTHING_DUE_BY_TIME),
])
def test_next_sync_after_is_compared_with_now(next_sync_after, reason):
    assert not_due_reason(state("s", next_sync_after=next_sync_after), NOW) == reason
    assert not_due_reason(state("s", next_sync_after=next_sync_after), NOW, force=True) is None


def test_errors_are_collected_and_the_run_goes_on():
    boom = SubscriptionNotFoundError("gone", namespace=NAMESPACE, subscription_id="first")
    spy = SpyService(failing={"first": boom})
    with pytest.raises(ReconcileErrors) as caught:
        job([stored("first"), stored("second")], service=spy).reconcile_all()
    assert spy.synced_ids == ["first", "second"]
    assert list(caught.value.exceptions) == [boom]
    report = caught.value.report
    assert (report.failed, report.unchanged) == (1, 1)
    [failure] = report.failures
    assert (failure.subscription_id, failure.customer_id, failure.category) == ("first", "cus", "NotFoundError")


def test_a_bug_in_one_subscription_is_reported_as_an_internal_error_not_raised():
    spy = SpyService(failing={"first": KeyError("oops")})
    report = job([stored("first"), stored("second")], service=spy).run()
    assert spy.synced_ids == ["first", "second"]
    assert [(f.subscription_id, f.category) for f in report.failures] == [("first", "InternalError")]


@pytest.mark.parametrize("lookback", [dt.timedelta(0), dt.timedelta(seconds=-1)])
def test_lookback_must_be_positive(lookback):
    spy = SpyService()
    the_job = job([stored("a")], service=spy)
    with pytest.raises(ValueError, match="lookback must be positive"):
        the_job.reconcile_all(lookback=lookback)
    with pytest.raises(ValueError, match="lookback must be positive"):
        list(the_job.selected(lookback=lookback))
    assert spy.calls == [] and the_job.subscriptions.calls == []


def test_listing_two_passes_with_lookback_window_and_filters():
    rows = [
        stored("live", customer="a"),
        stored("ended-long-ago", customer="a", active_to=NOW - dt.timedelta(days=3)),
        stored("ended-yesterday", customer="a", active_to=NOW - dt.timedelta(hours=12)),
        stored("future", customer="a", active_from=NOW + dt.timedelta(days=1)),
        stored("deleted-long-ago", customer="a", deleted=True, active_to=NOW - dt.timedelta(days=300)),
        stored("other-customer", customer="b"),
    ]
    the_job = job(rows)
    selected = [s.subscription_id for s in the_job.selected(customers=["a"])]
    assert selected == ["live", "ended-yesterday", "deleted-long-ago"]  # live pass first, then every deleted one
    calls = the_job.subscriptions.calls
    assert calls[0]["active_in"].start == NOW - dt.timedelta(hours=24) and calls[0]["active_in"].end == NOW
    assert calls[-1]["deleted_before"] == NOW and calls[-1]["include_deleted"] is True
    assert all(call["customer_ids"] == ["a"] for call in calls)
    longer = [s.subscription_id for s in the_job.selected(customers=["a"], lookback=dt.timedelta(days=7))]
    assert longer == ["live", "ended-long-ago", "ended-yesterday", "deleted-long-ago"]


def test_pages_are_listed_until_a_short_page_and_states_are_fetched_per_page():
    rows = [stored(f"s{i}") for i in range(5)]
    the_job = job(rows, reconcile_page_size=2)
    report = the_job.run()
    assert report.listed == 5 and report.unchanged == 5
    live_pages = [c["page"].page_number for c in the_job.subscriptions.calls if c.get("active_in")]
    assert live_pages == [1, 2, 3]
    assert the_job.sync_states.requests == [2, 2, 1]


def test_limit_caps_the_synced_subscriptions_and_says_so():
    spy = SpyService()
    rows = [stored(f"s{i}") for i in range(5)]
    report = job(rows, [state("s1", next_sync_after=NOW + dt.timedelta(days=1))], service=spy,
                 reconcile_page_size=2).run(limit=3)
    assert spy.synced_ids == ["s0", "s2", "s3"]  # s1 is not due and does not count
    assert report.limited and report.processed == 3 and report.deferred == 1
    assert report.listed == 5 and report.not_due == 1
    assert [s.subscription_id for s in job(rows).selected(limit=2)] == ["s0", "s1"]
    with pytest.raises(ValueError):
        job(rows).run(limit=0)


def test_outcomes_from_sync_results(make_plan):
    from subsync.job import outcome_of
    from subsync.sync import SyncResult

    assert outcome_of(SyncResult(view=None, deleted=False, plan=None, skipped=True)) is Outcome.SKIPPED
    assert outcome_of(SyncResult(view=None, deleted=False, plan=None)) is Outcome.UNCHANGED
    assert outcome_of(SyncResult(view=None, deleted=False, plan=make_plan(empty=True))) is Outcome.UNCHANGED
    assert outcome_of(SyncResult(view=None, deleted=False, plan=make_plan(empty=False))) is Outcome.SYNCED
