"""Malformed and overlapping running edits: refused by name, the view left as it was.

An ``edit_subscription`` step carries ops the user wrote: they may name phases and items that do not
exist, hold junk of any type, or open a version of an item that still runs (which would give one key two
overlapping versions). Views built in code (by edits or other packages) may also carry overlapping
versions. Each is a ``SubscriptionValidationError`` naming the subscription, phase and item; an
accepted edit always yields a view whose versions do not overlap; the input view never changes.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

import pytest
from hypothesis import assume, event, given
from hypothesis import strategies as st

from subscriptions import edits
from subscriptions.duration import Duration
from subscriptions.errors import SubscriptionValidationError
from subscriptions.models import SubscriptionView
from subscriptions.setup import parse_subscription
from subscriptions.timeline import phase_cadences, reschedule
from tests.badinput.checks import assert_clear, message_problems
from tests.badinput.documents import base_names, base_setup
from tests.badinput.scale import budget, tally
from tests.badinput.values import BAD_INSTANTS, hostile_keys, junk_containers, junk_scalars, ten_mb_strings

UTC = dt.timezone.utc


@lru_cache(maxsize=None)
def view_of(name: str) -> SubscriptionView:
    return parse_subscription(base_setup(name), clock=None)


@st.composite
def edit_times(draw, view: SubscriptionView):  # type: ignore[no-untyped-def]
    """Mostly a time within the subscription, sometimes one outside it or junk."""
    sub = view.subscription
    kind = draw(st.sampled_from(["inside"] * 6 + ["before", "after end", "junk"]))
    if kind == "junk":
        return draw(st.sampled_from(BAD_INSTANTS[:-1]))
    if kind == "before":
        return sub.active_from - draw(st.timedeltas(min_value=dt.timedelta(microseconds=1), max_value=dt.timedelta(days=400)))
    span = (sub.active_to - sub.active_from) if sub.active_to else dt.timedelta(days=800)
    offset = draw(st.timedeltas(min_value=dt.timedelta(0), max_value=max(span - dt.timedelta(seconds=1), dt.timedelta(0))))
    if kind == "after end" and sub.active_to is not None:
        return sub.active_to + offset
    return sub.active_from + offset


def _rate_card(view: SubscriptionView, draw) -> Any:  # type: ignore[no-untyped-def]
    cards = [v.rate_card for p in view.phases for vs in p.items_by_key.values() for v in vs]
    card = draw(st.sampled_from(cards)).model_dump(mode="json", exclude_none=True)
    card["feature"] = card.pop("feature_key", None) or None
    card["tax"] = card.pop("tax_config", None)
    card = {k: v for k, v in card.items() if v is not None}
    tweak = draw(st.sampled_from(["as is", "new key", "hostile key", "junk field", "bad amount", "junk"]))
    if tweak == "new key":
        card["key"] = draw(st.sampled_from(["added", "extra-fee", "z9"]))
    elif tweak == "hostile key":
        card["key"] = draw(hostile_keys)
    elif tweak == "junk field":
        card[draw(st.sampled_from(["colour", "Key", "prices"]))] = draw(junk_scalars)
    elif tweak == "bad amount" and isinstance(card.get("price"), dict):
        card["price"]["amount"] = draw(st.sampled_from(["-1", "NaN", 1.5, "1e999999999", "x"]))
    elif tweak == "junk":
        return draw(st.one_of(junk_scalars, junk_containers))
    return card


@st.composite
def edit_ops(draw, view: SubscriptionView):  # type: ignore[no-untyped-def]
    phases = [p.key for p in view.phases]
    items = sorted({k for p in view.phases for k in p.items_by_key})
    keys = st.one_of(st.sampled_from(phases + items), hostile_keys, junk_scalars, junk_containers)
    ops: list[Any] = []
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        kind = draw(st.sampled_from(["remove_item", "add_item", "add_phase", "junk op", "unknown op", "bad args"]))
        if kind == "remove_item":
            ops.append({"remove_item": {"phase": draw(st.one_of(st.sampled_from(phases), keys)),
                                        "item": draw(st.one_of(st.sampled_from(items or ["x"]), keys))}})
        elif kind == "add_item":
            ops.append({"add_item": {"phase": draw(st.one_of(st.sampled_from(phases), keys)),
                                     "rate_card": _rate_card(view, draw)}})
        elif kind == "add_phase":
            args = {"key": draw(st.one_of(st.sampled_from(["later", "renewal-2"] + phases), keys)),
                    "start_after": draw(st.one_of(st.sampled_from(["P1M", "P2M", "P1Y", "P10001Y", "PT0S", "-P1M", "P"]),
                                                  junk_scalars))}
            if draw(st.booleans()):
                args["rate_cards"] = draw(st.one_of(st.lists(st.builds(dict), max_size=0),
                                                    st.builds(lambda: [_rate_card(view, draw)]),
                                                    junk_scalars, st.just({"a": 1})))
            ops.append({"add_phase": args})
        elif kind == "junk op":
            ops.append(draw(st.one_of(junk_scalars, st.just({}), st.just({"remove_item": {}, "add_item": {}}),
                                      st.lists(junk_scalars, max_size=2))))
        elif kind == "unknown op":
            ops.append({draw(st.one_of(st.sampled_from(["rename_item", "cancel", "Remove_Item"]), ten_mb_strings)): {}})
        else:
            op = draw(st.sampled_from(["remove_item", "add_item", "add_phase"]))
            ops.append({op: draw(st.one_of(junk_scalars, st.just({}),
                                           st.dictionaries(st.one_of(st.sampled_from(["phase", "item", "zz"]), st.integers()),
                                                           junk_scalars, min_size=1, max_size=3)))})
    return ops


def _assert_no_overlap(view: SubscriptionView) -> None:
    """Re-validating the whole view checks every phase's versions (``Phase`` refuses overlaps)."""
    again = SubscriptionView.model_validate(view.model_dump())
    for phase in again.phases:
        for versions in phase.items_by_key.values():
            for earlier, later in zip(versions, versions[1:]):
                assert earlier.active_to is not None and earlier.active_to <= later.active_from


