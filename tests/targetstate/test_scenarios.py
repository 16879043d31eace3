"""§10.3: target-level expectations of the sync scenarios (S-002, S-016, S-017, S-029, S-032, S-037)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from targetstate import NO_PERSISTED_STATE, TargetState, build_target_state
from tests.targetstate.harness import dur, flat, make_subscription, make_view, phase, rate_card, ts, unit

#: A running clock's ε: an ``as_of`` a few milliseconds after the instant the scenario names.
EPSILON = dt.timedelta(milliseconds=4)


def build(view, as_of: dt.datetime) -> TargetState:
    return build_target_state(
        as_of=as_of,
        view=view,
        customer_deleted_at=None,
        subscription_end_proration_mode="bill_actual_period",
        persisted=NO_PERSISTED_STATE,
    )


def periods(item):
    return (item.service_period.start, item.service_period.end)


def s002():
    start = ts("2024-01-01")
    cards = [
        rate_card("in-arrears", flat(5, "in_arrears"), "P1D", type="usage_based"),
        rate_card("in-arrears-3m", flat(9, "in_arrears"), "P3M", type="usage_based"),
    ]
    state = build(make_view(make_subscription(start=start), [phase("first-phase", "PT0S", *cards)]), start + EPSILON)
    daily = [i for i in state.items if i.item_key == "in-arrears"]
    assert [i.unique_id for i in daily] == [f"sub-1/first-phase/in-arrears/v[0]/period[{d}]" for d in range(31)]
    for day, item in enumerate(daily):
        assert periods(item) == (start + dt.timedelta(days=day), start + dt.timedelta(days=day + 1))
        assert item.invoice_at == ts("2024-02-01")
        assert item.expected_line().price == flat(5, "in_arrears")
    assert not [i for i in state.items if i.item_key == "in-arrears-3m"]  # due 04-01, beyond the horizon 02-01

    cancelled = make_subscription(start=start, active_to=ts("2024-02-01"))
    state = build(make_view(cancelled, [phase("first-phase", "PT0S", *cards)]), ts("2024-01-01T10:00:00") + EPSILON)
    assert len([i for i in state.items if i.item_key == "in-arrears"]) == 31
    (quarterly,) = [i for i in state.items if i.item_key == "in-arrears-3m"]
    assert quarterly.unique_id == "sub-1/first-phase/in-arrears-3m/v[0]/period[0]"
    assert periods(quarterly) == (ts("2024-01-01"), ts("2024-02-01"))
    assert (quarterly.full_service_period.start, quarterly.full_service_period.end) == (ts("2024-01-01"), ts("2024-04-01"))
    assert quarterly.invoice_at == ts("2024-02-01")
    assert quarterly.invoice_flat_amount == Decimal("3.07")
    assert quarterly.expected_line().price == flat("3.07", "in_arrears")


def s016():
    start = ts("2024-01-01")
    card = rate_card("in-advance", flat(5, "in_advance"), None, type="flat_fee")
    state = build(make_view(make_subscription(start=start), [phase("first-phase", "PT0S", card)]), ts("2024-01-05T12:00"))
    (item,) = state.items
    assert item.unique_id == "sub-1/first-phase/in-advance/v[0]"
    assert periods(item) == (start, start)
    assert item.invoice_at == start
    assert item.is_billable and item.invoice_flat_amount == Decimal("5.00")
    assert item.expected_line().price == flat(5, "in_advance")


def s017():
    start, anchor, as_of = ts("2024-01-01"), ts("2023-12-15"), ts("2024-02-01")
    card = rate_card("in-arrears", flat(5, "in_arrears"), None, type="flat_fee")
    open_ended = make_subscription(start=start, anchor=anchor)
    (item,) = build(make_view(open_ended, [phase("first-phase", "PT0S", card)]), as_of).items
    assert item.unique_id == "sub-1/first-phase/in-arrears/v[0]"
    assert periods(item) == (start, start)
    assert not item.is_billable and item.expected_line() is None

    cancelled = make_subscription(start=start, anchor=anchor, active_to=ts("2024-01-15"))
    (item,) = build(make_view(cancelled, [phase("first-phase", "PT0S", card)]), as_of).items
    assert periods(item) == (start, ts("2024-01-15"))
    assert item.invoice_at == ts("2024-01-15")
    assert item.is_billable
    assert item.period_percentage == 1
    assert item.invoice_flat_amount == Decimal("5.00")


def s029():
    start = ts("2024-01-01")
    cards = [
        rate_card("in-advance", flat(6, "in_advance"), "P1M", type="usage_based"),
        rate_card("api-requests-total", unit(10), "P1M", feature_key="api-requests-total"),
    ]
    state = build(make_view(make_subscription(start=start), [phase("first-phase", "PT0S", *cards)]), start)
    (item,) = state.items
    assert item.unique_id == "sub-1/first-phase/in-advance/v[0]/period[0]"
    assert periods(item) == (start, ts("2024-02-01"))
    assert item.invoice_at == start
    assert state.max_generation_time_limit == start


def s032():
    cards = [
        rate_card("in-advance", flat(5, "in_advance"), "P1M", type="flat_fee"),
        rate_card("in-arrears", flat(5, "in_arrears"), "P1M", type="flat_fee"),
        rate_card("api-requests-total", unit(10), "P1M", feature_key="api-requests-total"),
    ]
    sub = make_subscription(start=ts("2024-01-01"), active_to=ts("2024-03-01"))
    view = make_view(sub, [phase("first-phase", "PT0S", *cards), phase("second-phase", "P2W", *cards)])
    state = build(view, ts("2024-03-01"))
    expected = {
        "first-phase/in-advance/v[0]/period[0]": ("01-01", "01-15", "01-01", "2.26"),
        "first-phase/in-arrears/v[0]/period[0]": ("01-01", "01-15", "01-15", "2.26"),
        "first-phase/api-requests-total/v[0]/period[0]": ("01-01", "01-15", "01-15", None),
        "second-phase/in-advance/v[0]/period[0]": ("01-15", "02-01", "01-15", "2.74"),
        "second-phase/in-advance/v[0]/period[1]": ("02-01", "03-01", "02-01", "5.00"),
        "second-phase/in-arrears/v[0]/period[0]": ("01-15", "02-01", "02-01", "2.74"),
        "second-phase/in-arrears/v[0]/period[1]": ("02-01", "03-01", "03-01", "5.00"),
        "second-phase/api-requests-total/v[0]/period[0]": ("01-15", "02-01", "02-01", None),
        "second-phase/api-requests-total/v[0]/period[1]": ("02-01", "03-01", "03-01", None),
    }
    got = {
        item.unique_id.removeprefix("sub-1/"): (
            periods(item),
            item.invoice_at,
            item.invoice_flat_amount,
        )
        for item in state.items
    }
    assert got == {
        key: ((ts(f"2024-{s}"), ts(f"2024-{e}")), ts(f"2024-{due}"), None if amount is None else Decimal(amount))
        for key, (s, e, due, amount) in expected.items()
    }
    usage = [i for i in state.items if i.item_key == "api-requests-total"]
    assert all(i.expected_line().price == unit(10) for i in usage)  # usage is never prorated
    assert state.max_generation_time_limit is None  # the subscription has ended (Q10)


def s037():
    start = ts("2025-10-15")
    free = rate_card("in-advance", None, "P1M", type="usage_based")
    paid = rate_card("in-advance", flat(5, "in_advance"), "P1M", type="usage_based")
    view = make_view(
        make_subscription(start=start, pro_rating=False),
        [phase("free-phase", "PT0S", free), phase("paid-phase", dur("P2M"), paid)],
    )
    state = build(view, ts("2024-01-20"))
    assert state.max_generation_time_limit == ts("2025-12-15")
    (item,) = state.items
    assert item.unique_id == "sub-1/paid-phase/in-advance/v[0]/period[0]"
    assert periods(item) == (ts("2025-12-15"), ts("2026-01-15"))
    assert item.invoice_at == ts("2025-12-15")
    assert item.invoice_flat_amount == Decimal("5.00")

    resync = build(view, ts("2025-12-15T01:00"))
    assert resync.max_generation_time_limit == ts("2026-01-15")
    assert [i.unique_id for i in resync.items] == [
        "sub-1/paid-phase/in-advance/v[0]/period[0]",
        "sub-1/paid-phase/in-advance/v[0]/period[1]",
    ]
    assert periods(resync.items[1]) == (ts("2026-01-15"), ts("2026-02-15"))


SCENARIOS = {"S-002": s002, "S-016": s016, "S-017": s017, "S-029": s029, "S-032": s032, "S-037": s037}


@pytest.mark.parametrize("check", list(SCENARIOS.values()), ids=list(SCENARIOS))
def test_scenario_target_state(check):
    check()
