"""The credit grant API over purchases (charges.md §5.8): request → intent, grant status and list filters,
and the purchase block."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from billing.charges.errors import ChargeValidationError
from billing.credit_purchases.grants_api import CreditGrantRequest, grant_intent
from tests.billing.credit_purchases.conftest import CUSTOMER, JAN_15, NS

NOW = JAN_15


def request(**fields) -> CreditGrantRequest:  # type: ignore[no-untyped-def]
    return CreditGrantRequest.model_validate({"name": "Grant", "amount": "10", "currency": "USD", **fields})


def test_a_request_becomes_a_purchase_intent():
    intent = grant_intent(CUSTOMER, request(expires_after="P30D", priority=3, feature_filters=["b", "a"],
                                            labels={"team": "a"}, key="g-1"), now=NOW)
    assert intent.settlement.type == "promotional" and intent.cost_basis is None
    assert intent.effective_at == NOW and intent.expires_at == NOW + dt.timedelta(days=30)
    assert (intent.priority, intent.key, intent.metadata, intent.managed_by) == (3, "g-1", {"team": "a"}, "manual")
    funded = grant_intent(CUSTOMER, request(funding_method="invoice", purchase={"currency": "USD"}), now=NOW)
    assert funded.settlement.type == "invoice" and funded.cost_basis.rate == Decimal(1)  # type: ignore[union-attr]
    external = grant_intent(CUSTOMER, request(funding_method="external", purchase={
        "currency": "USD", "per_unit_cost_basis": "0.5", "availability_policy": "on_creation"}), now=NOW)
    assert external.settlement.initial_status == "created"  # type: ignore[union-attr]


@pytest.mark.parametrize(("fields", "field"), [
    ({"amount": "0"}, "amount"),
    ({"funding_method": "invoice"}, "purchase"),
    ({"funding_method": "invoice", "purchase": {"currency": "EUR"}}, "purchase.currency"),
    ({"funding_method": "external", "purchase": {"currency": "USD", "per_unit_cost_basis": "0"}},
     "purchase.per_unit_cost_basis"),
    ({"expires_after": "PT0S"}, "expires_after"),
])
def test_invalid_requests(fields, field):
    with pytest.raises(ChargeValidationError) as caught:
        grant_intent(CUSTOMER, request(**fields), now=NOW)
    assert caught.value.field == field


def test_grant_views_and_filters(real, billing, clock):
    clock.set(NOW)
    promo = real.create_grant(NS, CUSTOMER, request(expires_after="P1D"))
    assert (promo.status, promo.funding_method, promo.purchase) == ("active", "none", None)
    invoice = real.create_grant(NS, CUSTOMER, request(funding_method="invoice", purchase={
        "currency": "USD", "per_unit_cost_basis": "0.5"}))
    assert invoice.status == "active" and invoice.purchase is not None
    assert (invoice.purchase.amount, invoice.purchase.per_unit_cost_basis, invoice.purchase.settlement_status) == (
        Decimal("5.00"), Decimal("0.5"), "pending")
    later = real.create_grant(NS, CUSTOMER, request(funding_method="invoice", effective_at=NOW + dt.timedelta(days=5),
                                                    purchase={"currency": "USD"}))
    assert later.status == "pending"
    assert [g.id for g in real.list_grants(NS, CUSTOMER, "pending")] == [later.id]
    assert {g.id for g in real.list_grants(NS, CUSTOMER, "active")} == {promo.id, invoice.id}
    real.void_credit_grant(NS, invoice.id)
    clock.set(NOW + dt.timedelta(days=2))
    views = {g.id: g for g in real.list_grants(NS, CUSTOMER)}
    assert (views[promo.id].status, views[invoice.id].status) == ("expired", "voided")
    assert real.list_grants(NS, CUSTOMER, "active") == []
