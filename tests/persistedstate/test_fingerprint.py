"""The fingerprint (reconciler.md §2.7): canonical JSON, stable while nothing changes, different after
any change to a loaded row (``updated_at`` and sub-second instants included), blind to rows the
subscription does not own."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal

import pytest

from billing.charges.store import ChargeStore
from billing.invoices import ValidationIssue
from billing.operations.line_edits import LineEdit
from billing.split_lines import GroupChanges
from persistedstate import canonical_json, fingerprint, load_persisted_state
from persistedstate.fingerprint import canonical_value
from tests.persistedstate.builders import (
    CUSTOMER,
    NS,
    OTHER_CUSTOMER,
    OTHER_SUB,
    SUB,
    FakeBilling,
    FakeCharges,
    at,
    flat_charge,
    hierarchy,
    ident,
    invoice,
    make_customer,
    monthly,
    new_flat,
    new_usage,
    stored_line,
)
from tests.persistedstate.store_helpers import load, write_row

SECOND = dt.timedelta(seconds=1)


# -- canonical JSON ---------------------------------------------------------------------------------

def test_canonical_json_sorts_keys_drops_whitespace_and_writes_decimals_and_instants_as_strings():
    value = {"b": [Decimal("1.50"), (1, True, None)], "a": {"z": dt.datetime(2024, 1, 1, 1, tzinfo=dt.timezone(
        dt.timedelta(hours=1))), "y": dt.datetime(2024, 1, 1, 0, 0, 0, 5, tzinfo=dt.timezone.utc)}}
    assert canonical_json(value) == (
        '{"a":{"y":"2024-01-01T00:00:00.000005Z","z":"2024-01-01T00:00:00Z"},"b":["1.50",[1,true,null]]}'
    )


def test_canonical_json_refuses_naive_instants_and_unknown_objects():
    with pytest.raises(ValueError, match="naive"):
        canonical_json({"at": dt.datetime(2024, 1, 1)})
    with pytest.raises(TypeError):
        canonical_json({"x": object()})


def test_the_fingerprint_is_the_sha256_of_the_canonical_document():
    line = stored_line(ident(), invoice_id="inv-g")
    state = load_persisted_state(FakeBilling(gathering=[line], invoices=[invoice("inv-g")]), namespace=NS,
                                 subscription_id=SUB, customer_id=CUSTOMER)
    item, snapshot = state.get(ident()), state.invoices["inv-g"]
    document = {"format": "subsync.persisted-state/1",
                "items": [{"shape": "invoice.line", "identity": ident(), "payload": item.line}],
                "invoices": [snapshot]}
    assert state.fingerprint == hashlib.sha256(canonical_json(document).encode()).hexdigest()
    assert state.fingerprint == fingerprint([item], [snapshot])


def test_the_fingerprint_does_not_depend_on_the_order_rows_come_back_in():
    lines = [stored_line(ident(index=i), invoice_id="inv-g") for i in range(4)]
    anonymous = [stored_line(None, invoice_id="inv-g", managed_by="manual") for _ in range(2)]
    groups = [hierarchy(ident("api", i), [(at(1), at(2), {})], group_id=f"grp-{i}") for i in range(3)]
    charges = [flat_charge(ident("charged", i)) for i in range(3)]
    invoices = [invoice("inv-g")]

    def print_of(order):  # type: ignore[no-untyped-def]
        billing = FakeBilling(gathering=order(lines + anonymous), hierarchies=order(groups), invoices=invoices)
        return load_persisted_state(billing, namespace=NS, subscription_id=SUB, customer_id=CUSTOMER,
                                    charges=FakeCharges(order(charges))).fingerprint

    assert print_of(list) == print_of(lambda xs: list(reversed(xs)))


# -- on the store -----------------------------------------------------------------------------------

@pytest.fixture
def world(billing_service, store, clock):
    """A line on a draft standard invoice, a split usage line (children on the draft and on the
    gathering invoice), a pending line and a flat-fee charge."""
    make_customer(billing_service, progressive=True)
    fee, pending, _ = billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [
        new_flat(ident("fee", 0)), new_flat(ident("fee", 1), service_period=monthly(1)), new_usage(ident("api", 0))])
    clock.set(at(1, 10))
    [draft] = billing_service.invoice_pending_lines(NS, CUSTOMER)
    [h] = billing_service.get_split_line_hierarchies_for_subscription(NS, SUB)
    charge = ChargeStore(store).create_charge(flat_charge(ident("charged", 0)))
    clock.set(at(1, 11))
    return {"fee": fee, "pending": pending, "draft": draft, "hierarchy": h, "charge": charge}


def bump(value):  # type: ignore[no-untyped-def]
    return value + SECOND


CHANGES = {
    "line edited": lambda b, s, w: b.edit_line(NS, w["draft"].id, w["fee"].id, LineEdit(name="renamed")),
    "line updated_at only": lambda b, s, w: write_row(s, "line", w["pending"].id, updated_at=bump(w["pending"].updated_at)),
    "line sub-second instant": lambda b, s, w: write_row(
        s, "line", w["pending"].id, invoice_at=w["pending"].invoice_at + dt.timedelta(microseconds=1)),
    "new line": lambda b, s, w: b.create_pending_invoice_lines(NS, CUSTOMER, "USD", [
        new_flat(ident("fee", 2), service_period=monthly(2))]),
    "invoice status": lambda b, s, w: b.approve_invoice(NS, w["draft"].id),
    "invoice updated_at only": lambda b, s, w: write_row(s, "invoice", w["draft"].id, updated_at=bump(w["draft"].updated_at)),
    "group changed": lambda b, s, w: b.update_split_line_group(
        NS, w["hierarchy"].group.id, GroupChanges(name="api calls")),
    "split child updated_at only": lambda b, s, w: write_row(
        s, "line", w["hierarchy"].children[0].line.id, updated_at=bump(w["hierarchy"].children[0].line.updated_at)),
    "charge saved": lambda b, s, w: ChargeStore(s).save_charge(w["charge"].model_copy(update={"status": "active"})),
    "charge updated_at only": lambda b, s, w: write_row(s, "charge", w["charge"].id, updated_at=bump(w["charge"].updated_at)),
}

UNRELATED = {
    "another customer's line": lambda b, s, w: (
        make_customer(b, OTHER_CUSTOMER),
        b.create_pending_invoice_lines(NS, OTHER_CUSTOMER, "USD", [new_flat("sub-x/default/fee/v[0]/period[0]",
                                                                            subscription_id="sub-x")])),
    "another subscription's charge": lambda b, s, w: ChargeStore(s).create_charge(
        flat_charge(ident("fee", 0, OTHER_SUB), subscription_id=OTHER_SUB)),
    "a charge without identity": lambda b, s, w: ChargeStore(s).create_charge(flat_charge(None)),
}


def test_the_fingerprint_is_stable_while_nothing_changes(billing_service, world):
    first = load(billing_service)
    second = load(billing_service)
    assert first.fingerprint == second.fingerprint
    assert first == second


def test_canonical_json_of_a_loaded_state_is_the_json_of_its_canonical_value(billing_service, world):
    """The fast encoder (json's own, calling back for models, decimals and instants) writes exactly
    what the plain-data conversion ``canonical_value`` describes, on every kind of loaded artifact."""
    state = load(billing_service)
    document = {"items": [{"shape": i.shape, "identity": i.identity, "payload": i.payload}
                          for i in state.by_identity.values()],
                "invoices": list(state.invoices.values())}
    assert {item.shape for item in state.by_identity.values()} >= {
        "invoice.line", "invoice.split_line_group", "charge.flat_fee"}
    reference = json.dumps(canonical_value(document), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_json(document) == reference


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_any_change_to_a_loaded_row_changes_the_fingerprint(billing_service, store, world, change):
    before = load(billing_service).fingerprint
    CHANGES[change](billing_service, store, world)
    assert load(billing_service).fingerprint != before


@pytest.mark.parametrize("change", sorted(UNRELATED))
def test_rows_the_subscription_does_not_own_leave_the_fingerprint_alone(billing_service, store, world, change):
    before = load(billing_service).fingerprint
    UNRELATED[change](billing_service, store, world)
    assert load(billing_service).fingerprint == before


def test_a_validation_issue_on_an_immutable_invoice_changes_the_fingerprint(billing_service, world):
    billing_service.approve_invoice(NS, world["draft"].id)
    before = load(billing_service)
    assert before.invoices[world["draft"].id].invoice_class == "immutable"
    issue = ValidationIssue(severity="warning", code="immutable_invoice_handling_not_supported", message="drift",
                            component="subscription-sync", path=f"lines/{world['fee'].id}")
    billing_service.upsert_validation_issues(NS, world["draft"].id, [issue])
    after = load(billing_service)
    assert after.invoices[world["draft"].id].validation_issues == (issue,)
    assert after.fingerprint != before.fingerprint
