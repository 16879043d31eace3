"""The loader algorithm (reconciler.md §2.3) on fake ports: what is loaded, normalisation, indexing and
every integrity error of §2.4 with its scope, subscription, customer and identity."""

from __future__ import annotations

import pytest

from persistedstate import (
    DuplicateIdentityError,
    InvalidChargeError,
    InvalidPeriodError,
    MissingInvoiceError,
    PersistedStateIntegrityError,
    UnknownItemTypeError,
    UnsupportedItemTypeError,
    load_persisted_state,
)
from tests.persistedstate.builders import (
    CUSTOMER,
    NS,
    SUB,
    FakeBilling,
    FakeCharges,
    assert_context,
    at,
    credit_purchase,
    flat_charge,
    hierarchy,
    ident,
    invoice,
    period,
    ref,
    stored_line,
    usage_charge,
)

GATHERING = invoice("inv-g")
STANDARD = invoice("inv-s", kind="standard", line_ids=("x",))
INVOICES = [GATHERING, STANDARD]


def load(billing, charges=None):  # type: ignore[no-untyped-def]
    return load_persisted_state(billing, namespace=NS, subscription_id=SUB, customer_id=CUSTOMER, charges=charges)


def raises(error_type, billing, charges=None):  # type: ignore[no-untyped-def]
    with pytest.raises(error_type) as caught:
        load(billing, charges)
    assert isinstance(caught.value, PersistedStateIntegrityError)
    return caught.value


# -- what is loaded ---------------------------------------------------------------------------------

def test_ports_are_asked_for_the_subscription_and_invoices_with_deleted_line_ids_and_issues():
    line = stored_line(ident(), invoice_id="inv-g")
    billing, charges = FakeBilling(gathering=[line], invoices=INVOICES), FakeCharges()
    load(billing, charges)
    assert billing.calls[:3] == [("standard", (NS, SUB)), ("gathering", (NS, SUB)), ("hierarchies", (NS, SUB))]
    assert billing.calls[3] == ("list_invoices", (NS, ("inv-g",), True, True, True))
    assert charges.calls == [(NS, (SUB,), "base_intent")]


def test_nothing_persisted_gives_an_empty_state_without_listing_invoices():
    billing = FakeBilling(invoices=INVOICES)
    state = load(billing, FakeCharges())
    assert dict(state.by_identity) == {} and dict(state.invoices) == {}
    assert [name for name, _ in billing.calls] == ["standard", "gathering", "hierarchies"]
    assert len(state.fingerprint) == 64


def test_lines_outside_the_visibility_rule_are_dropped_even_if_the_port_returns_them():
    kept = [
        stored_line(ident(index=0), invoice_id="inv-g"),
        stored_line(ident(index=1), invoice_id="inv-s", kind="standard", managed_by="manual", deleted_at=at(1, 5)),
    ]
    dropped = [
        stored_line(ident(index=2), invoice_id="inv-g", deleted_at=at(1, 5)),                       # sync-deleted
        stored_line(ident(index=3), invoice_id="inv-g", charge_id="charge-1", engine="charge_flatfee"),
        stored_line(None, invoice_id="inv-g", split_line_group_id="grp-1"),                         # split child
        stored_line(ident(index=5), invoice_id="inv-g", subscription=ref(subscription_id="other")),
        stored_line(ident(index=6), invoice_id="inv-g", namespace="other-ns"),
    ]
    state = load(FakeBilling(gathering=[kept[0], *dropped], standard=[kept[1]], invoices=INVOICES))
    assert state.identities == [ident(index=0), ident(index=1)]
    assert state.get(ident(index=1)).line.deleted_at == at(1, 5)   # a manual tombstone


def test_lines_without_identity_are_not_indexed_but_their_invoices_are_loaded():
    anonymous = stored_line(None, invoice_id="inv-s", kind="standard", managed_by="manual")
    state = load(FakeBilling(standard=[anonymous], invoices=INVOICES))
    assert dict(state.by_identity) == {}
    assert list(state.invoices) == ["inv-s"]


def test_deleted_groups_are_not_loaded_and_live_groups_bring_every_child_and_invoice():
    live = hierarchy(ident("api"), [
        (at(1), at(1, 10), {"kind": "standard", "invoice_id": "inv-s"}),
        (at(1, 10), at(2), {"deleted_at": at(1, 20)}),
    ], group_id="grp-live")
    gone = hierarchy(ident("api", 1), group_id="grp-gone")
    gone = gone.model_copy(update={"group": gone.group.model_copy(update={"deleted_at": at(1, 3)})})
    state = load(FakeBilling(hierarchies=[live, gone], invoices=INVOICES))
    assert state.identities == [ident("api")]
    item = state.get(ident("api"))
    assert len(item.hierarchy.children) == 2
    assert sorted(state.invoices) == ["inv-g", "inv-s"]
    assert state.invoices["inv-s"].invoice_class == "mutable"
    assert state.invoices["inv-g"].invoice_class == "gathering"


