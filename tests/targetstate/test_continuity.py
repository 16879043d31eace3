"""§5.10: the continuity correction through ``PersistedLookup``."""

from __future__ import annotations

import pytest

from targetstate import FORCE_CONTINUOUS, IGNORE, InvalidPeriodError, build_target_state
from targetstate.continuity import correct_continuity
from targetstate.schedule import Schedule
from targetstate.versions import Candidate
from tests.targetstate.harness import FakeLookup, Record, flat, make_subscription, make_view, phase, rate_card, ts

SUB = "sub-1/default/fee/v[0]"
BOTH = {IGNORE: True, FORCE_CONTINUOUS: True}


def view(price=None):
    return make_view(
        make_subscription(start=ts("2024-01-01")), [phase("default", "PT0S", rate_card("fee", price or flat(5), "P1M"))]
    )


def build(lookup, as_of="2024-03-10", v=None):
    state = build_target_state(
        as_of=ts(as_of),
        view=v or view(),
        customer_deleted_at=None,
        subscription_end_proration_mode="",
        persisted=lookup,
    )
    return state.by_identity()


def span(period):
    return (period.start, period.end)


def test_the_period_after_an_ignored_continuous_line_starts_where_that_line_ends():
    lookup = FakeLookup({f"{SUB}/period[0]": Record(ts("2024-02-05"), annotations=BOTH)})
    items = build(lookup)
    corrected = items[f"{SUB}/period[1]"]
    assert span(corrected.service_period) == (ts("2024-02-05"), ts("2024-03-01"))
    assert span(corrected.full_service_period) == (ts("2024-02-05"), ts("2024-03-01"))
    assert span(corrected.billing_period) == (ts("2024-02-05"), ts("2024-03-01"))  # it was aligned
    assert corrected.invoice_at == ts("2024-02-05")
    assert span(items[f"{SUB}/period[2]"].service_period) == (ts("2024-03-01"), ts("2024-04-01"))


def test_an_unaligned_billing_period_keeps_its_start():
    """A P1D item inside a P1M billing period: its full service start is not the billing start."""
    v = make_view(
        make_subscription(start=ts("2024-01-01")),
        [phase("default", "PT0S", rate_card("fee", flat(1, "in_arrears"), "P1D"))],
    )
    lookup = FakeLookup({f"{SUB}/period[2]": Record(ts("2024-01-03T06:00"), annotations=BOTH)})
    corrected = build(lookup, as_of="2024-01-10", v=v)[f"{SUB}/period[3]"]
    assert span(corrected.service_period) == (ts("2024-01-03T06:00"), ts("2024-01-05"))
    assert span(corrected.billing_period) == (ts("2024-01-01"), ts("2024-02-01"))


def test_truncates_the_persisted_end():
    lookup = FakeLookup({f"{SUB}/period[0]": Record(ts("2024-02-05T00:00:00.900000"), annotations=BOTH)})
    assert build(lookup)[f"{SUB}/period[1]"].service_period.start == ts("2024-02-05")


@pytest.mark.parametrize(
    "records",
    [
        {},
        {f"{SUB}/period[0]": Record(ts("2024-02-05"), managed_by_subscription=False, annotations=BOTH)},
        {f"{SUB}/period[0]": Record(ts("2024-02-05"), annotations={IGNORE: True})},
        {f"{SUB}/period[0]": Record(ts("2024-02-05"), annotations={FORCE_CONTINUOUS: True})},
        {f"{SUB}/period[0]": Record(ts("2024-02-05"), annotations={IGNORE: "true", FORCE_CONTINUOUS: True})},
        {
            f"{SUB}/period[0]": Record(ts("2024-02-05"), annotations=BOTH),
            f"{SUB}/period[1]": Record(ts("2024-03-01"), annotations={IGNORE: True}),
        },
        {f"{SUB}/period[0]": Record(ts("2024-02-01"), annotations=BOTH)},
    ],
    ids=[
        "no previous record",
        "previous not managed by the subscription",
        "previous lacks force-continuous",
        "previous lacks ignore",
        "annotation is not the boolean True",
        "the item itself is ignored",
        "already continuous",
    ],
)
def test_leaves_the_item_unchanged(records):
    plain = build(FakeLookup())[f"{SUB}/period[1]"]
    assert build(FakeLookup(records))[f"{SUB}/period[1]"] == plain


def test_asks_only_about_the_item_and_its_predecessor():
    lookup = FakeLookup()
    build(lookup, as_of="2024-01-10")
    # period[0] (index 0) is never corrected; period[1] asks about itself and period[0]
    assert lookup.asked == [f"{SUB}/period[1]", f"{SUB}/period[0]"]


def test_guard_raises_when_the_correction_would_invert_a_period():
    lookup = FakeLookup({f"{SUB}/period[0]": Record(ts("2024-03-15"), annotations=BOTH)})
    with pytest.raises(InvalidPeriodError) as err:
        build(lookup)
    assert err.value.identity == f"{SUB}/period[1]"
    assert "sub-1" in str(err.value) and "end before it starts" in str(err.value)


def test_raises_when_the_service_period_does_not_start_with_its_full_service_period():
    """Step 4. The builder never produces such a candidate at index > 0, so it is built by hand."""
    v = view()
    schedule = Schedule(v)
    cadence = schedule.cadence_of("default")
    item = v.phases[0].items_by_key["fee"][0]
    candidate = Candidate(
        cadence,
        "fee",
        0,
        1,
        item,
        (ts("2024-02-10"), ts("2024-03-01")),
        (ts("2024-02-01"), ts("2024-03-01")),
        (ts("2024-02-01"), ts("2024-03-01")),
        False,
        True,
    )
    lookup = FakeLookup({f"{SUB}/period[0]": Record(ts("2024-02-05"), annotations=BOTH)})
    with pytest.raises(InvalidPeriodError) as err:
        correct_continuity([candidate], lookup, "sub-1")
    assert err.value.identity == f"{SUB}/period[1]"
