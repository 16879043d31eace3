"""Running edits: versions, overrides and persisted ranges (scenario-format §2, sync catalogue §0.3)."""

from __future__ import annotations

import datetime as dt

import pytest

from subscriptions import edits
from subscriptions.duration import Duration
from subscriptions.errors import SubscriptionValidationError
from subscriptions.setup import parse_subscription
from subscriptions.timeline import phase_cadences

UTC = dt.timezone.utc


def t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def flat(key: str, amount: str, term: str = "in_advance", cadence: str | None = "P1M") -> dict:
    card = {"key": key, "type": "usage_based", "price": {"type": "flat", "amount": amount, "payment_term": term}}
    if cadence is not None:
        card["billing_cadence"] = cadence
    else:
        card["type"] = "flat_fee"
    return card


def view_of(*phases: dict, start: str = "2024-01-01T00:00:00Z", **subscription):
    setup = {"plan": {"phases": list(phases)}, "subscription": {"start": start, **subscription}}
    return parse_subscription(setup, clock=None)


def ranges(view, phase: str, item: str):
    p = next(p for p in view.phases if p.key == phase)
    return [(v.active_from, v.active_to) for v in p.items_by_key.get(item, ())]


ONE_PHASE = {"key": "first-phase", "rate_cards": [flat("in-advance", "5")]}
TWO_PHASES = (
    {"key": "trial", "duration": "P1M", "rate_cards": [flat("in-advance", "5"), flat("in-arrears", "3", "in_arrears")]},
    {"key": "paid", "rate_cards": [flat("in-advance", "10"), flat("in-arrears", "7", "in_arrears")]},
)


def test_remove_and_re_add_after_40_seconds_makes_two_versions():  # S-007
    view = view_of(ONE_PHASE)
    at = t("2024-01-01T00:00:40Z")
    view = edits.remove_item(view, "first-phase", "in-advance", at)
    view = edits.add_item(view, "first-phase", flat("in-advance", "10"), at)
    v0, v1 = view.phases[0].items_by_key["in-advance"]
    assert (v0.active_from, v0.active_to) == (t("2024-01-01T00:00:00Z"), at)
    assert (v1.active_from, v1.active_to) == (at, None)
    assert v0.active_to_override == Duration(seconds=40) and v0.active_from_override is None
    assert v1.active_from_override == Duration(seconds=40) and v1.active_to_override is None
    assert (v0.rate_card.price.amount, v1.rate_card.price.amount) == (5, 10)
    assert v0.id != v1.id


def test_edit_ops_apply_in_order_at_the_effective_time():
    view = edits.edit_subscription(
        view_of(ONE_PHASE),
        [
            {"remove_item": {"phase": "first-phase", "item": "in-advance"}},
            {"add_item": {"phase": "first-phase", "rate_card": flat("in-advance", "10")}},
        ],
        "2024-01-02T00:00:00Z",
    )
    assert ranges(view, "first-phase", "in-advance") == [
        (t("2024-01-01T00:00:00Z"), t("2024-01-02T00:00:00Z")),
        (t("2024-01-02T00:00:00Z"), None),
    ]


def test_remove_at_the_phase_start_leaves_a_zero_length_version():  # S-025
    start = t("2024-01-01T00:00:00Z")
    view = edits.remove_item(view_of(ONE_PHASE), "first-phase", "in-advance", start)
    view = edits.add_item(view, "first-phase", flat("in-advance", "10"), start)
    assert ranges(view, "first-phase", "in-advance") == [(start, start), (start, None)]
    assert view.phases[0].items_by_key["in-advance"][1].active_from_override is None


def test_three_versions_keep_their_order_and_ranges():
    view = view_of(ONE_PHASE)
    for at in ("2024-01-05T00:00:00Z", "2024-01-20T12:00:00Z"):
        view = edits.remove_item(view, "first-phase", "in-advance", at)
        view = edits.add_item(view, "first-phase", flat("in-advance", "10"), at)
    assert ranges(view, "first-phase", "in-advance") == [
        (t("2024-01-01T00:00:00Z"), t("2024-01-05T00:00:00Z")),
        (t("2024-01-05T00:00:00Z"), t("2024-01-20T12:00:00Z")),
        (t("2024-01-20T12:00:00Z"), None),
    ]
    assert len({v.id for v in view.phases[0].items_by_key["in-advance"]}) == 3


