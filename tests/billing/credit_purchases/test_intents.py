"""Intent validation and normalization (charges.md §5.1, §5.2, §8 rows 1, 2, 6–8, 11, 12, 42; CP-03,
CP-27, CP-28, DV-13, C-061)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pydantic import ValidationError

from billing.charges.errors import ChargeConflictError, ChargeValidationError
from billing.credit_purchases.cost_basis import fiat_amount
from billing.credit_purchases.intents import normalize_intent
from billing.credit_purchases.models import PurchaseIntent
from billing.credit_purchases.settings import PurchaseSettings
from billing.period import Period
from tests.billing.credit_purchases.conftest import (
    CUSTOM_CURRENCIES,
    CUSTOMER,
    JAN_1,
    JAN_15,
    NS,
    intent,
    snapshot,
)

NOW = JAN_15.replace(microsecond=123456)
SETTINGS = PurchaseSettings()


def normalize(value: PurchaseIntent, settings: PurchaseSettings = SETTINGS) -> PurchaseIntent:
    return normalize_intent(value, now=NOW, custom_currencies=CUSTOM_CURRENCIES, settings=settings)


def refused(value: PurchaseIntent, settings: PurchaseSettings = SETTINGS) -> ChargeValidationError:
    with pytest.raises(ChargeValidationError) as caught:
        normalize(value, settings)
    return caught.value


# -- §0.1 / §5.2 rounding (CP-27, the §5.2 examples) -----------------------------------------------------

@pytest.mark.parametrize(("credits", "rate", "fiat", "expected"), [
    ("100", "0.5", "USD", "50.00"),
    ("100.12", "0.5", "USD", "50.06"),
    ("100.123", "0.5", "USD", "50.06"),      # TOKENS 100.123 × 0.5 = 50.0615
    ("100", "0.25", "USD", "25.00"),
    ("1", "1.004", "USD", "1.00"),
    ("1", "1.005", "USD", "1.01"),
    ("1", "1.006", "USD", "1.01"),
    ("1", "2.675", "USD", "2.68"),
    ("2", "1.0025", "USD", "2.01"),
    ("1", "0.005", "USD", "0.01"),
    ("3", "1", "JPY", "3"),
])
def test_fiat_settlement_amount_rounds_half_away_from_zero(credits, rate, fiat, expected):
    result = fiat_amount(Decimal(credits), Decimal(rate), fiat)
    assert result == Decimal(expected) and str(result) == expected


@pytest.mark.parametrize(("currency", "amount", "expected"), [
    ("USD", "100.123", "100.12"), ("TOKENS", "100.1234", "100.123"), ("USD", "1.005", "1.01"),
])
def test_credit_amount_is_rounded_to_the_credit_currency(currency, amount, expected):
    rate_basis = None if currency == "USD" else {"type": "custom_currency", "mode": "manual", "rate": "0.5",
                                                  "fiat_currency": "USD"}
    value = intent(amount, currency=currency, settlement="promotional") if rate_basis is None else \
        intent(amount, currency=currency, cost_basis=rate_basis)
    assert str(normalize(value).credit_amount) == expected


# -- normalization (CP-28) ------------------------------------------------------------------------------

def test_effective_at_pins_all_three_periods_to_whole_seconds():
    at = JAN_1.replace(microsecond=900000)
    normalized = normalize(intent(effective_at=at, service_period=Period(start=JAN_1, end=JAN_15)))
    pinned = Period(start=JAN_1, end=JAN_1)
    assert normalized.effective_at == JAN_1
    assert normalized.service_period == normalized.full_service_period == normalized.billing_period == pinned


def test_without_periods_or_effective_at_the_periods_are_now():
    value = PurchaseIntent(customer_id=CUSTOMER, currency="USD", name="x", credit_amount=Decimal(5),
                           settlement={"type": "promotional"})
    normalized = normalize(value)
    assert normalized.service_period == Period(start=NOW.replace(microsecond=0), end=NOW.replace(microsecond=0))


def test_feature_filters_are_sorted_and_the_default_tax_code_stamped():
    normalized = normalize(intent(feature_filters=("b", "a")))
    assert normalized.feature_filters == ("a", "b")
    assert normalized.tax_config is not None and normalized.tax_config.code == SETTINGS.credit_grant_tax_code


@pytest.mark.parametrize(("fields", "field", "text"), [
    ({"feature_filters": ("a", "a")}, "feature_filters", "unique"),
    ({"feature_filters": ("a", " ")}, "feature_filters[1]", "non-empty"),
    ({"name": "  "}, "name", "name is required"),
    ({"managed_by": "subscription"}, "managed_by", "never subscription-owned"),
    ({"key": ""}, "key", "non-empty"),
    ({"unique_reference_id": " "}, "unique_reference_id", "non-empty"),
    ({"priority": -1}, "priority", "priority"),
    ({"currency": "NOPE"}, "currency", "NOPE"),
    ({"service_period": Period(start=JAN_15, end=JAN_1)}, "service_period", "ends before it starts"),
])
def test_invalid_intents_name_the_field(fields, field, text):
    error = refused(intent(**fields))
    assert error.field == field and text in str(error)


def test_credit_amount_must_be_positive_and_not_round_to_zero():
    assert refused(intent("0", settlement="promotional")).field == "credit_amount"
    assert refused(intent("-5", settlement="promotional")).field == "credit_amount"
    assert "rounds to zero" in str(refused(intent("0.004", settlement="promotional")))


def test_expiry_must_follow_effective_at_or_now():
    at = JAN_1 + dt.timedelta(days=1)
    assert "expires at must be after effective at" in str(refused(intent(effective_at=at, expires_at=at)))
    assert "expires at must be after effective at" in str(refused(intent(expires_at=NOW - dt.timedelta(seconds=1))))
    assert normalize(intent(expires_at=NOW + dt.timedelta(days=1))).expires_at is not None


@pytest.mark.parametrize(("fields", "message"), [
    ({"settlement": "promotional", "cost_basis": {"type": "fiat", "rate": "1"}}, "takes no cost basis"),
    ({"settlement": "invoice", "rate": None}, "payment-backed credit purchase requires a cost basis"),
    ({"settlement": "external", "rate": None}, "payment-backed credit purchase requires a cost basis"),
    ({"currency": "TOKENS"}, "custom currency credit purchase requires a custom currency cost basis"),
    ({"cost_basis": {"type": "custom_currency", "mode": "manual", "rate": "1", "fiat_currency": "USD"}},
     "fiat credit purchase requires a fiat cost basis"),
    ({"currency": "TOKENS", "cost_basis": {"type": "custom_currency", "mode": "dynamic", "fiat_currency": "CREDITS"}},
     "not an ISO 4217 fiat currency"),
])
def test_cost_basis_variant_rules(fields, message):
    assert message in str(refused(intent(**fields)))


@pytest.mark.parametrize("settlement", ["external", "invoice"])
@pytest.mark.parametrize("rate", ["0", "-0.5"])
def test_a_non_positive_rate_is_refused(settlement, rate):
    error = refused(intent(settlement=settlement, rate=rate))
    assert "rate must be positive" in str(error) and error.field == "cost_basis.rate"


def test_dv13_a_fiat_amount_that_rounds_to_zero_is_refused():
    assert "fiat settlement amount rounds to zero" in str(refused(intent("1", rate="0.004")))


def test_a_namespace_without_a_credit_grant_tax_code_refuses_intents_without_one():
    error = refused(intent(), PurchaseSettings(credit_grant_tax_code=None))
    assert error.field == "tax_config.tax_code"
    known = PurchaseSettings(known_tax_codes=frozenset({"txcd_1"}))
    assert refused(intent(), known).code == "tax_code_not_found"
    assert normalize(intent(tax_config={"code": "txcd_1"}), known).tax_config.code == "txcd_1"


def test_floats_are_refused_on_every_money_field():
    with pytest.raises(ValidationError):
        intent(credit_amount=100.0)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        intent(cost_basis={"type": "fiat", "rate": 0.5})


def test_an_unknown_settlement_or_cost_basis_variant_is_refused():
    with pytest.raises(ValidationError):
        intent(settlement="invoice_only")
    with pytest.raises(ValidationError):
        intent(cost_basis={"type": "custom_currency", "mode": "guessed", "fiat_currency": "USD"})


# -- through the service: nothing is written, the ledger is never called (C-061, §8) -----------------------

@pytest.mark.parametrize("settlement", ["external", "invoice"])
@pytest.mark.parametrize("rate", ["0", "-0.5"])
def test_C_061_non_positive_rate_rejected_before_any_callback_or_write(purchases, spy, store, settlement, rate):
    spy.only = set()  # no callback is set: any ledger call fails
    before = snapshot(store)
    with pytest.raises(ChargeValidationError, match="rate must be positive"):
        purchases.create(NS, intent(settlement=settlement, rate=rate))
    assert purchases.list(NS, CUSTOMER) == [] and spy.calls == []
    assert snapshot(store) == before


def test_a_reused_key_is_a_conflict_and_the_existing_purchase_is_not_returned(purchases, store):
    purchases.create(NS, intent(key="k-1", settlement="promotional", effective_at=JAN_1))
    before = snapshot(store)
    with pytest.raises(ChargeConflictError):
        purchases.create(NS, intent(key="k-1", settlement="promotional", effective_at=JAN_1))
    assert snapshot(store) == before


def test_a_locked_namespace_refuses_creation(store, billing, spy):
    from billing.credit_purchases.service import CreditPurchaseService

    service = CreditPurchaseService(store, spy, settings=PurchaseSettings(locked_namespaces=frozenset({NS})))
    with pytest.raises(ChargeValidationError, match="locked down"):
        service.create(NS, intent(settlement="promotional"))
    assert spy.calls == []


def test_an_unknown_customer_is_not_found(purchases):
    from billing.errors import NotFoundError

    with pytest.raises(NotFoundError):
        purchases.create(NS, intent(customer_id="nobody", settlement="promotional"))



def test_DV_12_absent_optional_objects_are_valid_and_a_present_payment_is_checked(purchases):
    from billing.credit_purchases.realizations import LedgerRef, Payment

    created = purchases.create(NS, intent())  # created: no grant, no link, no payment
    assert (created.grant, created.link, created.payment) == (None, None, None)
    assert created.model_validate(created.model_dump()).status == "created"
    fields = dict(id="p", kind="external", status="authorized", currency="USD", service_period=created.service_period,
                  authorized=LedgerRef(transaction_group_id="tx", at=JAN_1))
    assert Payment(fiat_amount=Decimal(1), **fields).failed is None
    with pytest.raises(ValidationError, match="fiat_amount must be > 0"):
        Payment(fiat_amount=Decimal(0), **fields)
    with pytest.raises(ValidationError, match="needs invoice_id and line_id"):
        Payment(fiat_amount=Decimal(1), **{**fields, "kind": "invoiced"})
