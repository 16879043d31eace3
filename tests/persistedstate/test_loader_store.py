"""The loader on the billing store (SQLite, and PostgreSQL when SUBSYNC_TEST_DATABASE_URL is set), with
data made by billing operations: what is loaded, referenced invoices only, the visibility rule,
hierarchies with every child, normalisation of old sub-second rows, and charges."""

from __future__ import annotations

import datetime as dt

from billing.charges.store import ChargeStore
from billing.operations.line_edits import LineEdit
from billing.split_lines import GroupChanges
from tests.persistedstate.builders import (
    CUSTOMER,
    NS,
    OTHER_CUSTOMER,
    OTHER_SUB,
    SUB,
    at,
    flat_charge,
    ident,
    make_customer,
    monthly,
    new_flat,
    new_usage,
    period,
    usage_charge,
)
from tests.persistedstate.store_helpers import load, write_row


def test_lines_on_gathering_and_standard_invoices_are_loaded_with_their_invoices(billing_service, clock):
    make_customer(billing_service)
    jan_fee, feb_fee, jan_api = billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [
        new_flat(ident("fee", 0)), new_flat(ident("fee", 1), service_period=monthly(1)), new_usage(ident("api", 0)),
    ])
    clock.set(at(1, 15))
    [standard] = billing_service.invoice_pending_lines(NS, CUSTOMER)

    state = load(billing_service)

    assert state.identities == [ident("api", 0), ident("fee", 0), ident("fee", 1)]
    assert {identity: item.shape for identity, item in state.by_identity.items()} == dict.fromkeys(
        state.identities, "invoice.line")
    assert state.get(ident("fee", 0)).line.invoice_id == standard.id
    assert type(state.get(ident("fee", 0)).line).__name__ == "StandardLine"
    assert state.get(ident("fee", 1)).line.invoice_id == jan_fee.invoice_id
    assert sorted(state.invoices) == sorted({standard.id, jan_fee.invoice_id})
    assert state.invoices[standard.id].invoice_class == "mutable"
    assert state.invoices[standard.id].line_ids == (jan_fee.id,)
    assert state.invoices[jan_fee.invoice_id].invoice_class == "gathering"
    assert state.invoices[jan_fee.invoice_id].line_ids is None

    clock.set(at(1, 20))
    billing_service.approve_invoice(NS, standard.id)
    assert load(billing_service).invoices[standard.id].invoice_class == "immutable"


def test_only_invoices_referenced_by_the_subscriptions_items_are_loaded(billing_service, clock):
    make_customer(billing_service)
    make_customer(billing_service, OTHER_CUSTOMER)
    [ours] = billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [new_flat(ident("fee", 0))])
    [ours_invoice] = billing_service.invoice_pending_lines(NS, CUSTOMER)
    # Another subscription of the same customer, invoiced separately, and one line on the shared
    # gathering invoice; another customer with its own invoices.
    billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [
        new_flat(ident("fee", 0, OTHER_SUB), subscription_id=OTHER_SUB)])
    [theirs_invoice] = billing_service.invoice_pending_lines(NS, CUSTOMER)
    [pending, _] = billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [
        new_flat(ident("fee", 1), service_period=monthly(1)),
        new_flat(ident("fee", 1, OTHER_SUB), service_period=monthly(1), subscription_id=OTHER_SUB),
    ])
    [foreign] = billing_service.create_pending_invoice_lines(NS, OTHER_CUSTOMER, "USD", [
        new_flat(ident("fee", 2, "sub-foreign"), subscription_id="sub-foreign")])

    state = load(billing_service)

    assert state.identities == [ident("fee", 0), ident("fee", 1)]
    assert sorted(state.invoices) == sorted([ours_invoice.id, pending.invoice_id])
    assert theirs_invoice.id not in state.invoices and foreign.invoice_id not in state.invoices
    assert set(state.invoices[ours_invoice.id].line_ids) == {ours.id}