def test_edits_in_a_future_phase_remove_the_item_and_add_at_the_phase_start():
    view = view_of(*TWO_PHASES)
    at = t("2024-01-10T00:00:00Z")
    view = edits.remove_item(view, "paid", "in-arrears", at)
    assert "in-arrears" not in next(p for p in view.phases if p.key == "paid").items_by_key
    view = edits.add_item(view, "paid", flat("in-arrears", "8", "in_arrears"), at)
    (version,) = next(p for p in view.phases if p.key == "paid").items_by_key["in-arrears"]
    assert (version.active_from, version.active_to) == (t("2024-02-01T00:00:00Z"), None)
    assert version.active_from_override is None
    assert version.rate_card.price.amount == 8


def test_edit_returns_a_new_view_and_leaves_the_input_alone():
    view = view_of(ONE_PHASE)
    before = view.model_dump()
    edited = edits.remove_item(view, "first-phase", "in-advance", "2024-01-10T00:00:00Z")
    assert view.model_dump() == before
    assert edited != view


def test_cancel_caps_phases_and_items_and_continue_reopens_them():
    view = view_of(*TWO_PHASES)
    view = edits.remove_item(view, "trial", "in-arrears", "2024-01-10T00:00:00Z")
    cancelled = edits.cancel(view, "2024-01-20T00:00:00Z")
    assert cancelled.subscription.active_to == t("2024-01-20T00:00:00Z")
    assert ranges(cancelled, "trial", "in-advance") == [(t("2024-01-01T00:00:00Z"), t("2024-01-20T00:00:00Z"))]
    assert ranges(cancelled, "trial", "in-arrears") == [(t("2024-01-01T00:00:00Z"), t("2024-01-10T00:00:00Z"))]

    continued = edits.continue_subscription(cancelled)
    assert continued.subscription.active_to is None
    assert ranges(continued, "trial", "in-advance") == [(t("2024-01-01T00:00:00Z"), t("2024-02-01T00:00:00Z"))]
    assert ranges(continued, "paid", "in-advance") == [(t("2024-02-01T00:00:00Z"), None)]
    # An explicit removal is part of the spec and survives continue.
    assert ranges(continued, "trial", "in-arrears") == [(t("2024-01-01T00:00:00Z"), t("2024-01-10T00:00:00Z"))]
    assert continued == view


def test_cancel_before_a_later_phase_makes_it_zero_length_with_instant_items():
    cancelled = edits.cancel(view_of(*TWO_PHASES), "2024-01-15T00:00:00Z")
    cadences = {c.phase.key: (c.start, c.end) for c in phase_cadences(cancelled.subscription, cancelled.phases)}
    end_of_paid = t("2024-02-01T00:00:00Z")
    assert cadences == {
        "trial": (t("2024-01-01T00:00:00Z"), t("2024-01-15T00:00:00Z")),
        "paid": (end_of_paid, end_of_paid),
    }
    # §3.4 rule 2 with the zero-length phase's end: the [end, end] persisted form.
    assert ranges(cancelled, "paid", "in-advance") == [(end_of_paid, end_of_paid)]
    assert ranges(cancelled, "paid", "in-arrears") == [(end_of_paid, end_of_paid)]
    assert ranges(cancelled, "trial", "in-advance") == [(t("2024-01-01T00:00:00Z"), t("2024-01-15T00:00:00Z"))]


def test_cancel_inside_a_phase_gives_versions_scheduled_later_the_end_instant():
    view = edits.remove_item(view_of(ONE_PHASE), "first-phase", "in-advance", "2024-01-10T00:00:00Z")
    view = edits.add_item(view, "first-phase", flat("in-advance", "10"), "2024-01-10T00:00:00Z")
    cancelled = edits.cancel(view, "2024-01-05T00:00:00Z")
    end = t("2024-01-05T00:00:00Z")
    assert ranges(cancelled, "first-phase", "in-advance") == [(t("2024-01-01T00:00:00Z"), end), (end, end)]
    assert ranges(edits.continue_subscription(cancelled), "first-phase", "in-advance") == ranges(
        view, "first-phase", "in-advance"
    )


