"""Customers, billing profiles, meters and usage ingestion."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from billing.customers import CollectionConfig
from billing.errors import BillingValidationError, ConflictError, NotFoundError
from billing.usage import NewUsageEvent
from tests.billing.builders import CUSTOMER, NS, at, make_customer, period, profile


def test_customer_create_update_profile_and_delete(billing_service, clock):
    created = make_customer(billing_service, interval="PT1H")
    assert created.billing_profile.collection.interval == "PT1H" and created.currency == "USD"
    clock.set(at(1, 2))
    renamed = billing_service.update_customer(NS, CUSTOMER, name="Acme", currency="EUR")
    assert (renamed.name, renamed.currency, renamed.updated_at) == ("Acme", "EUR", at(1, 2))
    updated = billing_service.update_billing_profile(NS, CUSTOMER, profile(progressive=True, payment_app="manual"))
    override = billing_service.get_customer_override(NS, CUSTOMER)
    assert override.profile == updated.billing_profile and override.profile.invoicing.progressive_billing
    assert override.subscription_end_proration_mode == "bill_actual_period" and override.customer_deleted_at is None
    clock.set(at(1, 3))
    billing_service.delete_customer(NS, CUSTOMER)
    assert billing_service.get_customer_override(NS, CUSTOMER).customer_deleted_at == at(1, 3)
    with pytest.raises(ConflictError):
        billing_service.update_customer(NS, CUSTOMER, name="x")


def test_customer_errors(billing_service):
    make_customer(billing_service)
    with pytest.raises(ConflictError, match="already used"):
        billing_service.create_customer(NS, "customer-1")
    with pytest.raises(ConflictError, match="already exists"):
        billing_service.create_customer(NS, "customer-9", customer_id=CUSTOMER)
    with pytest.raises(BillingValidationError, match="customer key"):
        billing_service.create_customer(NS, "Not A Key")
    with pytest.raises(BillingValidationError, match="currency"):
        billing_service.create_customer(NS, "customer-2", currency="XXXX")
    with pytest.raises(NotFoundError):
        billing_service.get_customer(NS, "nobody")
    with pytest.raises(ValidationError):
        CollectionConfig(interval="one day")
    assert billing_service.create_customer(NS, "customer-2", currency="CREDITS").currency == "CREDITS"


def test_usage_ingestion_and_meter_aggregations(billing_service, clock):
    make_customer(billing_service)
    billing_service.register_meter(NS, "peak", "max")
    events = [NewUsageEvent(time=at(1, d), value=Decimal(v)) for d, v in ((2, 3), (3, 9), (4, 1))]
    stored = billing_service.ingest_usage(NS, CUSTOMER, "peak", events)
    assert [e.value for e in stored] == [3, 9, 1] and all(e.ingested_at == at(1) for e in stored)
    from billing.lines import StandardLine
    from tests.billing.builders import usage_line

    line = StandardLine(**usage_line(feature_key="peak", service_period=period(at(1), at(1, 4))).model_dump(),
                        id="l", namespace=NS, invoice_id="i", customer_id=CUSTOMER, currency="USD",
                        created_at=at(1), updated_at=at(1), sequence=1)
    invoice = billing_service.list_customer_invoices(NS, CUSTOMER)
    assert invoice == []
    from billing.invoices import Invoice

    header = Invoice(id="i", namespace=NS, customer_id=CUSTOMER, kind="standard", status="draft.waiting_auto_approval",
                     immutable=False, currency="USD", created_at=at(1), updated_at=at(1), sequence=1)
    assert billing_service.snapshot_line_quantity(header, line).quantity == 9
    with pytest.raises(NotFoundError, match="meter 'nope'"):
        billing_service.ingest_usage(NS, CUSTOMER, "nope", events)
    with pytest.raises(ValidationError):
        NewUsageEvent(time=at(1), value=1.5)
