"""§8.1 and §8.2: billability and the expected line of the invoice backend."""

from __future__ import annotations

from decimal import Decimal

import pytest

from subscriptions.models import Discounts, TaxConfig
from targetstate import Currency, InvalidCurrencyError
from tests.targetstate.harness import flat, make_target_item, ts, unit


def test_flat_fee_line_carries_the_per_unit_amount_and_the_rate_card_fields():
    item = make_target_item(
        flat("10", "in_advance"),
        ("2024-01-15", "2024-02-01"),
        ("2024-01-01", "2024-02-01"),
        name="Platform fee",
        description="monthly",
        tax_config=TaxConfig(behavior="exclusive", code="txcd_1"),
        discounts=Discounts(percentage=Decimal("10")),
        feature_key="platform",
    )
    line = item.expected_line()
    assert line is not None
    assert line.name == "Platform fee" and line.description == "monthly"
    assert line.managed_by == "subscription"
    assert line.currency == "USD" and line.namespace == "default"
    assert line.child_unique_reference_id == item.unique_id == "sub-1/default/fee/v[0]/period[0]"
    assert line.tax_config == TaxConfig(behavior="exclusive", code="txcd_1")
    assert line.rate_card_discounts == Discounts(percentage=Decimal("10"))
    assert line.feature_key == "platform"
    assert line.service_period == item.service_period
    assert line.invoice_at == ts("2024-01-01")
    assert line.price == flat("5.48", "in_advance")  # 10 × 17/31
    ref = line.subscription_reference
    assert (ref.subscription_id, ref.phase_id, ref.item_id) == ("sub-1", "phase-1", "item-1")
    assert ref.billing_period == item.billing_period
    assert line.unit_config is None
    assert "full_service_period" not in type(line).model_fields


def test_a_line_without_a_rate_card_name_is_named_after_the_key():
    assert make_target_item(flat(1), ("2024-01-01", "2024-02-01")).expected_line().name == "fee"


def test_usage_line_keeps_the_price_and_copies_the_unit_config():
    unit_config = {"operation": "divide", "conversion_factor": "1000", "nested": {"a": 1}}
    item = make_target_item(
        unit("0.5"), ("2024-01-15", "2024-02-01"), ("2024-01-01", "2024-02-01"), type="usage_based", unit_config=unit_config
    )
    line = item.expected_line()
    assert line.price == unit("0.5")
    assert line.unit_config == unit_config
    assert line.unit_config is not item.rate_card.unit_config
    assert line.unit_config["nested"] is not item.rate_card.unit_config["nested"]
    assert line.invoice_at == ts("2024-02-01")


@pytest.mark.parametrize(
    "price, cadence, full, billable",
    [
        (None, "P1M", ("2024-01-01", "2024-02-01"), False),
        (flat(5, "in_arrears"), None, ("2024-01-01", "2024-01-01"), False),
        (flat(5, "in_advance"), None, ("2024-01-01", "2024-01-01"), True),
        (flat(5, "in_arrears"), "P1M", ("2024-01-01", "2024-02-01"), True),
        (unit(1), "P1M", ("2024-01-01", "2024-02-01"), True),
    ],
    ids=["no price", "in arrears, empty full period", "in advance instant", "in arrears", "usage"],
)
def test_is_billable(price, cadence, full, billable):
    item = make_target_item(price, full, full, cadence=cadence)
    assert item.is_billable is billable
    if not billable:
        assert item.expected_line() is None


def test_expected_line_refuses_a_non_fiat_currency():
    item = make_target_item(flat(5), ("2024-01-01", "2024-02-01"))
    gold = item.model_copy(update={"currency": Currency(code="XAU", minor_units=2)})
    with pytest.raises(InvalidCurrencyError) as err:
        gold.expected_line()
    assert err.value.identity == item.unique_id