def test_cancel_keeps_microseconds():  # S-001 cancels at …00.123456Z
    cancelled = edits.cancel(view_of(ONE_PHASE), "2024-03-01T00:00:00.123456Z")
    assert ranges(cancelled, "first-phase", "in-advance")[0][1] == t("2024-03-01T00:00:00.123456Z")


def test_add_phase_ends_the_phase_it_lands_in():  # S-019
    view = view_of({"key": "first-phase", "rate_cards": [{
        "key": "api-requests-total", "type": "usage_based", "feature": "api-requests-total",
        "price": {"type": "unit", "amount": "10"}, "billing_cadence": "P1M"}]})
    at = "2024-01-30T00:00:00Z"
    view = edits.edit_subscription(
        view,
        [
            {"add_phase": {"key": "second-phase", "start_after": "P30D"}},
            {"add_item": {"phase": "second-phase", "rate_card": {
                "key": "api-requests-total", "type": "usage_based", "feature": "api-requests-total",
                "price": {"type": "unit", "amount": "5"}, "billing_cadence": "P1M"}}},
        ],
        at,
    )
    assert [p.key for p in view.phases] == ["first-phase", "second-phase"]
    assert ranges(view, "first-phase", "api-requests-total") == [(t("2024-01-01T00:00:00Z"), t("2024-01-31T00:00:00Z"))]
    assert ranges(view, "second-phase", "api-requests-total") == [(t("2024-01-31T00:00:00Z"), None)]
    second = view.phases[1]
    assert second.start_after == Duration(days=30) and second.active_from == t("2024-01-31T00:00:00Z")


def test_add_phase_with_rate_cards():
    view = edits.add_phase(view_of(ONE_PHASE), "later", "P2M", [flat("in-advance", "20")])
    assert ranges(view, "first-phase", "in-advance") == [(t("2024-01-01T00:00:00Z"), t("2024-03-01T00:00:00Z"))]
    assert ranges(view, "later", "in-advance") == [(t("2024-03-01T00:00:00Z"), None)]


def test_delete_marks_the_subscription_and_blocks_further_edits():
    deleted = edits.delete(view_of(ONE_PHASE), "2024-01-10T00:00:00Z")
    assert deleted.subscription.deleted_at == t("2024-01-10T00:00:00Z")
    assert deleted.phases == view_of(ONE_PHASE).phases
    with pytest.raises(SubscriptionValidationError, match=r"^subscription 'sub-1': was deleted at 2024-01-10T00:00:00Z"):
        edits.cancel(deleted, "2024-01-20T00:00:00Z")


