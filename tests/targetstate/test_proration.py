"""§8.3–§8.5 and §10.2: proration, amounts on both backends, and the end-proration mode."""

from __future__ import annotations

from decimal import Decimal

import pytest
from structlog.testing import capture_logs

from targetstate import NO_PERSISTED_STATE, build_target_state
from tests.targetstate.harness import flat, make_subscription, make_target_item, make_view, phase, rate_card, ts, unit


@pytest.mark.parametrize(
    "mode, expected",
    [("bill_full_period", False), ("bill_actual_period", True), ("", True), ("unknown", True)],
    ids=["bill_full_period", "bill_actual_period", "unset", "unknown"],
)
def test_should_prorate_and_the_end_proration_mode(mode, expected):
    """§10.2: the subscription ends exactly at the service end."""
    item = make_target_item(
        flat(10, "in_advance"),
        ("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"),
        active_to="2026-02-01T00:00:00Z",
        mode=mode,
    )
    assert item.should_prorate is expected


WORKED_VALUES = [
    ("S-002", 9, "in_arrears", ("2024-01-01", "2024-02-01"), ("2024-01-01", "2024-04-01"), "0.3406593406593407", "3.07"),
    (
        "S-004 / S-005",
        20,
        "in_advance",
        ("2024-01-21T21:55:18", "2024-02-01"),
        ("2024-01-01", "2024-02-01"),
        "0.3253741039426523",
        "6.51",
    ),
    ("S-032 phase 1", 5, "in_advance", ("2024-01-01", "2024-01-15"), ("2024-01-01", "2024-02-01"), "0.4516129032258065", "2.26"),
    (
        "S-032 phase 2 first period",
        5,
        "in_advance",
        ("2024-01-15", "2024-02-01"),
        ("2024-01-01", "2024-02-01"),
        "0.5483870967741935",
        "2.74",
    ),
    (
        "one-hour version of a monthly fee",
        1,
        "in_advance",
        ("2024-01-10T00:00", "2024-01-10T01:00"),
        ("2024-01-01", "2024-02-01"),
        "0.0013440860215054",
        "0.00",
    ),
]


@pytest.mark.parametrize(
    "amount, term, service, full, factor, result",
    [case[1:] for case in WORKED_VALUES],
    ids=[case[0] for case in WORKED_VALUES],
)
def test_worked_values(amount, term, service, full, factor, result):
    """§8.5: USD, proration enabled with prorate_prices, bill_actual_period."""
    item = make_target_item(flat(amount, term), service, full, mode="bill_actual_period")
    assert item.period_percentage == Decimal(factor)
    assert item.invoice_flat_amount == Decimal(result)
    assert item.charge_flat_amount == Decimal(result)
    assert item.charge_amount_before_proration == Decimal(amount)
    line = item.expected_line()
    if Decimal(result) == 0:
        assert line is None  # a zero per-unit amount means no line
    else:
        assert line is not None and line.price.amount == Decimal(result)
        assert line.price.payment_term == term


def test_bill_full_period_bills_a_late_start_in_full_when_the_cancellation_lands_on_its_end():
    """Q6 (kept): bill_full_period applies to any period whose service end reaches the subscription end."""
    item = make_target_item(
        flat(20),
        ("2024-01-21T21:55:18", "2024-02-01"),
        ("2024-01-01", "2024-02-01"),
        active_to="2024-02-01",
        mode="bill_full_period",
    )
    assert item.invoice_flat_amount == Decimal("20.00")
    # the charge backend ignores the end-proration mode (§8.4)
    assert item.charge_flat_amount == Decimal("6.51")


def test_proration_disabled_bills_the_list_price_on_both_backends():
    item = make_target_item(flat("5.005"), ("2024-01-15", "2024-02-01"), ("2024-01-01", "2024-02-01"), pro_rating=False)
    assert not item.should_prorate
    assert item.invoice_flat_amount == Decimal("5.01")
    assert item.charge_flat_amount == Decimal("5.01")


def test_an_instant_is_never_prorated():
    item = make_target_item(flat(5), ("2024-01-01", "2024-01-01"), ("2024-01-01", "2024-01-01"), cadence=None)
    assert item.invoice_flat_amount == Decimal("5.00")
    assert item.charge_flat_amount == Decimal("5.00")


def test_usage_prices_have_no_flat_amount_and_are_never_prorated():
    item = make_target_item(unit(10), ("2024-01-15", "2024-02-01"), ("2024-01-01", "2024-02-01"))
    assert not item.should_prorate
    assert item.invoice_flat_amount is None and item.charge_flat_amount is None
    assert item.expected_line().price == unit(10)


def test_zero_amount_flat_fee_has_no_line_but_still_a_charge_amount():
    item = make_target_item(flat(0), ("2024-01-01", "2024-02-01"))
    assert item.expected_line() is None
    assert item.charge_flat_amount == Decimal("0.00")


def test_minor_units_follow_the_currency():
    item = make_target_item(flat("1000"), ("2024-01-15", "2024-02-01"), ("2024-01-01", "2024-02-01"), currency="JPY")
    assert item.invoice_flat_amount == Decimal("548")  # 1000 × 0.5483870967741935 = 548.387…


def test_an_unknown_end_proration_mode_is_logged_and_behaves_like_bill_actual_period():
    start = ts("2024-01-01")
    view = make_view(
        make_subscription(start=start, active_to=ts("2024-01-15")),
        [phase("default", "PT0S", rate_card("fee", flat(5), "P1M"))],
    )
    with capture_logs() as logs:
        state = build_target_state(
            as_of=ts("2024-01-02"),
            view=view,
            customer_deleted_at=None,
            subscription_end_proration_mode="bill_sometimes",
            persisted=NO_PERSISTED_STATE,
        )
    assert [e for e in logs if e["event"] == "targetstate.unknown_end_proration_mode" and e["log_level"] == "warning"]
    (item,) = state.items
    assert item.invoice_flat_amount == Decimal("2.26")