def test_charges_without_identity_are_skipped_and_without_a_charges_port_none_are_loaded():
    charges = FakeCharges([flat_charge(ident()), usage_charge(None), flat_charge(None)])
    assert load(FakeBilling(), charges).identities == [ident()]
    assert load(FakeBilling(), None).identities == []


# -- normalisation (§2.2) ---------------------------------------------------------------------------

def test_lines_and_hierarchies_are_normalised_on_copies():
    odd = period(at(1, micro=250_000), at(2, micro=999_999))
    line = stored_line(ident(), invoice_id="inv-g", service_period=odd, invoice_at=at(1, micro=1),
                       subscription=ref(odd))
    h = hierarchy(ident("api"), [(at(1, micro=7), at(1, 10, micro=7), {"invoice_at": at(1, 10, micro=7)}),
                                 (at(1, 10, micro=7), at(2, micro=7), {})], service_period=odd)
    state = load(FakeBilling(gathering=[line], hierarchies=[h], invoices=INVOICES))

    loaded = state.get(ident()).line
    assert loaded.service_period == period(at(1), at(2))
    assert loaded.invoice_at == at(1)
    assert loaded.subscription.billing_period == period(at(1), at(2))
    group = state.get(ident("api")).hierarchy
    assert group.group.service_period == period(at(1), at(2))
    assert [c.line.service_period for c in group.children] == [period(at(1), at(1, 10)), period(at(1, 10), at(2))]
    assert group.children[0].line.invoice_at == at(1, 10)
    # The port's objects are untouched.
    assert line.service_period == odd and line.invoice_at == at(1, micro=1)
    assert h.group.service_period == odd and h.children[0].line.service_period.start == at(1, micro=7)


# -- §2.4: duplicates -------------------------------------------------------------------------------

@pytest.mark.parametrize("first, second, shapes", [
    ("line", "line", ("invoice.line", "invoice.line")),
    ("line", "group", ("invoice.line", "invoice.split_line_group")),
    ("group", "group", ("invoice.split_line_group", "invoice.split_line_group")),
])
def test_two_invoice_items_with_one_identity(first, second, shapes):
    identity = ident("api")
    lines, groups = [], []
    for n, kind in enumerate((first, second)):
        if kind == "line":
            lines.append(stored_line(identity, invoice_id="inv-g", price={"type": "unit", "amount": "1"}))
        else:
            groups.append(hierarchy(identity, [(at(1), at(2), {})], group_id=f"grp-{n}"))
    error = raises(DuplicateIdentityError, FakeBilling(gathering=lines, hierarchies=groups, invoices=INVOICES))
    assert error.scope == "invoice"
    assert (error.first_shape, error.second_shape) == shapes
    assert_context(error, identity)


def test_two_charges_with_one_identity():
    charges = FakeCharges([flat_charge(ident()), usage_charge(ident())])
    error = raises(DuplicateIdentityError, FakeBilling(), charges)
    assert (error.scope, error.first_shape, error.second_shape) == ("charge", "charge.flat_fee", "charge.usage_based")
    assert_context(error, ident())


def test_one_identity_on_an_invoice_item_and_a_charge():
    billing = FakeBilling(standard=[stored_line(ident(), kind="standard", invoice_id="inv-s")], invoices=INVOICES)
    error = raises(DuplicateIdentityError, billing, FakeCharges([flat_charge(ident())]))
    assert (error.scope, error.first_shape, error.second_shape) == ("cross_backend", "invoice.line", "charge.flat_fee")
    assert_context(error, ident())


def test_charge_duplicates_are_reported_before_cross_backend_ones():
    billing = FakeBilling(gathering=[stored_line(ident(), invoice_id="inv-g")], invoices=INVOICES)
    error = raises(DuplicateIdentityError, billing, FakeCharges([flat_charge(ident()), flat_charge(ident())]))
    assert error.scope == "charge"


# -- §2.4: missing invoices -------------------------------------------------------------------------

def test_a_line_on_a_missing_invoice():
    billing = FakeBilling(gathering=[stored_line(ident(), invoice_id="inv-gone")], invoices=INVOICES)
    error = raises(MissingInvoiceError, billing)
    assert error.invoice_id == "inv-gone"
    assert str(error).startswith("invoice not found for persisted subscription state: inv-gone")
    assert_context(error, ident())


def test_a_split_child_on_a_missing_invoice_names_the_group_identity():
    h = hierarchy(ident("api"), [(at(1), at(1, 10), {"invoice_id": "inv-gone", "kind": "standard"}),
                                 (at(1, 10), at(2), {})])
    error = raises(MissingInvoiceError, FakeBilling(hierarchies=[h], invoices=INVOICES))
    assert error.invoice_id == "inv-gone"
    assert_context(error, ident("api"))


# -- §2.4: item types -------------------------------------------------------------------------------