EDIT_ERRORS = [
    ("unknown phase",
     lambda v: edits.remove_item(v, "gold", "in-advance", "2024-01-10T00:00:00Z"),
     "subscription 'sub-1': has no phase 'gold' (phases: 'trial', 'paid')"),
    ("unknown item",
     lambda v: edits.remove_item(v, "trial", "support", "2024-01-10T00:00:00Z"),
     "subscription 'sub-1', phase 'trial': has no item 'support' (items: 'in-advance', 'in-arrears')"),
    ("edit before the start",
     lambda v: edits.remove_item(v, "trial", "in-advance", "2023-12-31T00:00:00Z"),
     "subscription 'sub-1': cannot be edited at 2023-12-31T00:00:00Z, before its start 2024-01-01T00:00:00Z"),
    ("edit in a phase that has ended",
     lambda v: edits.remove_item(v, "trial", "in-advance", "2024-02-10T00:00:00Z"),
     "subscription 'sub-1', phase 'trial': ended at 2024-02-01T00:00:00Z"),
    ("edit at a naive time",
     lambda v: edits.remove_item(v, "trial", "in-advance", dt.datetime(2024, 1, 10)),
     "subscription 'sub-1': effective_at: must be a timezone-aware instant"),
    ("remove an item twice",
     lambda v: edits.remove_item(edits.remove_item(v, "trial", "in-advance", "2024-01-05T00:00:00Z"),
                                 "trial", "in-advance", "2024-01-10T00:00:00Z"),
     "subscription 'sub-1', phase 'trial', item 'in-advance': is not active at 2024-01-10T00:00:00Z"),
    ("add an item that is still active",
     lambda v: edits.add_item(v, "trial", flat("in-advance", "9"), "2024-01-10T00:00:00Z"),
     "subscription 'sub-1', phase 'trial', item 'in-advance': is still active at 2024-01-10T00:00:00Z; remove it"),
    ("add an invalid rate card",
     lambda v: edits.add_item(v, "trial", flat("extra", "-2"), "2024-01-10T00:00:00Z"),
     "subscription 'sub-1', phase 'trial', rate card 'extra': price.amount: must not be negative, got -2"),
    ("add a misaligned rate card",
     lambda v: edits.add_item(v, "trial", flat("extra", "2", cadence="P1W"), "2024-01-10T00:00:00Z"),
     "subscription 'sub-1', phase 'trial', item 'extra': billing cadence P1W is not aligned"),
    ("add a one-time usage item",
     lambda v: edits.add_item(v, "trial", {"key": "extra", "type": "usage_based", "price": {"type": "unit", "amount": "1"}},
                              "2024-01-10T00:00:00Z"),
     "subscription 'sub-1', phase 'trial', rate card 'extra': a usage_based rate card needs a billing_cadence"),
    ("cancel before the start",
     lambda v: edits.cancel(v, "2023-12-01T00:00:00Z"),
     "subscription 'sub-1': cannot be cancelled at 2023-12-01T00:00:00Z, before its start 2024-01-01T00:00:00Z"),
    ("continue without a cancellation",
     lambda v: edits.continue_subscription(v),
     "subscription 'sub-1': has no scheduled cancellation to continue"),
    ("edit after the subscription ended",
     lambda v: edits.remove_item(edits.cancel(v, "2024-01-15T00:00:00Z"), "trial", "in-advance", "2024-01-20T00:00:00Z"),
     "subscription 'sub-1': cannot be edited at 2024-01-20T00:00:00Z: it ends at 2024-01-15T00:00:00Z"),
    ("add a phase with an existing key",
     lambda v: edits.add_phase(v, "paid", "P2M"),
     "subscription 'sub-1', phase 'paid': already exists"),
    ("add a phase with a malformed key",
     lambda v: edits.add_phase(v, "Gold", "P2M"),
     "subscription 'sub-1', phase 'Gold': key: a key must match"),
    ("add a phase with a bad duration",
     lambda v: edits.add_phase(v, "gold", "two months"),
     "subscription 'sub-1', phase 'gold': start_after: not an ISO-8601 duration"),
    ("add a phase starting with another",
     lambda v: edits.add_phase(v, "gold", "P1M"),
     "subscription 'sub-1', phase 'gold': would start at 2024-02-01T00:00:00Z, together with phase 'paid'"),
    ("add a phase before the edit time",
     lambda v: edits.add_phase(v, "gold", "P5D", at="2024-01-10T00:00:00Z"),
     "subscription 'sub-1', phase 'gold': would start at 2024-01-06T00:00:00Z, before the edit time"),
    ("add a phase after the end",
     lambda v: edits.add_phase(edits.cancel(v, "2024-03-01T00:00:00Z"), "gold", "P3M"),
     "subscription 'sub-1', phase 'gold': would start at 2024-04-01T00:00:00Z, at or after the subscription end"),
    ("unknown edit op",
     lambda v: edits.edit_subscription(v, [{"rename_item": {}}], "2024-01-10T00:00:00Z"),
     "ops[0]: unknown edit 'rename_item'"),
    ("edit op with a missing argument",
     lambda v: edits.edit_subscription(v, [{"remove_item": {"phase": "trial"}}], "2024-01-10T00:00:00Z"),
     "ops[0]: remove_item: missing item"),
    ("edit op failing names its index",
     lambda v: edits.edit_subscription(
         v, [{"remove_item": {"phase": "trial", "item": "in-advance"}}, {"remove_item": {"phase": "trial", "item": "x"}}],
         "2024-01-10T00:00:00Z"),
     "ops[1] (remove_item): subscription 'sub-1', phase 'trial': has no item 'x'"),
]


@pytest.mark.parametrize("edit, message", [(e, m) for _, e, m in EDIT_ERRORS], ids=[c[0] for c in EDIT_ERRORS])
def test_invalid_edits_name_the_object(edit, message):
    with pytest.raises(SubscriptionValidationError) as err:
        edit(view_of(*TWO_PHASES))
    assert str(err.value).startswith(message), str(err.value)
