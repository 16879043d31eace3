"""The §2.1 accessor table row by row, the last-line rule of hierarchies, and invoice classes."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from billing.lines import ANNOTATION_FORCE_CONTINUOUS_LINES as FORCE
from billing.lines import ANNOTATION_SYNC_IGNORE as IGNORE
from persistedstate import (
    FlatFeeChargeItem,
    InvoiceLineItem,
    InvoiceSnapshot,
    PersistedItem,
    SplitLineGroupItem,
    UsageBasedChargeItem,
)
from tests.persistedstate.builders import (
    JANUARY,
    NS,
    at,
    flat_charge,
    hierarchy,
    ident,
    invoice,
    period,
    stored_line,
    usage_charge,
)

ITEM = TypeAdapter(PersistedItem)
ANNOTATED = {IGNORE: True, FORCE: True}


def line_item(**fields):  # type: ignore[no-untyped-def]
    return InvoiceLineItem(line=stored_line(ident(), line_id="line-1", **fields))


def group_item(last_fields=None, **options):  # type: ignore[no-untyped-def]
    """A hierarchy [01-01, 02-01) with children [01-01, 01-10) and [01-10, 02-01) (the last line)."""
    return SplitLineGroupItem(hierarchy=hierarchy(ident("api"), [
        (at(1), at(1, 10), {"line_id": "child-a", "kind": "standard", "invoice_id": "inv-s"}),
        (at(1, 10), at(2), {"line_id": "child-b", **(last_fields or {})}),
    ], group_id="grp-1", **options))


def flat_item(**base):  # type: ignore[no-untyped-def]
    return FlatFeeChargeItem(charge=flat_charge(ident(), **base))


def usage_item(**base):  # type: ignore[no-untyped-def]
    return UsageBasedChargeItem(charge=usage_charge(ident("api"), **base))


# -- row `id` and `shape` ---------------------------------------------------------------------------

def test_id_is_namespace_and_artifact_id_and_shape_names_the_variant():
    line, group, flat, usage = line_item(), group_item(), flat_item(), usage_item()
    assert (line.id, line.shape) == ((NS, "line-1"), "invoice.line")
    assert (group.id, group.shape) == ((NS, "grp-1"), "invoice.split_line_group")
    assert (flat.id, flat.shape) == ((NS, flat.charge.id), "charge.flat_fee")
    assert (usage.id, usage.shape) == ((NS, usage.charge.id), "charge.usage_based")


# -- row `identity` ---------------------------------------------------------------------------------

def test_identity_comes_from_the_line_the_group_or_the_charge_intent():
    assert line_item().identity == ident()
    assert group_item().identity == ident("api")
    assert flat_item().identity == ident()
    assert usage_item().identity == ident("api")
    assert InvoiceLineItem(line=stored_line(None)).identity is None


# -- row `service_period` ---------------------------------------------------------------------------

def test_service_period_of_lines_and_groups_and_the_base_intent_of_charges():
    assert line_item(service_period=period(at(1, 5), at(1, 9))).service_period == period(at(1, 5), at(1, 9))
    assert group_item(service_period=period(at(1), at(3))).service_period == period(at(1), at(3))
    flat = flat_charge(ident(), service_period=period(at(1), at(1, 15)))
    override = flat.base.model_copy(update={"service_period": period(at(1), at(2, 15))})
    assert FlatFeeChargeItem(charge=flat.model_copy(update={"override": override})).service_period == \
        period(at(1), at(1, 15))
    usage = usage_charge(ident("api"), service_period=period(at(1), at(1, 20)))
    override = usage.base.model_copy(update={"service_period": JANUARY})
    assert UsageBasedChargeItem(charge=usage.model_copy(update={"override": override})).service_period == \
        period(at(1), at(1, 20))


# -- row `is_subscription_managed` ------------------------------------------------------------------

@pytest.mark.parametrize("managed_by, expected", [("subscription", True), ("manual", False), ("system", False)])
def test_a_line_is_managed_when_its_own_managed_by_is_subscription(managed_by, expected):
    assert line_item(managed_by=managed_by).is_subscription_managed is expected


@pytest.mark.parametrize("managed_by, expected", [("subscription", True), ("manual", False)])
def test_a_group_is_managed_when_its_last_line_is(managed_by, expected):
    assert group_item({"managed_by": managed_by}).is_subscription_managed is expected


def test_a_group_without_a_last_line_is_not_managed_and_has_no_annotation():
    deleted_last = group_item({"deleted_at": at(1, 15), "annotations": ANNOTATED})
    assert deleted_last.last_line is None
    assert deleted_last.is_subscription_managed is False
    assert deleted_last.has_last_line_annotation(IGNORE) is False
    short = SplitLineGroupItem(hierarchy=hierarchy(ident("api"), [(at(1), at(1, 10), {"annotations": ANNOTATED})]))
    assert short.last_line is None and short.is_subscription_managed is False
    assert short.has_last_line_annotation(FORCE) is False
    assert SplitLineGroupItem(hierarchy=hierarchy(ident("api"))).is_subscription_managed is False


@pytest.mark.parametrize("managed_by, expected", [("subscription", True), ("manual", False)])
def test_a_charge_is_managed_by_its_base_intent_not_its_override(managed_by, expected):
    flat = flat_charge(ident(), managed_by=managed_by)
    opposite = "manual" if managed_by == "subscription" else "subscription"
    flat = flat.model_copy(update={"override": flat.base.model_copy(update={"managed_by": opposite})})
    assert FlatFeeChargeItem(charge=flat).is_subscription_managed is expected
    usage = usage_charge(ident("api"), managed_by=managed_by)
    usage = usage.model_copy(update={"override": usage.base.model_copy(update={"managed_by": opposite})})
    assert UsageBasedChargeItem(charge=usage).is_subscription_managed is expected


# -- row `has_last_line_annotation(key)` ------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [(True, True), (False, False), ("true", False), (1, False), (None, False)])
def test_a_line_annotation_counts_only_when_it_is_boolean_true(value, expected):
    assert line_item(annotations={IGNORE: value}).has_last_line_annotation(IGNORE) is expected
    assert line_item(annotations={IGNORE: value}).has_last_line_annotation(FORCE) is False


def test_a_group_reads_annotations_from_its_last_line_only():
    on_last = group_item({"annotations": ANNOTATED})
    assert on_last.has_last_line_annotation(IGNORE) and on_last.has_last_line_annotation(FORCE)
    on_first = SplitLineGroupItem(hierarchy=hierarchy(ident("api"), [
        (at(1), at(1, 10), {"annotations": ANNOTATED}), (at(1, 10), at(2), {}),
    ]))
    assert on_first.has_last_line_annotation(IGNORE) is False
    # …but any child annotated sync.ignore, live or deleted, freezes the hierarchy (§2.5).
    assert on_first.is_sync_ignored is True
    assert group_item().is_sync_ignored is False


def test_a_charge_reads_annotations_from_its_base_intent():
    flat = flat_charge(ident(), annotations={FORCE: True})
    flat = flat.model_copy(update={"override": flat.base.model_copy(update={"annotations": {IGNORE: True}})})
    item = FlatFeeChargeItem(charge=flat)
    assert item.has_last_line_annotation(FORCE) is True
    assert item.has_last_line_annotation(IGNORE) is False
    assert UsageBasedChargeItem(charge=usage_charge(ident(), annotations={IGNORE: True})).has_last_line_annotation(IGNORE)


# -- row payload ------------------------------------------------------------------------------------

def test_payloads_are_the_billing_models():
    line, group, flat, usage = line_item(), group_item(), flat_item(), usage_item()
    assert line.payload is line.line
    assert group.payload is group.hierarchy and len(group.payload.children) == 2
    assert flat.payload is flat.charge and usage.payload is usage.charge


# -- the last line of a hierarchy -------------------------------------------------------------------

def test_last_line_is_the_first_live_child_in_start_end_id_order_ending_at_the_group_end():
    item = SplitLineGroupItem(hierarchy=hierarchy(ident("api"), [
        (at(1, 10), at(2), {"line_id": "c-zz", "managed_by": "manual"}),
        (at(1, 10), at(2), {"line_id": "c-aa", "deleted_at": at(1, 12)}),   # deleted: never the last line
        (at(1, 10), at(2), {"line_id": "c-mm"}),
        (at(1, 5), at(2), {"line_id": "c-xx", "deleted_at": at(1, 12)}),
        (at(1), at(1, 10), {"line_id": "c-00"}),                              # ends before the group
    ]))
    assert item.last_line.id == "c-mm"
    assert item.is_subscription_managed is True
    assert [c.line.id for c in item.ordered_children] == ["c-00", "c-xx", "c-aa", "c-mm", "c-zz"]


# -- the union and immutability ---------------------------------------------------------------------

def test_the_union_discriminates_on_shape_and_items_are_frozen():
    for item in (line_item(), group_item(), flat_item(), usage_item()):
        assert type(ITEM.validate_python(item.model_dump())) is type(item)
        with pytest.raises(ValidationError):
            item.shape = "invoice.line"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        ITEM.validate_python({"shape": "charge.credit_purchase"})


# -- invoice classes (§1.1) -------------------------------------------------------------------------

@pytest.mark.parametrize("kind, status, immutable, deleted, expected", [
    ("gathering", "gathering", False, False, "gathering"),
    ("gathering", "gathering", False, True, "gone"),
    ("standard", "draft.waiting_auto_approval", False, False, "mutable"),
    ("standard", "draft.manual_approval_needed", False, False, "mutable"),
    ("standard", "issued", True, False, "immutable"),
    ("standard", "paid", True, False, "immutable"),
    ("standard", "deleted", True, False, "immutable"),
])
def test_invoice_class(kind, status, immutable, deleted, expected):
    snapshot = InvoiceSnapshot.of(
        invoice("inv-1", kind=kind, status=status, immutable=immutable, deleted_at=at(2) if deleted else None,
                line_ids=("l-1", "l-2"))
    )
    assert snapshot.invoice_class == expected
    assert snapshot.deleted is deleted
    if kind == "standard":
        assert snapshot.line_ids == ("l-1", "l-2") and snapshot.validation_issues == ()
    else:
        assert snapshot.line_ids is None and snapshot.validation_issues is None
