"""Properties of running edits over random edit sequences (hypothesis)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from subscriptions import edits
from subscriptions.errors import SubscriptionValidationError
from subscriptions.setup import parse_subscription
from subscriptions.timeline import item_active_range, phase_cadences

UTC = dt.timezone.utc
START = dt.datetime(2024, 1, 31, 0, 0, 0, 123456, tzinfo=UTC)  # month end, sub-second part
KEYS = ("fee", "usage")


def card(key: str, amount: int) -> dict:
    if key == "usage":
        return {"key": key, "type": "usage_based", "price": {"type": "unit", "amount": str(amount)}, "billing_cadence": "P1M"}
    return {"key": key, "type": "flat_fee", "price": {"type": "flat", "amount": str(amount)}, "billing_cadence": "P1M"}


BASE = parse_subscription(
    {
        "plan": {
            "phases": [
                {"key": "one", "duration": "P1M", "rate_cards": [card("fee", 1), card("usage", 1)]},
                {"key": "two", "duration": "P2M", "rate_cards": [card("fee", 2)]},
                {"key": "three", "rate_cards": [card("fee", 3), card("usage", 3)]},
            ]
        }
    },
    clock=START,
)

offsets = st.integers(min_value=0, max_value=200 * 24 * 3600)
ops = st.lists(
    st.tuples(st.sampled_from(["remove", "add", "cancel", "continue"]), st.sampled_from(["one", "two", "three"]),
              st.sampled_from(KEYS), offsets),
    max_size=8,
)


def apply(view, op):
    kind, phase, key, seconds = op
    at = START + dt.timedelta(seconds=seconds)
    if kind == "remove":
        return edits.remove_item(view, phase, key, at)
    if kind == "add":
        return edits.add_item(view, phase, card(key, seconds % 50), at)
    if kind == "cancel":
        return edits.cancel(view, at)
    return edits.continue_subscription(view)


def check_invariants(view):
    sub = view.subscription
    for cadence in phase_cadences(sub, view.phases):
        assert cadence.phase.active_from == cadence.start
        for versions in cadence.phase.items_by_key.values():
            for earlier, later in zip(versions, versions[1:]):
                assert earlier.active_to is not None and earlier.active_to <= later.active_from
            for v in versions:
                assert (v.active_from, v.active_to) == item_active_range(
                    cadence.start, cadence.end, v.active_from_override, v.active_to_override
                )
                if v.active_to is not None:
                    assert v.active_from <= v.active_to
                if cadence.end is not None:
                    assert v.active_to is not None and v.active_to <= max(cadence.end, v.active_from)
                if sub.active_to is not None:
                    assert v.active_to is not None and v.active_to <= max(sub.active_to, cadence.start)


@given(ops)
def test_every_edit_sequence_keeps_versions_ordered_disjoint_and_derived_from_the_spec(sequence):
    view = BASE
    for op in sequence:
        try:
            view = apply(view, op)
        except SubscriptionValidationError:
            continue  # an invalid edit leaves the view as it was
        check_invariants(view)


@given(ops, offsets)
def test_cancel_then_continue_restores_the_view(sequence, seconds):
    view = BASE
    for op in sequence:
        try:
            view = apply(view, op)
        except SubscriptionValidationError:
            continue
    if view.subscription.active_to is not None:
        view = edits.continue_subscription(view)
    cancelled = edits.cancel(view, START + dt.timedelta(seconds=seconds))
    check_invariants(cancelled)
    assert edits.continue_subscription(cancelled) == view
