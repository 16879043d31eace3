"""The ``PersistedLookup`` adapter, row by row of targetstate.md §5.10."""

from __future__ import annotations

import pytest

from billing.lines import ANNOTATION_FORCE_CONTINUOUS_LINES as FORCE
from billing.lines import ANNOTATION_SYNC_IGNORE as IGNORE
from persistedstate import (
    FlatFeeChargeItem,
    InvoiceLineItem,
    InvoiceSnapshot,
    PersistedState,
    SplitLineGroupItem,
    UsageBasedChargeItem,
    lookup_of,
)
from tests.persistedstate.builders import at, flat_charge, hierarchy, ident, invoice, period, stored_line, usage_charge

ANNOTATED = {IGNORE: True, FORCE: True}
INVOICES = [InvoiceSnapshot.of(invoice("inv-g")), InvoiceSnapshot.of(invoice("inv-s", kind="standard"))]


def state(*items):  # type: ignore[no-untyped-def]
    return PersistedState.of(items, INVOICES)


def test_an_unknown_identity_has_no_record():
    lookup = lookup_of(state(InvoiceLineItem(line=stored_line(ident()))))
    assert lookup.get(ident(index=1)) is None
    assert lookup_of(PersistedState.empty()).get(ident()) is None


@pytest.mark.parametrize("managed_by", ["subscription", "manual"])
def test_invoice_line_record_is_the_line_itself(managed_by):
    line = stored_line(ident(), managed_by=managed_by, annotations=ANNOTATED, service_period=period(at(1), at(1, 20)))
    record = lookup_of(state(InvoiceLineItem(line=line))).get(ident())
    assert record.managed_by_subscription is (managed_by == "subscription")
    assert dict(record.annotations) == ANNOTATED
    assert record.service_period_end == at(1, 20)


def test_split_group_record_takes_ownership_and_annotations_from_the_live_child_ending_at_the_group_end():
    item = SplitLineGroupItem(hierarchy=hierarchy(ident("api"), [
        (at(1), at(1, 10), {"kind": "standard", "invoice_id": "inv-s", "managed_by": "manual"}),
        (at(1, 10), at(2), {"annotations": ANNOTATED}),
    ], service_period=period(at(1), at(2))))
    record = lookup_of(state(item)).get(ident("api"))
    assert record.managed_by_subscription is True
    assert dict(record.annotations) == ANNOTATED
    assert record.service_period_end == at(2)


def test_split_group_without_such_a_child_is_not_managed_has_no_annotations_and_keeps_the_group_end():
    item = SplitLineGroupItem(hierarchy=hierarchy(ident("api"), [
        (at(1), at(1, 10), {"annotations": ANNOTATED}),
        (at(1, 10), at(2), {"annotations": ANNOTATED, "deleted_at": at(1, 11)}),
    ], service_period=period(at(1), at(2))))
    record = lookup_of(state(item)).get(ident("api"))
    assert record.managed_by_subscription is False
    assert dict(record.annotations) == {}
    assert record.service_period_end == at(2)


@pytest.mark.parametrize("make, item_type", [(flat_charge, FlatFeeChargeItem), (usage_charge, UsageBasedChargeItem)])
def test_charge_record_is_the_base_intent(make, item_type):
    charge = make(ident(), annotations=ANNOTATED, service_period=period(at(1), at(1, 25)))
    override = charge.base.model_copy(update={"managed_by": "manual", "annotations": {},
                                               "service_period": period(at(1), at(2))})
    record = lookup_of(state(item_type(charge=charge.model_copy(update={"override": override})))).get(ident())
    assert record.managed_by_subscription is True
    assert dict(record.annotations) == ANNOTATED
    assert record.service_period_end == at(1, 25)
    manual = make(ident(), managed_by="manual")
    assert lookup_of(state(item_type(charge=manual))).get(ident()).managed_by_subscription is False


def test_records_are_read_only():
    record = lookup_of(state(InvoiceLineItem(line=stored_line(ident(), annotations={IGNORE: True})))).get(ident())
    with pytest.raises(TypeError):
        record.annotations[FORCE] = True  # type: ignore[index]
    with pytest.raises(ValueError):
        record.managed_by_subscription = False  # type: ignore[misc]