@budget("edits")
@given(st.sampled_from(base_names()).flatmap(lambda name: st.tuples(
    st.just(name), edit_ops(view_of(name)), edit_times(view_of(name)))))
def test_an_edit_is_applied_or_refused_by_name(case):  # type: ignore[no-untyped-def]
    tally("edits")
    name, ops, at = case
    view = view_of(name)
    before = view.model_dump()
    try:
        edited = edits.edit_subscription(view, ops, at)
    except SubscriptionValidationError as error:
        event("refused")
        problems = message_problems(str(error))
        assert not problems, f"{'; '.join(problems)}: {str(error)[:300]}"
    else:
        event("applied")
        _assert_no_overlap(edited)
    assert view.model_dump() == before, "the edit changed its input view"


def _open_phases(view: SubscriptionView, at: dt.datetime) -> list[str]:
    return [c.phase.key for c in phase_cadences(view.subscription, view.phases)
            if c.phase.items_by_key and (c.end is None or c.end > at)]


@budget("overlapping_edit")
@given(st.sampled_from(base_names()), st.data())
def test_adding_a_version_of_a_running_item_is_refused_as_an_overlap(name, data):  # type: ignore[no-untyped-def]
    view = view_of(name)
    sub = view.subscription
    at = data.draw(edit_times(view).filter(lambda t: isinstance(t, dt.datetime) and t >= sub.active_from
                                           and (sub.active_to is None or t < sub.active_to)))
    phases = _open_phases(view, at)
    assume(phases)
    tally("overlapping_edit")
    phase_key = data.draw(st.sampled_from(phases))
    phase = next(p for p in view.phases if p.key == phase_key)
    item = data.draw(st.sampled_from(sorted(phase.items_by_key)))
    card = phase.items_by_key[item][-1].rate_card.model_dump(mode="json", exclude_none=True)
    card.pop("feature_key", None), card.pop("tax_config", None)
    twice = data.draw(st.booleans())  # [add] alone, or [remove, add, add]: the second add overlaps the first
    ops = ([{"remove_item": {"phase": phase_key, "item": item}}, {"add_item": {"phase": phase_key, "rate_card": card}}]
           if twice else []) + [{"add_item": {"phase": phase_key, "rate_card": card}}]
    with pytest.raises(Exception) as raised:
        edits.edit_subscription(view, ops, at)
    assert_clear(raised.value, SubscriptionValidationError,
                 (f"ops[{len(ops) - 1}]", f"phase {phase_key!r}", f"item {item!r}", "still active"))


