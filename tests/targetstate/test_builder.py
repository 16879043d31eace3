"""§5.1, §5.3, §5.5, §5.11, §2.4, §2.5: the whole build, its horizon, ordering, errors and logging."""

from __future__ import annotations

import datetime as dt

import pytest
from structlog.testing import capture_logs

from subscriptions.models import Phase, SubscriptionView
from targetstate import (
    NO_PERSISTED_STATE,
    TargetItem,
    TargetState,
    DuplicateIdentityError,
    InvalidCurrencyError,
    QueriedBeforeSubscriptionStart,
    TargetStateError,
    billing_period_at,
    build_target_state,
)
from targetstate.items import wrap_candidates
from targetstate.money import fiat_currency
from targetstate.schedule import Schedule
from targetstate.versions import Candidate
from tests.targetstate.harness import dur, flat, make_subscription, make_view, phase, rate_card, ts, unit, version


def build(view, as_of, **kw):
    kw.setdefault("customer_deleted_at", None)
    kw.setdefault("subscription_end_proration_mode", "")
    kw.setdefault("persisted", NO_PERSISTED_STATE)
    return build_target_state(as_of=as_of, view=view, **kw)


def monthly_view(**sub):
    cards = [rate_card("fee", flat(5), "P1M"), rate_card("usage", unit(1), "P1M")]
    return make_view(make_subscription(start=ts("2024-01-01"), **sub), [phase("default", "PT0S", *cards)])


def test_a_deleted_subscription_has_an_empty_target_and_the_limit_as_of():
    state = build(None, ts("2024-01-01"))
    assert state.items == () and state.max_generation_time_limit == ts("2024-01-01")


def test_as_of_is_required_and_must_be_aware():
    with pytest.raises(TargetStateError, match="as_of"):
        build(monthly_view(), None)
    with pytest.raises(TargetStateError, match="as_of must be timezone-aware"):
        build(monthly_view(), dt.datetime(2024, 1, 1))


def test_as_of_in_another_zone_is_converted_to_utc():
    cet = dt.timezone(dt.timedelta(hours=1))
    assert build(monthly_view(), dt.datetime(2024, 1, 10, 1, tzinfo=cet)) == build(monthly_view(), ts("2024-01-10"))


@pytest.mark.parametrize(
    "as_of, identities, limit",
    [
        ("2024-01-01", ["fee/v[0]/period[0]"], "2024-01-01"),
        ("2024-01-01T00:00:00.000001", ["fee/v[0]/period[0]", "fee/v[0]/period[1]", "usage/v[0]/period[0]"], "2024-02-01"),
        ("2024-01-20", ["fee/v[0]/period[0]", "fee/v[0]/period[1]", "usage/v[0]/period[0]"], "2024-02-01"),
        ("2023-12-01", ["fee/v[0]/period[0]"], "2024-01-01"),
    ],
    ids=["on a billing boundary", "a microsecond inside", "inside a period", "before the start"],
)
def test_horizon(as_of, identities, limit):
    state = build(monthly_view(), ts(as_of))
    assert state.identities == tuple(f"sub-1/default/{i}" for i in identities)
    assert state.max_generation_time_limit == ts(limit)


def test_a_phase_ending_exactly_at_as_of_stops_the_loop():
    card = rate_card("fee", flat(5), "P1M")
    view = make_view(make_subscription(start=ts("2024-01-01")), [phase("first", "PT0S", card), phase("second", "P1M", card)])
    state = build(view, ts("2024-02-01"))
    assert state.identities == ("sub-1/first/fee/v[0]/period[0]",)
    assert state.max_generation_time_limit == ts("2024-02-01")
    later = build(view, ts("2024-02-01T00:00:01"))
    assert "sub-1/second/fee/v[0]/period[0]" in later.identities


def test_items_come_in_phase_key_version_and_period_order():
    fee = rate_card("fee", flat(5), "P1M")
    view = make_view(
        make_subscription(start=ts("2024-01-01"), active_to=ts("2024-05-01")),
        [
            phase("b-later", "P2M", rate_card("zeta", unit(1), "P1M"), fee),
            phase("a-first", "PT0S", [version(fee, None, "P15D"), version(fee, "P15D")], rate_card("alpha", unit(1), "P1M")),
        ],
    )
    state = build(view, ts("2024-06-01"))
    keys = [(i.phase_key, i.item_key, i.item_version, i.period_index) for i in state.items]
    order = {"a-first": 0, "b-later": 1}
    assert keys == sorted(keys, key=lambda k: (order[k[0]], k[1], k[2], k[3]))
    assert keys[0][:2] == ("a-first", "alpha") and keys[-1][:2] == ("b-later", "zeta")


def test_the_build_does_not_mutate_its_input():
    view = monthly_view()
    snapshot = view.model_dump()
    build(view, ts("2024-02-10"), customer_deleted_at=ts("2024-02-01"))
    assert view.model_dump() == snapshot


def test_overflow_becomes_a_target_state_error_naming_the_subscription():
    view = make_view(
        make_subscription(start=ts("9999-01-01"), billing_cadence="P1Y"),
        [phase("default", "PT0S", rate_card("fee", flat(5), "P1Y"))],
    )
    with pytest.raises(TargetStateError) as err:
        build(view, ts("9999-06-01"))
    assert err.value.subscription_id == "sub-1" and err.value.customer_id == "cust-1"
    assert "out of range" in str(err.value) and str(err.value).startswith("subscription 'sub-1'")