def test_visibility_rule_sync_deleted_lines_are_absent_manual_tombstones_present_charge_lines_never(
        billing_service, clock):
    make_customer(billing_service)
    live, edited, api_deleted, sync_deleted = billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [
        new_flat(ident("fee", i), service_period=monthly(i)) for i in range(4)
    ])
    [charge_line] = billing_service.create_pending_invoice_lines(NS, CUSTOMER, "EUR", [
        new_flat(ident("fee", 9), charge_id="charge-9", engine="charge_flatfee")])
    gathering = live.invoice_id
    billing_service.edit_line(NS, gathering, edited.id, LineEdit(name="renamed"))
    billing_service.delete_line(NS, gathering, api_deleted.id, source="api")
    billing_service.update_gathering_invoice(NS, gathering, delete_line_ids=[sync_deleted.id])

    state = load(billing_service)

    assert state.identities == [ident("fee", 0), ident("fee", 1), ident("fee", 2)]
    assert state.get(ident("fee", 1)).line.managed_by == "manual"
    assert state.get(ident("fee", 1)).is_subscription_managed is False
    tombstone = state.get(ident("fee", 2)).line
    assert tombstone.deleted_at is not None and tombstone.managed_by == "manual"
    assert charge_line.invoice_id not in state.invoices
    assert list(state.invoices) == [gathering]


def test_a_manual_tombstone_keeps_its_deleted_standard_invoice_loaded(billing_service, clock):
    make_customer(billing_service)
    [fee] = billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [new_flat(ident("fee", 0))])
    [draft] = billing_service.invoice_pending_lines(NS, CUSTOMER)
    billing_service.delete_line(NS, draft.id, fee.id, source="api")   # the draft loses its last line

    state = load(billing_service)

    assert state.get(ident("fee", 0)).line.deleted_at is not None
    snapshot = state.invoices[draft.id]
    assert (snapshot.status, snapshot.immutable, snapshot.invoice_class) == ("deleted", True, "immutable")
    assert snapshot.line_ids == (fee.id,)


def split_usage(billing, clock, identities):  # type: ignore[no-untyped-def]
    """Progressive billing at 01-10 splits each January usage line into a group and two children."""
    make_customer(billing, progressive=True)
    billing.create_pending_invoice_lines(NS, CUSTOMER, "USD", [new_usage(identity) for identity in identities])
    clock.set(at(1, 10))
    [standard] = billing.invoice_pending_lines(NS, CUSTOMER)
    return standard, {h.group.unique_reference_id: h for h in billing.get_split_line_hierarchies_for_subscription(NS, SUB)}


def test_hierarchies_come_with_every_child_deleted_ones_included_and_deleted_groups_stay_out(billing_service, clock):
    standard, hierarchies = split_usage(billing_service, clock, [ident("api", 0), ident("api", 1)])
    kept, dropped = hierarchies[ident("api", 0)], hierarchies[ident("api", 1)]
    pre, post = sorted(kept.children, key=lambda c: c.line.service_period.start)
    gathering = post.line.invoice_id
    # The kept group loses its gathering child (deleted by the system: still part of the hierarchy).
    billing_service.update_gathering_invoice(NS, gathering, delete_line_ids=[post.line.id])
    # The dropped group loses both children, then is deleted itself.
    for c in dropped.children:
        if c.invoice.kind == "standard":
            billing_service.update_standard_invoice(NS, c.invoice.id, delete_line_ids=[c.line.id])
        elif c.line.deleted_at is None:
            billing_service.delete_line(NS, c.invoice.id, c.line.id, source="system")
    billing_service.delete_split_line_group(NS, dropped.group.id)

    state = load(billing_service)

    assert state.identities == [ident("api", 0)]          # split children are not standalone items
    item = state.get(ident("api", 0))
    assert item.shape == "invoice.split_line_group" and item.id == (NS, kept.group.id)
    assert [c.line.id for c in item.hierarchy.children] == [pre.line.id, post.line.id]
    assert item.hierarchy.children[1].line.deleted_at is not None
    assert item.service_period == period(at(1), at(2))
    assert item.last_line is None and item.is_subscription_managed is False
    assert state.invoices[standard.id].invoice_class == "mutable"
    assert state.invoices[gathering].invoice_class == "gone"     # emptied, so billing deleted it


