"""§11.3: properties of every build, on generated subscriptions with an empty persisted state.

Example counts and deadlines come from the hypothesis profile registered in ``tests/conftest.py``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from hypothesis import given

from subscriptions.prices import FlatPrice
from subscriptions.timeline import phase_cadences
from targetstate import NO_PERSISTED_STATE, TargetState, build_target_state, round_money, truncate
from targetstate.timemath import earlier_end
from tests.targetstate.strategies import BuildInputs, build_inputs


def build(inputs: BuildInputs) -> TargetState:
    return build_target_state(
        as_of=inputs.as_of,
        view=inputs.view,
        customer_deleted_at=inputs.customer_deleted_at,
        subscription_end_proration_mode=inputs.subscription_end_proration_mode,
        persisted=NO_PERSISTED_STATE,
    )


def effective_ends(state: TargetState, inputs: BuildInputs) -> dict[str, dt.datetime | None]:
    """Phase key → phase end, computed from the capped subscription the items carry."""
    if not state.items:
        return {}
    capped = state.items[0].subscription
    return {c.phase.key: c.end for c in phase_cadences(capped, inputs.view.phases)}


@given(build_inputs())
def test_service_periods_tile_each_version(inputs):
    state = build(inputs)
    phase_ends = effective_ends(state, inputs)
    by_version = defaultdict(list)
    for item in state.items:
        by_version[(item.phase_key, item.item_key, item.item_version)].append(item)
    for (phase_key, _key, _version), items in by_version.items():
        items.sort(key=lambda i: i.period_index)
        version = items[0].item
        effective_to = earlier_end(version.active_to, phase_ends[phase_key])
        lower = truncate(version.active_from)
        upper = None if effective_to is None else truncate(effective_to)
        for previous, following in zip(items, items[1:]):
            assert previous.period_index < following.period_index
            assert previous.service_period.end == following.service_period.start
        for item in items:
            sp = item.service_period
            open_instant = item.is_one_time and effective_to is None and isinstance(item.price, FlatPrice)
            assert sp.end > sp.start or (open_instant and sp.end == sp.start)
            assert lower <= sp.start
            assert upper is None or sp.end <= upper


@given(build_inputs())
def test_identities_are_unique(inputs):
    state = build(inputs)
    assert len(set(state.identities)) == len(state.items)


@given(build_inputs())
def test_invoice_at_never_precedes_the_billing_period(inputs):
    for item in build(inputs).items:
        assert item.invoice_at >= item.billing_period.start
        price = item.price
        if isinstance(price, FlatPrice) and price.payment_term == "in_advance":
            assert item.invoice_at == item.billing_period.start
        else:
            assert item.invoice_at >= item.service_period.end


@given(build_inputs())
def test_periods_nest_and_never_pass_the_subscription_end(inputs):
    for item in build(inputs).items:
        sp, full, billing = item.service_period, item.full_service_period, item.billing_period
        assert full.start <= sp.start and sp.end <= full.end
        assert billing.start <= billing.end
        active_to = item.subscription.active_to
        if active_to is not None:
            assert sp.end <= truncate(active_to)
            assert item.invoice_at <= truncate(active_to)


@given(build_inputs())
def test_proration_never_exceeds_the_list_price(inputs):
    for item in build(inputs).items:
        price = item.price
        if not isinstance(price, FlatPrice) or price.amount < 0:
            continue
        ceiling = round_money(price.amount, item.currency)
        assert 0 <= item.invoice_flat_amount <= ceiling
        assert 0 <= item.charge_flat_amount <= ceiling
        line = item.expected_line()
        if line is not None:
            assert 0 < line.price.amount <= ceiling


@given(build_inputs())
def test_the_build_is_deterministic_and_ordered(inputs):
    first, second = build(inputs), build(inputs)
    assert first == second
    order = {c.phase.key: i for i, c in enumerate(phase_cadences(inputs.view.subscription, inputs.view.phases))}
    keys = [(order[i.phase_key], i.item_key, i.item_version, i.period_index) for i in first.items]
    assert keys == sorted(keys)


@given(build_inputs())
def test_the_generation_limit_follows_the_rules_of_5_5(inputs):
    state = build(inputs)
    limit = state.max_generation_time_limit
    if state.items:
        capped = state.items[0].subscription
        ended = capped.active_to is not None and capped.active_to <= inputs.as_of
        assert (limit is None) == ended
    if limit is not None:
        assert limit.tzinfo is not None