def test_overflow_inside_a_version_names_phase_item_and_version():
    view = make_view(
        make_subscription(start=ts("9998-06-01"), billing_cadence="P1M"),
        [phase("default", "PT0S", rate_card("fee", flat(5, "in_arrears"), "P1Y"))],
    )
    with pytest.raises(TargetStateError) as err:
        build(view, ts("9999-06-15"))  # the fee's second year would end in 10000
    assert (err.value.phase_key, err.value.item_key, err.value.version) == ("default", "fee", 0)


def test_a_non_fiat_invoice_currency_fails_the_build():
    with pytest.raises(InvalidCurrencyError, match="'XAU' is not a fiat") as err:
        build(monthly_view(currency="XAU"), ts("2024-01-10"))
    assert err.value.subscription_id == "sub-1"


def test_duplicate_identities_raise():
    view = monthly_view()
    schedule = Schedule(view)
    cadence = schedule.cadence_of("default")
    item = view.phases[0].items_by_key["fee"][0]
    period = (ts("2024-01-01"), ts("2024-02-01"))
    candidate = Candidate(cadence, "fee", 0, 0, item, period, period, period, False, True)
    with pytest.raises(DuplicateIdentityError) as err:
        wrap_candidates([candidate, candidate], view.subscription, fiat_currency("USD"), "")
    assert err.value.identity == "sub-1/default/fee/v[0]/period[0]"


def test_the_period_cap_stops_a_version_after_1001_periods_with_a_warning():
    view = make_view(
        make_subscription(start=ts("2024-01-01"), billing_cadence="P1D", active_to=ts("2024-03-01")),
        [phase("default", "PT0S", rate_card("hourly", unit(1), "PT1H"))],
    )
    with capture_logs() as logs:
        state = build(view, ts("2024-03-02"))
    assert len(state.items) == 1001
    assert state.items[-1].period_index == 1000
    (warning,) = [e for e in logs if e["event"] == "targetstate.period_cap_reached"]
    assert warning["log_level"] == "warning" and warning["item_key"] == "hourly"
    assert warning["subscription_id"] == "sub-1" and warning["as_of"] == "2024-03-02T00:00:00+00:00"


def test_customer_deleted_before_the_subscription_end_caps_it():
    state = build(monthly_view(active_to=ts("2024-06-01")), ts("2024-01-10"), customer_deleted_at=ts("2024-03-15"))
    assert all(i.subscription.active_to == ts("2024-03-15") for i in state.items)
    assert state.max_generation_time_limit == ts("2024-02-01")


def test_customer_deleted_after_the_subscription_end_changes_nothing():
    view = monthly_view(active_to=ts("2024-03-01"))
    assert build(view, ts("2024-01-10"), customer_deleted_at=ts("2024-04-01")) == build(view, ts("2024-01-10"))


def test_customer_deleted_before_the_start_generates_nothing():
    state = build(monthly_view(), ts("2024-01-10"), customer_deleted_at=ts("2023-12-01"))
    assert state.items == () and state.max_generation_time_limit is None


class TestBillingPeriodAt:
    def view(self, **sub):
        card = rate_card("fee", flat(5), "P1M")
        return make_view(
            make_subscription(start=ts("2024-01-10"), anchor=ts("2024-01-01"), **sub),
            [phase("first", "PT0S", card), phase("second", "P1M", card)],
        )

    @pytest.mark.parametrize(
        "t, start, end",
        [
            ("2024-01-10", "2024-01-10", "2024-02-01"),  # clamped to the subscription start
            ("2024-02-05", "2024-02-01", "2024-02-10"),  # clamped to the phase end
            ("2024-02-10", "2024-02-10", "2024-03-01"),  # the next phase, never re-anchored
            ("2024-04-20", "2024-04-01", "2024-05-01"),
        ],
    )
    def test_aligned_and_clamped(self, t, start, end):
        p = billing_period_at(self.view(), ts(t))
        assert (p.start, p.end) == (ts(start), ts(end))

    def test_before_the_start_raises_its_own_error(self):
        with pytest.raises(QueriedBeforeSubscriptionStart):
            billing_period_at(self.view(), ts("2024-01-09"))
        assert issubclass(QueriedBeforeSubscriptionStart, TargetStateError)

    def test_far_past_the_end_the_pair_may_invert(self):
        p = billing_period_at(self.view(active_to=ts("2024-03-15")), ts("2024-06-10"))
        assert p.end == ts("2024-03-15") and p.start == ts("2024-06-01")


def test_phases_sharing_a_start_all_but_the_last_are_zero_length():
    card = rate_card("fee", flat(5), "P1M")
    view = make_view(
        make_subscription(start=ts("2024-01-01")),
        [phase("a", "PT0S", card, sort_hint=1), phase("b", "PT0S", card, sort_hint=2)],
    )
    assert {i.phase_key for i in build(view, ts("2024-01-10")).items} == {"b"}


def test_an_empty_phase_without_items_takes_no_part():
    view = SubscriptionView(
        subscription=make_subscription(start=ts("2024-01-01")),
        phases=(Phase(id="p", key="default", active_from=ts("2024-01-01"), start_after=dur("PT0S")),),
    )
    state = build(view, ts("2024-01-10"))
    assert state.items == () and state.max_generation_time_limit is None


def test_built_items_equal_validated_items():
    """The builder constructs its outputs without re-validation; validating them changes nothing."""
    state = build(monthly_view(active_to=ts("2024-03-15")), ts("2024-02-10"), customer_deleted_at=ts("2024-03-01"))
    assert state.items
    for item in state.items:
        assert TargetItem.model_validate(item.model_dump()) == item
        assert item.model_copy(update={"period_index": item.period_index}) == item
    assert TargetState.model_validate(state.model_dump()) == state


def test_trusted_construction_needs_every_field():
    from targetstate.trusted import trusted_constructor

    with pytest.raises(TypeError, match="exactly the fields"):
        trusted_constructor(TargetState)(items=())