@budget("overlapping_view")
@given(st.sampled_from(base_names()), st.data())
def test_a_view_with_overlapping_versions_is_refused_naming_phase_and_item(name, data):  # type: ignore[no-untyped-def]
    """Versions built in code (not by the edit functions) that overlap: ``reschedule`` refuses the view."""
    view = view_of(name)
    sub = view.subscription
    cadences = [c for c in phase_cadences(sub, view.phases) if c.phase.items_by_key]
    cadence = data.draw(st.sampled_from(cadences))
    length = ((cadence.end or cadence.start + dt.timedelta(days=400)) - cadence.start).days
    assume(length >= 2)
    tally("overlapping_view")
    item = data.draw(st.sampled_from(sorted(cadence.phase.items_by_key)))
    first = cadence.phase.items_by_key[item][0]
    starts_at = data.draw(st.integers(min_value=0, max_value=length - 2))
    ends_at = data.draw(st.one_of(st.none(), st.integers(min_value=starts_at + 1, max_value=length)))
    earlier = first.model_copy(update={"active_to_override": None if ends_at is None else Duration(days=ends_at)})
    later = first.model_copy(update={"id": first.id + "-b", "active_from_override": Duration(days=starts_at)})
    phase = cadence.phase.model_copy(update={"items_by_key": {**cadence.phase.items_by_key, item: (earlier, later)}})
    phases = tuple(phase if p.key == phase.key else p for p in view.phases)
    with pytest.raises(Exception) as raised:
        reschedule(sub, phases)
    assert_clear(raised.value, SubscriptionValidationError,
                 (f"subscription {sub.id!r}", f"phase {phase.key!r}", f"item {item!r}", "overlap"))


@pytest.mark.parametrize("ops", [
    "remove everything", 5, None, {"remove_item": {"phase": "x", "item": "y"}},
    [{"remove_item": {"phase": ["unhashable"], "item": "fee"}}],
    [{"remove_item": {"phase": "paid", "item": {"un": "hashable"}}}],
    [{"add_phase": {"key": "later", "start_after": "P1M", "rate_cards": 5}}],
    [{"add_phase": {"key": "later", "start_after": "P1M", "rate_cards": "fee"}}],
    [{"add_phase": {"key": "later", "start_after": "P9000Y"}}],
    [{"add_item": {"phase": "paid", "rate_card": {"key": "fee", "type": "flat_fee", 1: "int key"}}}],
    [{"remove_item": {"phase": "paid", "item": "platform", 7: "int key"}}],
], ids=["text", "int", "none", "a mapping", "unhashable phase", "unhashable item", "int rate_cards",
        "text rate_cards", "start past year 9999", "int key in a rate card", "int key in args"])
def test_junk_ops_are_refused_not_crashed(ops):
    view = view_of("rich")
    with pytest.raises(Exception) as raised:
        edits.edit_subscription(view, ops, view.subscription.active_from + dt.timedelta(days=20))
    assert_clear(raised.value, SubscriptionValidationError)


def test_an_overlapping_edit_step_fails_and_changes_nothing(tmp_path):
    """Through the scenario runner: the step's error is a ValidationError naming the item, and the state
    after it equals the state before it (the step's transaction rolled back)."""
    from subsync.scenario.runner import run_scenario
    from tests.badinput.documents import to_yaml

    document = dict(base_setup("example-subscription.yaml"))
    support = next(card for card in document["plan"]["phases"][1]["rate_cards"] if card["key"] == "support")
    document["steps"] = [
        {"do": "sync", "as_of": "2024-02-10T00:00:00Z"},
        {"do": "edit_subscription", "effective_at": "2024-02-01T00:00:00Z",
         "ops": [{"add_item": {"phase": "paid", "rate_card": support}}]},
    ]
    path = tmp_path / "overlap.yaml"
    path.write_bytes(to_yaml(document) or b"")
    before, after = (step.state for step in run_scenario(path).steps)
    assert after["error"]["type"] == "ValidationError"
    assert_clear(ValueError(after["error"]["message"]), ValueError, ("item 'support'", "still active"))
    assert before["invoices"], "the sync wrote lines"
    moving = {"step", "at", "do", "error", "plan"}
    assert {k: v for k, v in after.items() if k not in moving} == {k: v for k, v in before.items() if k not in moving}
