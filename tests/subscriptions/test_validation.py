"""Every validation rule of the setup input fails with a message naming the object and the field."""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from subscriptions.duration import Duration
from subscriptions.errors import SubscriptionValidationError
from subscriptions.models import Phase, RateCard, Subscription, SubscriptionItem
from subscriptions.setup import parse_subscription
from subscriptions.timeline import reschedule

UTC = dt.timezone.utc
BASE = {
    "clock": "2024-01-01T00:00:00Z",
    "plan": {
        "phases": [
            {
                "key": "trial",
                "duration": "P1M",
                "rate_cards": [
                    {"key": "in-advance", "type": "flat_fee", "price": {"type": "flat", "amount": "5"}, "billing_cadence": "P1M"}
                ],
            },
            {
                "key": "paid",
                "rate_cards": [
                    {
                        "key": "api",
                        "type": "usage_based",
                        "feature": "api-requests-total",
                        "price": {"type": "unit", "amount": "1"},
                        "billing_cadence": "P1M",
                    }
                ],
            },
        ]
    },
}
TRIAL_CARD = "phase 'trial', rate card 'in-advance': "
API_CARD = "phase 'paid', rate card 'api': "


def card(setup: dict, phase: int = 0) -> dict:
    return setup["plan"]["phases"][phase]["rate_cards"][0]


def _set(path_fn, **values):
    return lambda s: path_fn(s).update(values)


