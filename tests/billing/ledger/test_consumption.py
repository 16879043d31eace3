"""Consumption (§2.6): ordering, eligibility, partial coverage vs shortfall, feature filters, and
refused input leaving the ledger unchanged."""

from __future__ import annotations

import pytest

from billing.ledger import LedgerValidationError
from tests.billing.ledger.builders import CUSTOMER, NS, T0, D, at, consumer, purchase
from tests.billing.ledger.conftest import assert_consistent, row_counts


def _grant(ledger, amount="10", **kwargs):  # type: ignore[no-untyped-def]
    charge = purchase(amount, **kwargs)
    ledger.on_promotional_credit_purchase(charge)
    return ledger.grant_for_charge(NS, charge.id).id


@pytest.fixture
def ff04(ledger, clock):  # type: ignore[no-untyped-def]
    """FF-04: A (priority 2, no expiry), B (1, expires 03-01), C (1, expires 02-15), D (1, no expiry)."""
    lots = {
        "A": _grant(ledger, priority=2),
        "B": _grant(ledger, expires_at=at(1, 3)),
        "C": _grant(ledger, expires_at=at(15, 2)),
        "D": _grant(ledger),
    }
    return {grant_id: name for name, grant_id in lots.items()}


def _slices(result, names):  # type: ignore[no-untyped-def]
    return [(names.get(s.grant_id, s.source), s.amount) for s in result.slices]


def test_ff04_priority_then_earliest_expiry_then_non_expiring(ledger, store, clock, ff04):
    clock.set(at(1, 2))
    result = ledger.consume(
        consumer(), run_id="r", amount=D(35), feature_key=None, booked_at=at(1, 2), source_as_of=at(1, 2), mode="credit_then_invoice"
    )
    assert _slices(result, ff04) == [("C", 10), ("B", 10), ("D", 10), ("A", 5)]
    assert_consistent(store)


@pytest.mark.parametrize(
    ("mode", "expected_tail"),
    [("credit_then_invoice", []), ("credit_only", [("negative_balance", 5)])],
)
def test_ff04_after_c_expired_covers_30_and_leaves_5(ledger, store, clock, ff04, mode, expected_tail):
    clock.set(at(20, 2))
    result = ledger.consume(
        consumer(), run_id="r", amount=D(35), feature_key=None, booked_at=at(20, 2), source_as_of=at(20, 2), mode=mode
    )
    assert _slices(result, ff04) == [("B", 10), ("D", 10), ("A", 10), *expected_tail]
    assert result.from_credit == 30 and result.negative_balance == sum((t[1] for t in expected_tail), D(0))
    assert ledger.balance(NS, CUSTOMER, "USD") == (0 if mode == "credit_then_invoice" else -5)
    assert_consistent(store)


def test_expiry_is_judged_at_source_as_of(ledger, clock, ff04):
    """Consumption as of 02-20 while the clock still reads 02-01: C is not eligible."""
    clock.set(at(1, 2))
    result = ledger.consume(
        consumer(), run_id="r", amount=D(15), feature_key=None, booked_at=at(20, 2), source_as_of=at(20, 2), mode="credit_then_invoice"
    )
    assert _slices(result, ff04) == [("B", 10), ("D", 5)]


def test_effective_at_then_creation_order_break_ties(ledger, clock):
    late = _grant(ledger, effective_at=at(5))
    early = _grant(ledger, effective_at=at(2))
    second_early = _grant(ledger, effective_at=at(2))
    future = _grant(ledger, effective_at=at(20))
    names = {late: "late", early: "early", second_early: "second", future: "future"}
    clock.set(at(10))
    result = ledger.consume(
        consumer(), run_id="r", amount=D(25), feature_key=None, booked_at=at(10), source_as_of=at(10), mode="credit_then_invoice"
    )
    assert _slices(result, names) == [("early", 10), ("second", 10), ("late", 5)]


