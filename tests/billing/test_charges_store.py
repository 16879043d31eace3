"""The persisted shape of charges: layered intents, realizations, listing filters, identity index."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.charges.models import ChargeSubscriptionReference, FlatFeeCharge, FlatFeeIntent, Realization, UsageBasedCharge, UsageBasedIntent
from billing.charges.store import ChargeStore
from billing.errors import StoreIntegrityError
from billing.ids import new_id
from tests.billing.builders import CUSTOMER, NS, SUB, at, make_customer, period


def flat_charge(identity="sub-1/default/fee/v[0]/period[0]", **overrides):  # type: ignore[no-untyped-def]
    base = FlatFeeIntent(name="fee", service_period=period(at(1), at(2)), full_service_period=period(at(1), at(2)),
                         billing_period=period(at(1), at(2)), invoice_at=at(1), amount_before_proration=Decimal("10"))
    fields = dict(id=new_id(), namespace=NS, customer_id=CUSTOMER, currency="USD", unique_reference_id=identity,
                  subscription=ChargeSubscriptionReference(subscription_id=SUB, phase_id="p", item_id="i"),
                  settlement_mode="credit_then_invoice", base=base, created_at=at(1), updated_at=at(1), sequence=0)
    fields.update(overrides)
    return FlatFeeCharge(**fields)


@pytest.fixture
def charges(store, billing_service):
    make_customer(billing_service)
    return ChargeStore(store)


def test_charges_round_trip_with_layers_and_realizations(charges, clock):
    created = charges.create_charge(flat_charge())
    assert created.sequence > 0 and created.meta_status == "created" and created.effective == created.base
    override = created.base.model_copy(update={"managed_by": "manual", "amount_before_proration": Decimal("7")})
    saved = charges.save_charge(created.model_copy(update={"override": override, "status": "active.realization.processing"}))
    assert saved.effective.amount_before_proration == 7 and saved.base.amount_before_proration == 10
    assert saved.meta_status == "active"
    run = Realization(id=new_id(), kind="run", type="final_realization", service_period=period(at(1), at(2)),
                      data={"totals": {"total": "10.00"}}, created_at=at(1), sequence=0)
    charges.append_realization(NS, saved.id, run)
    [listed] = charges.list_charges(NS, subscription_ids=[SUB])
    assert listed.realizations[0].data == {"totals": {"total": "10.00"}}
    assert charges.update_subscription_item_id(NS, saved.id, "item-2").subscription.item_id == "item-2"


def test_listing_filters_deleted_base_and_effective_intents(charges):
    live = charges.create_charge(flat_charge())
    overridden = charges.create_charge(flat_charge("sub-1/default/fee/v[0]/period[1]"))
    charges.save_charge(overridden.model_copy(update={"override": overridden.base.model_copy(update={"intent_deleted_at": at(1, 2)})}))
    base_deleted = charges.create_charge(flat_charge("sub-1/default/fee/v[0]/period[2]"))
    charges.save_charge(base_deleted.model_copy(update={"base": base_deleted.base.model_copy(update={"intent_deleted_at": at(1, 2)})}))
    usage = UsageBasedCharge(
        id=new_id(), namespace=NS, customer_id=CUSTOMER, currency="USD", unique_reference_id="sub-1/default/api/v[0]/period[0]",
        subscription=ChargeSubscriptionReference(subscription_id=SUB, phase_id="p", item_id="i"),
        settlement_mode="credit_only", feature_key="api",
        base=UsageBasedIntent(name="api", service_period=period(at(1), at(2)), full_service_period=period(at(1), at(2)),
                              billing_period=period(at(1), at(2)), invoice_at=at(2), price={"type": "unit", "amount": "1"}),
        created_at=at(1), updated_at=at(1), sequence=0)
    charges.create_charge(usage)

    by_base = {c.id for c in charges.list_charges(NS, subscription_ids=[SUB], deleted_filter="base_intent")}
    assert by_base == {live.id, overridden.id, usage.id}
    by_effective = {c.id for c in charges.list_charges(NS, subscription_ids=[SUB], deleted_filter="effective")}
    assert by_effective == {live.id, usage.id}
    assert len(charges.list_customer_charges(NS, CUSTOMER)) == 4


def test_one_live_charge_per_identity(charges, clock):
    first = charges.create_charge(flat_charge())
    with pytest.raises(StoreIntegrityError):
        charges.create_charge(flat_charge())
    charges.save_charge(first.model_copy(update={"deleted_at": at(1, 3), "status": "deleted"}))
    assert charges.create_charge(flat_charge()).id != first.id
