"""Negative balance (§2.4): a grant first covers outstanding negative balance in its currency, oldest
record first, up to its amount; a restricted grant covers only records of its features."""

from __future__ import annotations

from tests.billing.ledger.builders import CUSTOMER, NS, T0, D, consumer, purchase
from tests.billing.ledger.conftest import assert_consistent


def _shortfall(ledger, amount, feature_key=None, currency="USD"):  # type: ignore[no-untyped-def]
    result = ledger.consume(
        consumer(currency), run_id="r", amount=D(amount), feature_key=feature_key, booked_at=T0, source_as_of=T0, mode="credit_only"
    )
    return result.slices[-1].negative_balance_id


def _outstanding(ledger) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {r.id: r.outstanding for r in ledger.negative_balances(NS, CUSTOMER)}


def test_covers_oldest_first_up_to_the_grant_amount(ledger, store):
    oldest = _shortfall(ledger, "4")
    middle = _shortfall(ledger, "5")
    newest = _shortfall(ledger, "6")
    charge = purchase("12")
    ledger.on_promotional_credit_purchase(charge)
    grant = ledger.grant_for_charge(NS, charge.id)
    assert grant.covered_at_issue == 12
    assert _outstanding(ledger) == {oldest: 0, middle: 0, newest: 3}
    assert ledger.balance(NS, CUSTOMER, "USD") == -3
    assert ledger.available(NS, CUSTOMER, "USD") == 0
    bigger = purchase("10")
    ledger.on_promotional_credit_purchase(bigger)
    assert ledger.grant_for_charge(NS, bigger.id).covered_at_issue == 3
    assert ledger.balance(NS, CUSTOMER, "USD") == 7 == ledger.available(NS, CUSTOMER, "USD")
    assert_consistent(store)


def test_a_restricted_grant_covers_only_records_of_its_features(ledger, store):
    api = _shortfall(ledger, "4", feature_key="api")
    unkeyed = _shortfall(ledger, "5")
    storage = _shortfall(ledger, "6", feature_key="storage")
    restricted = purchase("20", feature_filters=("api", "compute"))
    ledger.on_promotional_credit_purchase(restricted)
    assert ledger.grant_for_charge(NS, restricted.id).covered_at_issue == 4
    assert _outstanding(ledger) == {api: 0, unkeyed: 5, storage: 6}
    unrestricted = purchase("8")
    ledger.on_promotional_credit_purchase(unrestricted)
    assert ledger.grant_for_charge(NS, unrestricted.id).covered_at_issue == 8
    assert _outstanding(ledger) == {api: 0, unkeyed: 0, storage: 3}
    assert_consistent(store)


def test_covering_stays_within_the_currency(ledger, store):
    tokens = _shortfall(ledger, "4", currency="TOKENS")
    ledger.on_promotional_credit_purchase(purchase("10"))
    assert _outstanding(ledger) == {tokens: 4}
    assert ledger.balance(NS, CUSTOMER, "TOKENS") == -4 and ledger.balance(NS, CUSTOMER, "USD") == 10
    assert_consistent(store)


def test_a_grant_without_outstanding_debt_covers_nothing(ledger):
    charge = purchase("10")
    ledger.on_promotional_credit_purchase(charge)
    grant = ledger.grant_for_charge(NS, charge.id)
    assert grant.covered_at_issue == 0
    [group] = ledger.groups(NS, CUSTOMER)
    assert not [e for e in group.entries if e.source_kind == "negative_balance"]