def test_a_credit_purchase_tied_to_the_subscription_is_unsupported():
    error = raises(UnsupportedItemTypeError, FakeBilling(), FakeCharges([credit_purchase(ident("credits"))]))
    assert isinstance(error, UnknownItemTypeError)
    assert error.item_type == "credit_purchase"
    assert "credit purchase charges tied to subscriptions are unsupported" in str(error)
    assert_context(error, ident("credits"))


def test_an_unknown_charge_type():
    odd = flat_charge(ident()).model_copy(update={"type": "prepaid_bundle"})
    error = raises(UnknownItemTypeError, FakeBilling(), FakeCharges([odd]))
    assert not isinstance(error, UnsupportedItemTypeError)
    assert error.item_type == "prepaid_bundle"
    assert_context(error, ident())


# -- §2.4: periods ----------------------------------------------------------------------------------

INVERTED = period(at(1, 20), at(1, 10))


@pytest.mark.parametrize("where, field", [("line", "service_period"), ("billing_period", "subscription.billing_period")])
def test_an_inverted_line_period(where, field):
    if where == "line":
        line = stored_line(ident(), invoice_id="inv-g", service_period=INVERTED, subscription=ref())
    else:
        line = stored_line(ident(), invoice_id="inv-g", subscription=ref(INVERTED))
    error = raises(InvalidPeriodError, FakeBilling(gathering=[line], invoices=INVOICES))
    assert error.field == field and error.period == INVERTED
    assert_context(error, ident())


def test_an_inverted_group_or_child_period_names_the_group_identity():
    inverted_group = hierarchy(ident("api"), [(at(1), at(2), {})], service_period=INVERTED)
    error = raises(InvalidPeriodError, FakeBilling(hierarchies=[inverted_group], invoices=INVOICES))
    assert error.field == "service_period" and "split-line group" in str(error)
    assert_context(error, ident("api"))
    inverted_child = hierarchy(ident("api"), [(at(1, 20), at(1, 10), {}), (at(1, 10), at(2), {})])
    error = raises(InvalidPeriodError, FakeBilling(hierarchies=[inverted_child], invoices=INVOICES))
    assert error.field == "service_period" and "child line" in str(error)
    assert_context(error, ident("api"))


def test_a_period_is_inverted_only_after_normalisation_and_empty_periods_are_valid():
    empty = stored_line(ident(), invoice_id="inv-g", service_period=period(at(1), at(1)))
    # [00:00:00.9, 00:00:00.2) is inverted as stored but empty once truncated: valid.
    sub_second = stored_line(ident(index=1), invoice_id="inv-g",
                             service_period=period(at(1, micro=900_000), at(1, micro=200_000)))
    state = load(FakeBilling(gathering=[empty, sub_second], invoices=INVOICES))
    assert state.get(ident(index=1)).service_period == period(at(1), at(1))


@pytest.mark.parametrize("field", ["service_period", "full_service_period", "billing_period"])
@pytest.mark.parametrize("make", [flat_charge, usage_charge])
def test_an_inverted_charge_base_period(make, field):
    charge = make(ident())
    charge = charge.model_copy(update={"base": charge.base.model_copy(update={field: INVERTED})})
    error = raises(InvalidPeriodError, FakeBilling(), FakeCharges([charge]))
    assert error.field == f"base.{field}"
    assert_context(error, ident())


def test_an_inverted_override_period_is_not_the_loaders_business():
    charge = flat_charge(ident())
    charge = charge.model_copy(update={"override": charge.base.model_copy(update={"service_period": INVERTED})})
    assert load(FakeBilling(), FakeCharges([charge])).identities == [ident()]


# -- §2.4: invalid charges --------------------------------------------------------------------------

@pytest.mark.parametrize("charge, reason", [
    (flat_charge(ident(), customer_id="cust-other"), "belongs to customer 'cust-other'"),
    (flat_charge(ident()).model_copy(update={"namespace": "other-ns"}), "belongs to namespace 'other-ns'"),
    (flat_charge(ident()).model_copy(update={"currency": ""}), "has no currency"),
    (flat_charge(ident()).model_copy(update={"unique_reference_id": ""}), "empty unique_reference_id"),
    (usage_charge(ident(), price={"type": "flat", "amount": "5"}), "flat price"),
    (usage_charge(ident(), feature_key=""), "no feature key"),
], ids=["foreign-customer", "foreign-namespace", "no-currency", "empty-identity", "usage-with-flat-price",
        "usage-without-feature"])
def test_an_invalid_charge(charge, reason):
    error = raises(InvalidChargeError, FakeBilling(), FakeCharges([charge]))
    assert error.charge_id == charge.id
    assert reason in error.reason
    assert_context(error, charge.unique_reference_id)


def test_a_charge_whose_type_disagrees_with_its_model_is_invalid():
    odd = flat_charge(ident()).model_copy(update={"type": "usage_based"})
    error = raises(InvalidChargeError, FakeBilling(), FakeCharges([odd]))
    assert "FlatFeeCharge" in error.reason
    assert_context(error, ident())