def test_credit_then_invoice_covers_partially_and_never_more(ledger, store):
    _grant(ledger, "30")
    charge = consumer()
    result = ledger.consume(charge, run_id="r", amount=D(100), feature_key=None, booked_at=T0, source_as_of=T0, mode="credit_then_invoice")
    assert (result.total, result.from_credit, result.negative_balance) == (30, 30, 0)
    empty = ledger.consume(charge, run_id="r", amount=D(5), feature_key=None, booked_at=T0, source_as_of=T0, mode="credit_then_invoice")
    assert empty.slices == () and empty.transaction_group_id
    assert ledger.group(NS, empty.transaction_group_id).entries == ()
    assert ledger.negative_balances(NS, CUSTOMER) == []
    assert_consistent(store)


def test_credit_only_consumes_exactly_the_amount(ledger, store):
    _grant(ledger, "30")
    exact = ledger.consume(consumer(), run_id="r", amount=D(30), feature_key=None, booked_at=T0, source_as_of=T0, mode="credit_only")
    assert (exact.total, exact.negative_balance) == (30, 0)
    short = ledger.consume(consumer(), run_id="s", amount=D("12.5"), feature_key="api", booked_at=T0, source_as_of=T0, mode="credit_only")
    assert (short.total, short.negative_balance) == (D("12.5"), D("12.5"))
    [record] = ledger.negative_balances(NS, CUSTOMER)
    assert (record.feature_key, record.outstanding) == ("api", D("12.5"))
    assert ledger.balance(NS, CUSTOMER, "USD") == D("-12.5")
    assert ledger.available(NS, CUSTOMER, "USD") == 0
    assert_consistent(store)


def test_feature_filters_restrict_grants_to_their_features(ledger, store):
    unrestricted = _grant(ledger, "10")
    api = _grant(ledger, "10", feature_filters=("api-requests",), priority=0)
    storage = _grant(ledger, "10", feature_filters=("storage",), priority=0)
    names = {unrestricted: "any", api: "api", storage: "storage"}
    assert ledger.available(NS, CUSTOMER, "USD", feature_key="api-requests") == 20
    assert ledger.available(NS, CUSTOMER, "USD") == 10  # a charge without a feature sees only unrestricted credit
    with_feature = ledger.consume(
        consumer(), run_id="r", amount=D(15), feature_key="api-requests", booked_at=T0, source_as_of=T0, mode="credit_then_invoice"
    )
    assert _slices(with_feature, names) == [("api", 10), ("any", 5)]
    without = ledger.consume(consumer(), run_id="s", amount=D(15), feature_key=None, booked_at=T0, source_as_of=T0, mode="credit_then_invoice")
    assert _slices(without, names) == [("any", 5)]
    assert ledger.balance(NS, CUSTOMER, "USD") == 10  # the storage lot is untouched
    assert_consistent(store)


def test_voided_and_other_currency_lots_are_not_consumed(ledger, clock):
    voided = purchase("10", settlement="invoice")
    ledger.on_credit_purchase_initiated(voided)
    ledger.on_credit_grant_voided(voided, T0)
    ledger.on_promotional_credit_purchase(purchase("10", currency="TOKENS"))
    result = ledger.consume(consumer(), run_id="r", amount=D(5), feature_key=None, booked_at=T0, source_as_of=T0, mode="credit_then_invoice")
    assert result.slices == ()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"amount": D(0)}, "must be positive"),
        ({"amount": D("-1")}, "must be positive"),
        ({"amount": D("1.005")}, "more digits than USD"),
        ({"amount": 1.5}, "must be a Decimal"),
        ({"mode": "invoice_only"}, "unknown settlement mode"),
        ({"booked_at": T0.replace(tzinfo=None)}, "naive"),
        ({"feature_key": ""}, "feature_key"),
    ],
)
def test_refused_input_leaves_the_ledger_unchanged(ledger, store, change, message):
    _grant(ledger, "10")
    before = row_counts(store)
    arguments = dict(run_id="r", amount=D(5), feature_key=None, booked_at=T0, source_as_of=T0, mode="credit_only") | change
    with pytest.raises(LedgerValidationError, match=message):
        ledger.consume(consumer(), **arguments)
    assert row_counts(store) == before


def test_unknown_currency_is_refused(ledger, store):
    before = row_counts(store)
    with pytest.raises(LedgerValidationError, match="GOLD"):
        ledger.consume(consumer("GOLD"), run_id="r", amount=D(1), feature_key=None, booked_at=T0, source_as_of=T0, mode="credit_only")
    assert row_counts(store) == before