CASES = [
    ("negative amount", lambda s: card(s)["price"].update(amount="-1"),
     TRIAL_CARD + "price.amount: must not be negative, got -1"),
    ("float amount", lambda s: card(s)["price"].update(amount=5.5),
     TRIAL_CARD + "price.amount: money and quantities are decimal strings, not floats"),
    ("amount not a decimal", lambda s: card(s)["price"].update(amount="five"),
     TRIAL_CARD + "price.amount: not a decimal amount: 'five'"),
    ("cadence not aligned", lambda s: card(s).update(billing_cadence="P1W"),
     "plan 'test-plan': phase 'trial', rate card 'in-advance': billing_cadence P1W is not aligned with the plan's "
     "billing_cadence P1M"),
    ("usage rate card without cadence", lambda s: card(s, 1).pop("billing_cadence"),
     API_CARD + "a usage_based rate card needs a billing_cadence"),
    ("one-time usage price on a flat_fee card",
     lambda s: (card(s).pop("billing_cadence"), card(s).update(price={"type": "unit", "amount": "1"})),
     TRIAL_CARD + "a usage price needs a billing_cadence"),
    ("dynamic price", lambda s: card(s).update(price={"type": "dynamic", "multiplier": "1.2"}),
     TRIAL_CARD + "price: unknown price type 'dynamic' (expected one of flat, unit, tiered, package)"),
    ("price without type", lambda s: card(s).update(price={"amount": "1"}),
     TRIAL_CARD + "price: a price needs a type"),
    ("naive start", lambda s: s.update(subscription={"start": "2024-01-01T00:00:00"}),
     "subscription 'sub-1': start: must be a timezone-aware instant"),
    ("date-only start", lambda s: s.update(subscription={"start": "2024-01-01"}),
     "subscription 'sub-1': start: must be a timezone-aware instant"),
    ("naive clock", lambda s: s.update(clock="2024-01-01T00:00:00"),
     "clock: must be a timezone-aware instant"),
    ("sub-microsecond instant", lambda s: s.update(subscription={"end": "2024-03-01T00:00:00.1234567Z"}),
     "subscription 'sub-1': end: instants are precise to the microsecond"),
    ("not an instant", lambda s: s.update(subscription={"billing_anchor": "yesterday"}),
     "subscription 'sub-1': billing_anchor: not an RFC 3339 instant: 'yesterday'"),
    ("unknown rate card key", lambda s: card(s).update(colour="red"),
     TRIAL_CARD + "colour: unknown field"),
    ("unknown price key", lambda s: card(s)["price"].update(amout="5"),
     TRIAL_CARD + "price.amout: unknown field"),
    ("unknown top-level key", lambda s: s.update(subscripton={"id": "x"}),
     "subscripton: unknown field"),
    ("unknown subscription key", lambda s: s.update(subscription={"anchor": "2024-01-01T00:00:00Z"}),
     "subscription 'sub-1': anchor: unknown field"),
    ("unknown rate-card type", lambda s: card(s).update(type="flat"),
     TRIAL_CARD + "type: must be one of 'flat_fee' or 'usage_based', got 'flat'"),
    ("unknown payment term", lambda s: card(s)["price"].update(payment_term="later"),
     TRIAL_CARD + "price.payment_term: must be one of 'in_advance' or 'in_arrears', got 'later'"),
    ("unknown tiered mode", lambda s: card(s, 1).update(price={"type": "tiered", "mode": "stairs", "tiers": [{"unit_price": "1"}]}),
     API_CARD + "price.mode: must be one of 'graduated' or 'volume', got 'stairs'"),
    ("unknown settlement mode", lambda s: s["plan"].update(settlement_mode="credit_first"),
     "plan 'test-plan': settlement_mode: must be one of 'credit_then_invoice' or 'credit_only', got 'credit_first'"),
    ("malformed phase key", lambda s: s["plan"]["phases"][0].update(key="Trial"),
     "phase 'Trial': key: a key must match [a-z0-9][a-z0-9_-]* (at most 64 characters), got 'Trial'"),
    ("malformed subscription id", lambda s: s.update(subscription={"id": "sub/1"}),
     "subscription 'sub/1': id: a key must match [a-z0-9][a-z0-9_-]*"),
    ("malformed customer key", lambda s: s.update(customer={"key": "-acme"}),
     "customer '-acme': key: a key must match"),
    ("key longer than 64", lambda s: card(s).update(key="k" * 65),
     f"phase 'trial', rate card '{'k' * 65}': key: must be at most 64 characters"),
    ("subscription ends before it starts", lambda s: s.update(subscription={"end": "2023-12-01T00:00:00Z"}),
     "subscription 'sub-1' ends before it starts"),
    ("duplicate phase key", lambda s: s["plan"]["phases"][1].update(key="trial"),
     "plan 'test-plan': duplicate phase key 'trial'"),
    ("duplicate rate-card key", lambda s: s["plan"]["phases"][0]["rate_cards"].append(copy.deepcopy(card(s))),
     "phase 'trial': duplicate rate card key 'in-advance'"),
    ("zero item cadence", lambda s: card(s).update(billing_cadence="PT0S"),
     TRIAL_CARD + "billing_cadence must be positive, got PT0S"),
    ("negative item cadence", lambda s: card(s).update(billing_cadence="-P1M"),
     TRIAL_CARD + "billing_cadence must be positive, got -P1M"),
    ("item cadence under an hour", lambda s: card(s).update(billing_cadence="PT30M"),
     TRIAL_CARD + "billing_cadence must be at least PT1H, got PT30M"),
    ("zero plan cadence", lambda s: s["plan"].update(billing_cadence="P0D"),
     "plan 'test-plan': billing_cadence must be positive"),
    ("zero phase duration", lambda s: s["plan"]["phases"][0].update(duration="PT0S"),
     "phase 'trial': duration must be positive, got PT0S"),
    ("bad ISO duration", lambda s: card(s).update(billing_cadence="P1X"),
     TRIAL_CARD + "billing_cadence: not an ISO-8601 duration: 'P1X'"),
    ("bad phase duration", lambda s: s["plan"]["phases"][0].update(duration="one month"),
     "phase 'trial': duration: not an ISO-8601 duration: 'one month'"),
    ("non-fiat plan currency", lambda s: s["plan"].update(currency="CREDITS"),
     "plan 'test-plan': currency: must be a fiat ISO 4217 code"),
    ("undeclared price currency", lambda s: card(s)["price"].update(currency="EUR"),
     TRIAL_CARD + "price.currency: currency 'EUR' is neither the plan currency 'USD' nor a custom currency"),
    ("feature without a meter", lambda s: card(s, 1).update(feature="api-calls"),
     API_CARD + "feature: no meter 'api-calls' (meters: api-requests-total)"),
    ("last phase with a duration", lambda s: s["plan"]["phases"][1].update(duration="P1M"),
     "plan 'test-plan': phase 'paid' is the last phase and runs open-ended: omit its duration"),
    ("earlier phase without a duration", lambda s: s["plan"]["phases"][0].pop("duration"),
     "plan 'test-plan': phase 'trial' needs a duration"),
    ("tier without a price", lambda s: card(s, 1).update(price={"type": "tiered", "mode": "volume", "tiers": [{"up_to": "5"}, {"unit_price": "1"}]}),
     API_CARD + "price.tiers[0]: a tier needs a unit_price, a flat_price or both"),
    ("tiers not ascending", lambda s: card(s, 1).update(price={"type": "tiered", "mode": "volume", "tiers": [{"up_to": "10", "unit_price": "1"}, {"up_to": "5", "unit_price": "1"}]}),
     API_CARD + "price: tier bounds (up_to) must be strictly ascending"),
    ("minimum above maximum", lambda s: card(s, 1)["price"].update(minimum_amount="10", maximum_amount="5"),
     API_CARD + "price: minimum_amount exceeds maximum_amount"),
    ("commitment on a flat price", lambda s: card(s)["price"].update(minimum_amount="1"),
     TRIAL_CARD + "price: minimum_amount: commitments apply to usage prices only"),
    ("discount above 100 %", lambda s: card(s).update(discounts={"percentage": "150"}),
     TRIAL_CARD + "discounts.percentage: percentage discount must be between 0 and 100, got 150"),
    ("missing plan", lambda s: s.pop("plan"), "plan: is required"),
    ("plan without phases", lambda s: s["plan"].update(phases=[]), "plan 'test-plan': phases: must not be empty"),
    ("rate card without key", lambda s: card(s).pop("key"), "phase 'trial', rate card #1: key: is required"),
]


