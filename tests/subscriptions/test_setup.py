"""Reading the setup keys of a scenario file into a SubscriptionView (scenario-format §1)."""

from __future__ import annotations

import datetime as dt
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from subscriptions.duration import Duration
from subscriptions.errors import SubscriptionValidationError
from subscriptions.prices import FlatPrice, TieredPrice
from subscriptions.setup import (
    custom_currency_codes,
    has_custom_currency_items,
    load_setup_file,
    parse_subscription,
    read_setup,
    setups_in,
)

UTC = dt.timezone.utc
FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "example-subscription.yaml"


def t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "setup.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def minimal(**plan: object) -> dict:
    return {
        "clock": "2024-01-01T00:00:00Z",
        "plan": {
            "phases": [
                {
                    "key": "default",
                    "rate_cards": [
                        {"key": "fee", "type": "flat_fee", "price": {"type": "flat", "amount": "5"}, "billing_cadence": "P1M"}
                    ],
                }
            ],
            **plan,
        },
    }


def test_defaults_follow_the_scenario_format():
    view = parse_subscription(minimal(), clock=t("2024-01-01T00:00:00Z"))
    sub = view.subscription
    assert sub.id == "sub-1"
    assert sub.customer_id == "test-customer"
    assert sub.active_from == t("2024-01-01T00:00:00Z")
    assert sub.billing_anchor == sub.active_from
    assert sub.active_to is None
    assert sub.invoice_currency == "USD"
    assert sub.billing_cadence == Duration(months=1)
    assert sub.pro_rating_config.enabled is True and sub.pro_rating_config.mode == "prorate_prices"
    assert sub.settlement_mode == "credit_then_invoice"
    assert sub.plan_key == "test-plan"
    (item,) = view.phases[0].items_by_key["fee"]
    assert isinstance(item.rate_card.price, FlatPrice)
    assert item.rate_card.price.payment_term == "in_advance"
    assert (item.active_from, item.active_to) == (sub.active_from, None)


def test_start_defaults_to_the_clock_and_the_anchor_to_the_start():
    view = parse_subscription(minimal(), clock="2024-03-05T10:00:00+02:00")
    assert view.subscription.active_from == t("2024-03-05T08:00:00Z")
    assert view.subscription.active_from.tzinfo == UTC
    assert view.subscription.billing_anchor == view.subscription.active_from


def test_clock_is_read_from_the_setup_when_not_given():
    setup = minimal()
    setup["clock"] = "2024-02-02T00:00:00Z"
    assert parse_subscription(setup, clock=None).subscription.active_from == t("2024-02-02T00:00:00Z")


def test_explicit_subscription_keys_win():
    setup = minimal()
    setup["subscription"] = {
        "id": "acme-pro",
        "start": "2024-01-10T00:00:00Z",
        "billing_anchor": "2024-01-01T00:00:00Z",
        "end": "2024-03-01T00:00:00Z",
    }
    setup["customer"] = {"key": "acme"}
    view = parse_subscription(setup, clock=t("2024-01-01T00:00:00Z"))
    sub = view.subscription
    assert (sub.id, sub.customer_id) == ("acme-pro", "acme")
    assert (sub.active_from, sub.billing_anchor, sub.active_to) == (
        t("2024-01-10T00:00:00Z"),
        t("2024-01-01T00:00:00Z"),
        t("2024-03-01T00:00:00Z"),
    )
    (item,) = view.phases[0].items_by_key["fee"]
    assert (item.active_from, item.active_to) == (t("2024-01-10T00:00:00Z"), t("2024-03-01T00:00:00Z"))


def test_phase_starts_add_the_summed_durations_in_one_anchored_step():
    # Jan 31 + P1M + P1M is Mar 31 (one step: + P2M), not Mar 29 (Feb 29 + P1M).
    setup = minimal()
    card = setup["plan"]["phases"][0]["rate_cards"][0]
    setup["plan"]["phases"] = [
        {"key": "one", "duration": "P1M", "rate_cards": [card]},
        {"key": "two", "duration": "P1M", "rate_cards": [card]},
        {"key": "three", "rate_cards": [card]},
    ]
    view = parse_subscription(setup, clock=t("2024-01-31T00:00:00Z"))
    starts = {p.key: p.active_from for p in view.phases}
    assert starts == {
        "one": t("2024-01-31T00:00:00Z"),
        "two": t("2024-02-29T00:00:00Z"),
        "three": t("2024-03-31T00:00:00Z"),
    }
    assert [p.start_after for p in view.phases] == [Duration(), Duration(months=1), Duration(months=2)]
    ranges = {p.key: [(v.active_from, v.active_to) for v in p.items_by_key["fee"]] for p in view.phases}
    assert ranges["one"] == [(t("2024-01-31T00:00:00Z"), t("2024-02-29T00:00:00Z"))]
    assert ranges["two"] == [(t("2024-02-29T00:00:00Z"), t("2024-03-31T00:00:00Z"))]
    assert ranges["three"] == [(t("2024-03-31T00:00:00Z"), None)]


def test_ids_are_deterministic_and_distinct():
    first = parse_subscription(minimal(), clock=t("2024-01-01T00:00:00Z"))
    second = parse_subscription(minimal(), clock=t("2024-01-01T00:00:00Z"))
    assert first == second
    (item,) = first.phases[0].items_by_key["fee"]
    assert first.phases[0].id != item.id
    assert item.id.startswith(first.phases[0].id)


