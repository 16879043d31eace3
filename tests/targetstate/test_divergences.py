"""One example per DIVERGES rule (Q1, Q2, Q4, Q5, Q7, Q9, Q10) and the kept rules Q3, Q8, Q12."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError
from structlog.testing import capture_logs

from subscriptions.prices import FlatPrice
from targetstate import NO_PERSISTED_STATE, build_target_state, generate_phase
from tests.targetstate.harness import dur, flat, make_subscription, make_view, phase, rate_card, ts, unit, version


def build(view, as_of, customer_deleted_at=None):
    return build_target_state(
        as_of=as_of,
        view=view,
        customer_deleted_at=customer_deleted_at,
        subscription_end_proration_mode="bill_actual_period",
        persisted=NO_PERSISTED_STATE,
    )


def events(logs, name):
    return [e for e in logs if e["event"] == name]


def test_q1_zero_length_recurring_flat_version_produces_no_item():
    """The baseline keeps an empty flat period as a full-price instant; subsync drops it."""
    card = rate_card("fee", flat(5), "P1M")
    view = make_view(
        make_subscription(start=ts("2024-01-01")),
        [phase("default", "PT0S", [version(card, None, "P10D"), version(card, "P10D", "P10D"), version(card, "P10D")])],
    )
    items = generate_phase(view, "default", ts("2024-01-15"))
    assert [i.unique_id for i in items] == ["sub-1/default/fee/v[0]/period[0]", "sub-1/default/fee/v[2]/period[0]"]


def test_q1_sub_second_recurring_version_is_empty_after_truncation_and_dropped():
    card = rate_card("fee", flat(5), "P1M")
    start = ts("2024-01-01T00:00:00.100000")
    view = make_view(
        make_subscription(start=start),
        [phase("default", "PT0S", [version(card, None, "P10D"), version(card, "P10D", "P10DT0.5S"), version(card, "P10DT0.5S")])],
    )
    items = generate_phase(view, "default", ts("2024-01-15"))
    assert [i.unique_id for i in items] == ["sub-1/default/fee/v[0]/period[0]", "sub-1/default/fee/v[2]/period[0]"]
    assert items[1].service_period.start == ts("2024-01-11")


def test_q2_one_time_version_starting_at_the_subscription_end_produces_no_item():
    """The baseline emits a full-price instant at the end."""
    setup_fee = rate_card("setup", flat(50), None)
    view = make_view(
        make_subscription(start=ts("2024-01-01"), active_to=ts("2024-01-10")),
        [phase("default", "PT0S", rate_card("fee", flat(5), "P1M"), [version(setup_fee, "P15D")])],
    )
    assert view.phases[0].items_by_key["setup"][0].active_from == ts("2024-01-10")  # persisted as [01-10, 01-10]
    with capture_logs() as logs:
        state = build(view, ts("2024-01-05"))
    assert state.identities == ("sub-1/default/fee/v[0]/period[0]",)
    (warning,) = events(logs, "targetstate.one_time_after_end")
    assert warning["log_level"] == "warning"
    assert (warning["phase_key"], warning["item_key"], warning["version"]) == ("default", "setup", 0)


def test_q4_zero_length_one_time_version_in_a_phase_with_an_end_is_skipped_not_an_error():
    """The baseline fails the build ("service period is empty")."""
    setup_fee = rate_card("setup", flat(50), None)
    monthly = rate_card("fee", flat(5), "P1M")
    view = make_view(
        make_subscription(start=ts("2024-01-01")),
        [
            phase("trial", "PT0S", monthly, [version(setup_fee, "P5D", "P5D")]),
            phase("paid", "P14D", monthly),
        ],
    )
    with capture_logs() as logs:
        state = build(view, ts("2024-01-02"))
    assert not [i for i in state.items if i.item_key == "setup"]
    (warning,) = events(logs, "targetstate.degenerate_one_time_version")
    assert warning["log_level"] == "warning" and warning["item_key"] == "setup"


def test_q3_one_time_fee_ending_before_the_phase_end_is_prorated_over_the_phase():
    setup_fee = rate_card("setup", flat(10), None)
    view = make_view(
        make_subscription(start=ts("2024-01-01")),
        [phase("trial", "PT0S", [version(setup_fee, None, "P5D")]), phase("paid", "P10D", rate_card("fee", flat(5), "P1M"))],
    )
    (item,) = [i for i in build(view, ts("2024-01-02")).items if i.item_key == "setup"]
    assert (item.service_period.start, item.service_period.end) == (ts("2024-01-01"), ts("2024-01-06"))
    assert (item.full_service_period.start, item.full_service_period.end) == (ts("2024-01-01"), ts("2024-01-11"))
    assert item.invoice_flat_amount == Decimal("5.00")


def test_q5_customer_deletion_clamps_the_last_service_period_and_its_invoice_at():
    """The baseline leaves item ranges uncapped, so the last period runs past the deletion."""
    cards = [rate_card("usage", unit(2), "P1M"), rate_card("support", flat(30, "in_arrears"), "P1M")]
    view = make_view(make_subscription(start=ts("2024-01-01")), [phase("default", "PT0S", *cards)])
    deleted_at = ts("2024-01-10T12:00")
    state = build(view, ts("2024-01-20"), customer_deleted_at=deleted_at)
    assert {i.item_key for i in state.items} == {"usage", "support"}
    for item in state.items:
        assert item.service_period.end == deleted_at
        assert item.billing_period.end == deleted_at
        assert item.invoice_at == deleted_at
        assert item.subscription.active_to == deleted_at
    assert view.subscription.active_to is None  # the input is not mutated
    assert state.max_generation_time_limit is None  # ended (Q10)


@pytest.mark.parametrize("given", [{}, {"payment_term": None}, {"payment_term": ""}], ids=["missing", "null", "empty"])
def test_q7_a_flat_price_without_a_term_is_in_advance(given):
    """The baseline treats an empty term inconsistently; subsync normalises it when parsing."""
    price = FlatPrice.model_validate({"amount": "5", **given})
    assert price.payment_term == "in_advance"
    view = make_view(make_subscription(start=ts("2024-01-01")), [phase("default", "PT0S", rate_card("fee", price, "P1M"))])
    item = build(view, ts("2024-01-15")).items[-1]
    assert item.invoice_at == item.billing_period.start == ts("2024-02-01")


def test_q7_an_unknown_payment_term_is_invalid_input():
    with pytest.raises(ValidationError):
        FlatPrice.model_validate({"amount": "5", "payment_term": "whenever"})


def test_q9_no_priced_version_generates_nothing_and_no_resync():
    """The baseline records next_sync_after = now."""
    view = make_view(make_subscription(start=ts("2024-01-01")), [phase("default", "PT0S", rate_card("fee", None, "P1M"))])
    state = build(view, ts("2024-01-15"))
    assert state.items == () and state.max_generation_time_limit is None


def test_q9_a_phase_whose_priced_versions_have_empty_windows_does_not_take_part():
    """The baseline gives such a phase an infinite (9999-12-31) limit."""
    card = rate_card("fee", flat(5), "P1M")
    start = ts("2024-01-01T00:00:00.100000")
    view = make_view(
        make_subscription(start=start),
        [phase("default", "PT0S", [version(rate_card("fee", None, "P1M"), None, "P3D"), version(card, "P3D", "P3DT0.5S")])],
    )
    state = build(view, ts("2024-01-15"))
    assert state.items == () and state.max_generation_time_limit is None


def test_q10_an_ended_subscription_generates_everything_and_needs_no_resync():
    """The baseline returns the subscription end, a time in the past."""
    cards = [rate_card("fee", flat(5), "P1M"), rate_card("usage", unit(1), "P1M")]
    view = make_view(make_subscription(start=ts("2024-01-01"), active_to=ts("2024-03-01")), [phase("default", "PT0S", *cards)])
    state = build(view, ts("2024-06-01"))
    assert state.max_generation_time_limit is None
    assert state.identities == (
        "sub-1/default/fee/v[0]/period[0]",
        "sub-1/default/fee/v[0]/period[1]",
        "sub-1/default/usage/v[0]/period[0]",
        "sub-1/default/usage/v[0]/period[1]",
    )
    assert max(i.invoice_at for i in state.items) == ts("2024-03-01")


def test_q8_a_version_starting_after_the_phase_end_stops_its_key():
    card = rate_card("fee", flat(5), "P1D")
    view = make_view(
        make_subscription(start=ts("2024-01-01"), billing_cadence="P1D"),
        [phase("first", "PT0S", [version(card, None, "P1D"), version(card, "P5D")]), phase("second", dur("P3D"), card)],
    )
    items = generate_phase(view, "first", ts("2024-01-10"))
    assert [i.unique_id for i in items] == ["sub-1/first/fee/v[0]/period[0]"]


def test_q12_a_free_current_phase_lets_the_next_paid_phase_pre_provision_its_first_fee():
    free = rate_card("fee", None, "P1M")
    paid = rate_card("fee", flat(5), "P1M")
    usage = rate_card("usage", unit(1), "P1M")
    view = make_view(
        make_subscription(start=ts("2024-01-01")),
        [phase("trial", "PT0S", free), phase("paid", "P1M", paid, usage)],
    )
    state = build(view, ts("2024-01-10"))
    assert state.identities == ("sub-1/paid/fee/v[0]/period[0]",)  # usage is not pre-provisioned
    assert state.max_generation_time_limit == ts("2024-02-01")