@pytest.mark.parametrize("mutate, message", [(m, msg) for _, m, msg in CASES], ids=[c[0] for c in CASES])
def test_invalid_setup_names_object_and_field(mutate, message):
    setup = copy.deepcopy(BASE)
    mutate(setup)
    with pytest.raises(SubscriptionValidationError) as err:
        parse_subscription(setup, clock=None)
    assert str(err.value).startswith(message), str(err.value)


def test_base_setup_is_valid():
    view = parse_subscription(copy.deepcopy(BASE), clock=None)
    assert [p.key for p in view.phases] == ["trial", "paid"]


def test_empty_commitments_on_a_flat_price_are_accepted():
    setup = copy.deepcopy(BASE)
    card(setup)["price"].update(minimum_amount=None, maximum_amount=None)
    view = parse_subscription(setup, clock=None)
    assert view.phases[0].items_by_key["in-advance"][0].rate_card.price.amount == 5


def test_error_carries_object_and_field():
    setup = copy.deepcopy(BASE)
    card(setup)["price"].update(amount="-1")
    with pytest.raises(SubscriptionValidationError) as err:
        parse_subscription(setup, clock=None)
    assert err.value.obj == "phase 'trial', rate card 'in-advance'"
    assert err.value.field == "price.amount"


# -- checks of the core models (views built in code, by edits or by other packages) -------------------

START = dt.datetime(2024, 1, 1, tzinfo=UTC)
FLAT = RateCard(key="fee", type="flat_fee", price={"type": "flat", "amount": "5"}, billing_cadence="P1M")
SUB = Subscription(
    id="sub-1", customer_id="c", active_from=START, billing_cadence="P1M", billing_anchor=START, invoice_currency="USD"
)


def version(n: int, **overrides) -> SubscriptionItem:
    return SubscriptionItem(id=f"v{n}", key="fee", active_from=START, rate_card=FLAT, **overrides)


def test_overlapping_versions_of_one_key_are_rejected_naming_phase_and_item():
    with pytest.raises(ValueError, match=r"phase 'default': versions of item 'fee' overlap \('v0' runs past"):
        Phase(id="p", key="default", active_from=START, items_by_key={"fee": (version(0), version(1))})


def test_overlapping_version_overrides_are_rejected_when_ranges_are_recomputed():
    day = dt.timedelta(days=1)
    first = version(0, active_to=START, active_to_override=Duration(days=2))
    second = version(1, active_from_override=Duration(days=1)).model_copy(update={"active_from": START + day})
    phase = Phase(id="p", key="default", active_from=START, items_by_key={"fee": (first, second)})
    with pytest.raises(SubscriptionValidationError) as err:
        reschedule(SUB, [phase])
    assert str(err.value).startswith("subscription 'sub-1', phase 'default': ")
    assert "versions of item 'fee' overlap" in str(err.value)


def test_negative_override_is_rejected_naming_the_item():
    with pytest.raises(ValueError, match=r"item 'fee': active_from_override .* must not be negative, got -PT1H"):
        version(0, active_from_override=Duration(hours=-1))


def test_item_cadence_not_aligned_with_the_subscription_is_rejected_in_the_view():
    weekly = FLAT.model_copy(update={"billing_cadence": Duration(weeks=1)})
    item = SubscriptionItem(id="v0", key="fee", active_from=START, rate_card=weekly)
    phase = Phase(id="p", key="default", active_from=START, items_by_key={"fee": (item,)})
    with pytest.raises(
        SubscriptionValidationError, match=r"^subscription 'sub-1', phase 'default', item 'fee': billing cadence P1W"
    ):
        reschedule(SUB, [phase])


def test_item_ending_before_it_starts_is_rejected():
    phase = Phase(
        id="p",
        key="default",
        active_from=START,
        items_by_key={"fee": (version(0, active_from_override=Duration(days=2), active_to_override=Duration(days=1)),)},
    )
    with pytest.raises(SubscriptionValidationError, match=r"item 'fee' v\[0\].*item 'fee' ends before it starts"):
        reschedule(SUB, [phase])


def test_naive_datetime_is_rejected_by_the_model():
    with pytest.raises(ValueError, match="timezone"):
        Subscription(
            id="s", customer_id="c", active_from=dt.datetime(2024, 1, 1), billing_cadence="P1M",
            billing_anchor=START, invoice_currency="USD",
        )