def test_a_live_hierarchy_is_managed_through_its_gathering_child(billing_service, clock):
    standard, hierarchies = split_usage(billing_service, clock, [ident("api", 0)])
    state = load(billing_service)
    item = state.get(ident("api", 0))
    assert item.last_line.service_period == period(at(1, 10), at(2))
    assert item.is_subscription_managed is True
    assert state.line_ids == {c.line.id for c in hierarchies[ident("api", 0)].children}


def test_old_sub_second_rows_are_normalised_on_copies(billing_service, store, clock):
    _, hierarchies = split_usage(billing_service, clock, [ident("api", 0)])
    [fee] = billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [
        new_flat(ident("fee", 1), service_period=monthly(1))])
    micro = dt.timedelta(microseconds=654_321)
    write_row(store, "line", fee.id, service_period_start=at(2) + micro, service_period_end=at(3) + micro,
              invoice_at=at(2) + micro, subscription_billing_period_end=at(3) + micro)
    group = hierarchies[ident("api", 0)].group
    write_row(store, "group", group.id, service_period_end=at(2) + micro)

    state = load(billing_service)

    line = state.get(ident("fee", 1)).line
    assert line.service_period == period(at(2), at(3)) and line.invoice_at == at(2)
    assert line.subscription.billing_period == period(at(2), at(3))
    item = state.get(ident("api", 0))
    assert item.service_period == period(at(1), at(2))
    assert item.last_line is not None            # the gathering child ends at the truncated group end
    # The stored rows still hold their sub-second instants: the loader normalised copies.
    [stored] = [x for x in billing_service.get_gathering_lines_for_subscription(NS, SUB) if x.id == fee.id]
    assert stored.service_period.start == at(2) + micro and stored.invoice_at == at(2) + micro
    assert billing_service.get_split_line_group(NS, group.id).service_period.end == at(2) + micro


def test_charges_load_by_base_intent_and_without_identity_they_are_skipped(billing_service, store, clock):
    make_customer(billing_service)
    charges = ChargeStore(store)
    flat = charges.create_charge(flat_charge(ident("fee", 0)))
    usage = charges.create_charge(usage_charge(ident("api", 0)))
    charges.create_charge(flat_charge(None))
    override_deleted = charges.create_charge(flat_charge(ident("fee", 1), service_period=monthly(1)))
    charges.save_charge(override_deleted.model_copy(update={
        "override": override_deleted.base.model_copy(update={"intent_deleted_at": at(1, 2)})}))
    base_deleted = charges.create_charge(flat_charge(ident("fee", 2), service_period=monthly(2)))
    charges.save_charge(base_deleted.model_copy(update={
        "base": base_deleted.base.model_copy(update={"intent_deleted_at": at(1, 2)})}))
    charges.create_charge(flat_charge(ident("fee", 0, OTHER_SUB), subscription_id=OTHER_SUB))

    state = load(billing_service)

    assert state.identities == [ident("api", 0), ident("fee", 0), ident("fee", 1)]
    assert state.get(ident("fee", 0)).shape == "charge.flat_fee"
    assert state.get(ident("fee", 0)).id == (NS, flat.id)
    assert state.get(ident("api", 0)).shape == "charge.usage_based"
    assert state.get(ident("api", 0)).charge.id == usage.id
    assert dict(state.invoices) == {}                        # charges add no invoices
    assert load(billing_service, with_charges=False).identities == []


def test_group_changes_made_by_billing_are_seen(billing_service, clock):
    _, hierarchies = split_usage(billing_service, clock, [ident("api", 0)])
    group = hierarchies[ident("api", 0)].group
    billing_service.update_split_line_group(NS, group.id, GroupChanges(service_period=period(at(1), at(1, 20))))
    item = load(billing_service).get(ident("api", 0))
    assert item.service_period == period(at(1), at(1, 20))
    assert item.last_line is None            # no child ends at the group's new end yet
