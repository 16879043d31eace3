"""Split-line group operations (reconciler §1.3): create, update, delete rules and new children."""

from __future__ import annotations

import pytest

from billing.errors import BillingValidationError, ConflictError, NotFoundError
from billing.split_lines import GroupChanges, NewSplitLineGroup
from billing.prices import Discounts
from tests.billing.builders import CUSTOMER, NS, SUB, at, db_snapshot, make_customer, period, ref, usage_line

IDENTITY = "sub-1/default/api/v[0]/period[0]"


def new_group(**overrides):  # type: ignore[no-untyped-def]
    fields = dict(customer_id=CUSTOMER, currency="USD", service_period=period(at(1), at(2)),
                  unique_reference_id=IDENTITY, price={"type": "unit", "amount": "1"}, feature_key="api",
                  subscription=ref(), name="api")
    fields.update(overrides)
    return NewSplitLineGroup(**fields)


@pytest.fixture
def group(billing_service):
    make_customer(billing_service)
    return billing_service.create_split_line_group(NS, new_group())


def child(group, start, end):  # type: ignore[no-untyped-def]
    return usage_line(None, service_period=period(start, end), split_line_group_id=group.id, subscription=ref())


def test_a_new_pending_line_may_join_a_live_group_without_identity(billing_service, group):
    [line] = billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [child(group, at(1), at(2))])
    [hierarchy] = billing_service.get_split_line_hierarchies_for_subscription(NS, SUB)
    assert hierarchy.group.id == group.id
    assert [c.line.id for c in hierarchy.children] == [line.id]
    assert hierarchy.children[0].invoice.kind == "gathering"
    assert hierarchy.last_child().line.id == line.id


def test_a_child_with_an_identity_or_naming_a_missing_or_deleted_group_is_refused(billing_service, store, group):
    before = db_snapshot(store)
    with pytest.raises(BillingValidationError, match="must not carry an identity"):
        billing_service.create_pending_invoice_lines(
            NS, CUSTOMER, "USD", [child(group, at(1), at(2)).model_copy(update={"child_unique_reference_id": "x"})])
    with pytest.raises(NotFoundError, match="does not exist"):
        billing_service.create_pending_invoice_lines(
            NS, CUSTOMER, "USD", [child(group, at(1), at(2)).model_copy(update={"split_line_group_id": "nope"})])
    assert db_snapshot(store) == before
    billing_service.delete_split_line_group(NS, group.id)
    with pytest.raises(ConflictError, match="is deleted"):
        billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [child(group, at(1), at(2))])


def test_update_changes_only_the_set_fields(billing_service, group):
    updated = billing_service.update_split_line_group(
        NS, group.id, GroupChanges(service_period=period(at(1), at(1, 20)), rate_card_discounts=Discounts(usage=5))
    )
    assert updated.service_period == period(at(1), at(1, 20))
    assert updated.rate_card_discounts == Discounts(usage=5)
    assert (updated.name, updated.price) == (group.name, group.price)
    cleared = billing_service.update_split_line_group(NS, group.id, GroupChanges(rate_card_discounts=None))
    assert cleared.rate_card_discounts is None and cleared.service_period == updated.service_period


def test_update_refuses_an_inverted_period_or_a_deleted_group(billing_service, store, group):
    before = db_snapshot(store)
    with pytest.raises(BillingValidationError):
        billing_service.update_split_line_group(NS, group.id, GroupChanges(service_period=period(at(2), at(1))))
    assert db_snapshot(store) == before
    billing_service.delete_split_line_group(NS, group.id)
    with pytest.raises(ConflictError):
        billing_service.update_split_line_group(NS, group.id, GroupChanges(name="x"))


def test_delete_refuses_a_live_child_and_a_repeat_delete_is_a_no_op(billing_service, store, group, clock):
    [line] = billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [child(group, at(1), at(2))])
    before = db_snapshot(store)
    with pytest.raises(ConflictError, match="live child"):
        billing_service.delete_split_line_group(NS, group.id)
    assert db_snapshot(store) == before

    clock.set(at(1, 5))
    billing_service.update_gathering_invoice(NS, line.invoice_id, delete_line_ids=[line.id])
    billing_service.delete_split_line_group(NS, group.id)
    assert billing_service.get_split_line_group(NS, group.id).deleted_at == at(1, 5)
    assert billing_service.get_split_line_hierarchies_for_subscription(NS, SUB) == []
    clock.set(at(1, 6))
    billing_service.delete_split_line_group(NS, group.id)
    assert billing_service.get_split_line_group(NS, group.id).deleted_at == at(1, 5)


def test_one_live_group_per_identity(billing_service, group):
    from billing.errors import StoreIntegrityError

    with pytest.raises(StoreIntegrityError):
        billing_service.create_split_line_group(NS, new_group())
    billing_service.delete_split_line_group(NS, group.id)
    assert billing_service.create_split_line_group(NS, new_group()).id != group.id