def test_rate_card_file_names_map_to_the_model():
    setup = minimal()
    setup["plan"]["phases"][0]["rate_cards"] = [
        {
            "key": "api",
            "type": "usage_based",
            "feature": "api-requests-total",
            "tax": {"behavior": "exclusive", "code": "txcd_10000000"},
            "discounts": {"percentage": "100"},
            "billing_cadence": "P1M",
            "price": {
                "type": "tiered",
                "mode": "graduated",
                "tiers": [{"up_to": "100", "unit_price": "0.1"}, {"up_to": None, "unit_price": "0.05", "flat_price": "1"}],
                "minimum_amount": "5",
            },
        },
        {"key": "free", "type": "flat_fee", "price": None},
    ]
    phase = parse_subscription(setup, clock=t("2024-01-01T00:00:00Z")).phases[0]
    card = phase.items_by_key["api"][0].rate_card
    assert card.feature_key == "api-requests-total"
    assert card.tax_config is not None and card.tax_config.code == "txcd_10000000"
    assert card.discounts is not None and card.discounts.percentage == Decimal(100)
    assert isinstance(card.price, TieredPrice) and card.price.minimum_amount == Decimal(5)
    assert phase.items_by_key["free"][0].rate_card.price is None
    assert phase.items_by_key["free"][0].rate_card.billing_cadence is None


def test_custom_currency_prices_keep_their_code():
    setup = minimal()
    setup["currencies"] = [{"code": "CREDITS", "precision": 2}]
    setup["plan"]["phases"][0]["rate_cards"].append(
        {"key": "credits-fee", "type": "flat_fee", "price": {"type": "flat", "amount": "1", "currency": "CREDITS"}}
    )
    view = parse_subscription(setup, clock=t("2024-01-01T00:00:00Z"))
    assert view.phases[0].items_by_key["credits-fee"][0].rate_card.price.currency == "CREDITS"
    assert custom_currency_codes(setup) == {"CREDITS"}
    assert has_custom_currency_items(view, custom_currency_codes(setup))
    assert not has_custom_currency_items(parse_subscription(minimal(), clock=t("2024-01-01T00:00:00Z")), {"CREDITS"})


def test_load_keeps_times_as_text_and_reads_steps_files_as_is(tmp_path):
    path = write(
        tmp_path,
        """
        name: a scenario
        clock: 2024-01-01T00:00:00.123456Z
        plan:
          phases:
            - key: default
              rate_cards:
                - {key: fee, type: flat_fee, price: {type: flat, amount: "5"}, billing_cadence: P1M}
        steps:
          - {do: sync, as_of: 2024-01-15T00:00:00Z}
        """,
    )
    document = load_setup_file(path)
    assert document["clock"] == "2024-01-01T00:00:00.123456Z"
    view = parse_subscription(document, clock=None)
    assert view.subscription.active_from == t("2024-01-01T00:00:00.123456Z")


def test_setups_list_shares_the_top_level_keys(tmp_path):
    path = write(
        tmp_path,
        """
        clock: 2024-01-01T00:00:00Z
        setups:
          - subscription: {id: one}
            plan: {phases: [{key: default, rate_cards: []}]}
          - subscription: {id: two}
            clock: 2024-02-01T00:00:00Z
            plan: {phases: [{key: default, rate_cards: []}]}
        """,
    )
    views = [parse_subscription(s, clock=None) for s in setups_in(load_setup_file(path))]
    assert [(v.subscription.id, v.subscription.active_from) for v in views] == [
        ("one", t("2024-01-01T00:00:00Z")),
        ("two", t("2024-02-01T00:00:00Z")),
    ]


def test_load_names_the_file_on_bad_yaml(tmp_path):
    path = write(tmp_path, "plan: [unclosed\n")
    with pytest.raises(SubscriptionValidationError, match=r"setup\.yaml: not valid YAML at line \d+"):
        load_setup_file(path)


def test_load_rejects_a_document_that_is_not_a_mapping(tmp_path):
    path = write(tmp_path, "- a\n- b\n")
    with pytest.raises(SubscriptionValidationError, match="setup.yaml: a setup file holds a mapping"):
        load_setup_file(path)


def test_customer_billing_profile_is_read_and_validated():
    setup = minimal()
    setup["customer"] = {"billing_profile": {"invoicing": {"subscription_end_proration_mode": "bill_full_period"}}}
    assert read_setup(setup).customer.billing_profile.invoicing.subscription_end_proration_mode == "bill_full_period"
    setup["customer"] = {"billing_profile": {"invoicing": {"subscription_end_proration_mode": "bill_half"}}}
    with pytest.raises(SubscriptionValidationError) as err:
        read_setup(setup)
    assert str(err.value).startswith(
        "customer 'test-customer': billing_profile.invoicing.subscription_end_proration_mode: must be one of"
    )
    assert "'bill_half'" in str(err.value)


def test_example_fixture_parses():
    document = load_setup_file(FIXTURE)
    view = parse_subscription(document, clock=None)
    assert [p.key for p in view.phases] == ["trial", "paid"]
    paid = view.phases[1]
    prices = {key: versions[0].rate_card.price for key, versions in paid.items_by_key.items()}
    assert {type(p).__name__ for p in prices.values()} >= {"FlatPrice", "TieredPrice"}
    terms = {p.payment_term for p in prices.values() if isinstance(p, FlatPrice)}
    assert terms == {"in_advance", "in_arrears"}
