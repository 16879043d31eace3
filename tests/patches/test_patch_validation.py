"""Invalid patches, steps and changes cannot be built (reconciler.md §4.3–§4.5, §11 item 7)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pydantic import ValidationError

from billing.split_lines import GroupChanges as BillingGroupChanges
from patches.model import (
    ChargeCreate,
    ChargeDelete,
    ChargeExtend,
    ChargePeriodChanges,
    ChargeShrink,
    GroupChanges,
    GroupDelete,
    GroupUpdate,
    LineChanges,
    LineCreate,
    LineDelete,
    LineRef,
    LineUpdate,
    Patch,
)
from tests.patches.builders import (
    GATHERING_ID,
    at,
    change,
    child,
    create_step,
    flat,
    flat_intent,
    new_line,
    period,
    standalone,
    unit,
    usage_intent,
)

LINE_ID = "sub-1/main/api/v[0]/period[0]"
GROUP = "GROUP-1"
JAN = period("2025-01-01", "2025-02-01")
JAN_SHORT = period("2025-01-01", "2025-01-20")


def line_ref(identity: str = LINE_ID) -> LineRef:
    return standalone("LINE-1", GATHERING_ID, identity, "2025-01-01", "2025-02-01")


def child_ref(line_id: str = "LINE-2", group: str = GROUP) -> LineRef:
    return child(line_id, GATHERING_ID, group, "2025-01-10", "2025-02-01")


def shrink_values(**overrides) -> ChargePeriodChanges:
    values = dict(
        service_period_end=change(at("2026-04-01"), at("2026-03-01")),
        full_service_period_end=change(at("2026-04-01"), at("2026-04-01")),
        billing_period_end=change(at("2026-05-01"), at("2026-05-01")),
        invoice_at=change(at("2026-01-01"), at("2026-01-01")),
    )
    values.update(overrides)
    return ChargePeriodChanges(**values)


def extend_values() -> ChargePeriodChanges:
    return ChargePeriodChanges(
        service_period_end=change(at("2026-02-01"), at("2026-03-01")),
        full_service_period_end=change(at("2026-04-01"), at("2026-04-01")),
        billing_period_end=change(at("2026-05-01"), at("2026-02-15")),
        invoice_at=change(at("2026-01-01"), at("2026-01-01")),
    )


def period_update(ref: LineRef | None = None) -> LineUpdate:
    return LineUpdate(line=ref or line_ref(), changes=LineChanges(service_period=change(JAN, JAN_SHORT)))


def group_update(group: str = GROUP) -> GroupUpdate:
    return GroupUpdate(group_id=group, changes=GroupChanges(service_period=change(JAN, JAN_SHORT)))


def line_create(identity: str | None = LINE_ID, group: str | None = None) -> LineCreate:
    return create_step(
        new_line(identity=identity, group_id=group, service_period=JAN, invoice_at=at("2025-02-01"), price=unit("1"))
    )


def patch(operation: str, shape: str, *steps, identity: str = LINE_ID) -> Patch:
    return Patch(operation=operation, identity=identity, shape=shape, subscription_id="sub-1", steps=steps)


# --- changes -------------------------------------------------------------------------------------


INVALID_CHANGES = [
    ("no field set", lambda: LineChanges(), "at least one field must change"),
    ("equal periods", lambda: LineChanges(service_period=change(JAN, JAN)), "service_period does not change"),
    (
        "equal amounts by value",
        lambda: LineChanges(per_unit_amount=change(Decimal("6.00"), Decimal("6"))),
        "per_unit_amount does not change",
    ),
    ("equal names", lambda: LineChanges(name=change("a", "a")), "name does not change"),
    ("equal null tax config", lambda: LineChanges(tax_config=change(None, None)), "tax_config does not change"),
    (
        "inverted new period",
        lambda: LineChanges(service_period=change(JAN, period("2025-02-01", "2025-01-01"))),
        "ends before it starts",
    ),
    ("empty new name", lambda: LineChanges(name=change("a", "")), "new name must be non-empty"),
    (
        "amount and price together",
        lambda: LineChanges(per_unit_amount=change(Decimal(6), Decimal(5)), price=change(unit("1"), unit("2"))),
        "exclusive",
    ),
    (
        "flat amount change through price",
        lambda: LineChanges(price=change(flat("6"), flat("5"))),
        "is a per_unit_amount change",
    ),
    (
        "flat to usage price",
        lambda: LineChanges(price=change(flat("6"), unit("5"))),
        "may not switch between flat and usage",
    ),
    ("negative amount", lambda: LineChanges(per_unit_amount=change(Decimal(1), Decimal(-1))), "must not be negative"),
    ("float amount", lambda: LineChanges(per_unit_amount=change(Decimal(1), 0.5)), "not floats"),
    (
        "deleting through deleted_at",
        lambda: LineChanges(deleted_at=change(None, at("2025-01-05"))),
        "may only be cleared",
    ),
    ("naive instant", lambda: LineChanges(invoice_at=change(at("2025-01-01"), dt.datetime(2025, 2, 1))), "timezone"),
    ("empty group changes", lambda: GroupChanges(), "at least one field must change"),
    ("equal group names", lambda: GroupChanges(name=change("x", "x")), "name does not change"),
    ("flat group price", lambda: GroupChanges(price=change(unit("1"), flat("1"))), "never flat"),
    ("charge values without a service end move", lambda: shrink_values(service_period_end=change(at("2026-04-01"), at("2026-04-01"))), "service_period_end must change"),
    (
        "charge value below a second",
        lambda: shrink_values(invoice_at=change(at("2026-01-01"), at("2026-01-01T00:00:00.500"))),
        "not a whole second",
    ),
    ("charge values missing one", lambda: ChargePeriodChanges(service_period_end=change(at("2026-04-01"), at("2026-03-01"))), "Field required"),
]


@pytest.mark.parametrize(("case", "build", "message"), INVALID_CHANGES, ids=[case for case, _, _ in INVALID_CHANGES])
def test_invalid_changes_fail_validation(case, build, message):
    with pytest.raises(ValidationError, match=message):
        build()


def test_line_changes_accept_every_real_change():
    changes = LineChanges(
        service_period=change(JAN, JAN_SHORT),
        invoice_at=change(at("2025-02-01"), at("2025-01-20")),
        rate_card_discounts=change(None, {"percentage": "10"}),
        name=change("old", "new"),
        tax_config=change({"behavior": "exclusive", "code": "txcd_1"}, None),
        deleted_at=change(at("2025-01-05"), None),
    )
    assert [name for name, _ in changes.items()] == [
        "service_period", "invoice_at", "rate_card_discounts", "name", "tax_config", "deleted_at"
    ]
    assert changes.is_undelete


def test_flat_payment_term_change_is_a_price_change():
    changes = LineChanges(price=change(flat("6"), flat("6", "in_arrears")))
    assert changes.price.new.payment_term == "in_arrears"


def test_group_changes_hand_billing_only_the_set_fields():
    changes = GroupChanges(service_period=change(JAN, JAN_SHORT), rate_card_discounts=change({"usage": "5"}, None))
    billing = changes.to_billing()
    assert isinstance(billing, BillingGroupChanges)
    assert billing.updates() == {"service_period": JAN_SHORT, "rate_card_discounts": None}


# --- steps ---------------------------------------------------------------------------------------


INVALID_STEPS = [
    (
        "line ref with identity and group",
        lambda: LineRef(line_id="L", invoice_id="I", identity="x", split_line_group_id="g", service_period=JAN),
        "exactly one of identity",
    ),
    ("line ref with neither", lambda: LineRef(line_id="L", invoice_id="I", service_period=JAN), "exactly one of identity"),
    ("line ref without line id", lambda: LineRef(line_id="", invoice_id="I", identity="x", service_period=JAN), "at least 1 character"),
    ("new line with identity and group", lambda: line_create(LINE_ID, GROUP), "exactly one of an identity"),
    ("new line with neither", lambda: line_create(None, None), "exactly one of an identity"),
    (
        "manual new line",
        lambda: LineCreate(currency="USD", line=line_create().line.model_copy(update={"managed_by": "manual"})),
        "subscription-managed",
    ),
    (
        "charge-managed new line",
        lambda: LineCreate(currency="USD", line=line_create().line.model_copy(update={"charge_id": "CH"})),
        "charge-managed",
    ),
    ("new line without currency", lambda: LineCreate(currency="", line=line_create().line), "at least 1 character"),
    ("line step from the API", lambda: LineDelete(line=line_ref(), change_source="api"), "system"),
    ("shrink that extends", lambda: ChargeShrink(charge_id="CH-1", changes=extend_values()), "wrong way for charge_shrink"),
    ("extend that shrinks", lambda: ChargeExtend(charge_id="CH-1", changes=shrink_values()), "wrong way for charge_extend"),
    ("charge delete without id", lambda: ChargeDelete(charge_id=""), "at least 1 character"),
    ("other refund policy", lambda: ChargeDelete(charge_id="CH", refund_policy="refund"), "refund_as_credits"),
    ("group step without id", lambda: GroupDelete(group_id=""), "at least 1 character"),
    ("intent without identity", lambda: flat_intent(""), "must be non-empty"),
    ("manual intent", lambda: flat_intent("x", managed_by="manual"), "subscription-managed"),
    ("deleted intent", lambda: flat_intent("x", intent_deleted_at=at("2026-01-02")), "cannot be deleted"),
    ("usage intent with flat price", lambda: usage_intent("x", price=flat("1")), "needs a usage price"),
    (
        "intent with inverted period",
        lambda: usage_intent("x", billing_period=period("2026-02-01", "2026-01-01")),
        "billing_period .* ends before it starts",
    ),
]


@pytest.mark.parametrize(("case", "build", "message"), INVALID_STEPS, ids=[case for case, _, _ in INVALID_STEPS])
def test_invalid_steps_fail_validation(case, build, message):
    with pytest.raises(ValidationError, match=message):
        build()


def test_charge_extend_values_other_than_the_service_end_may_move_back():
    """S-038: cancelling a one-time in-advance fee extends the service end and shortens billing."""
    step = ChargeExtend(charge_id="CH-1", changes=extend_values())
    assert step.changes.billing_period_end.new < step.changes.billing_period_end.old


# --- patches -------------------------------------------------------------------------------------

LINE, GROUP_SHAPE, FLAT, USAGE = "invoice.line", "invoice.split_line_group", "charge.flat_fee", "charge.usage_based"

INVALID_PATCHES = [
    ("no steps", lambda: patch("prorate", LINE), "at least one step"),
    ("empty identity", lambda: patch("delete", LINE, LineDelete(line=line_ref()), identity=""), "at least 1 character"),
    ("charge step in prorate", lambda: patch("prorate", FLAT, ChargeShrink(charge_id="CH", changes=shrink_values())), "never prorated"),
    ("create with a delete step", lambda: patch("create", LINE, LineDelete(line=line_ref())), "holds only a line_create"),
    ("create with a delete and a create", lambda: patch("create", LINE, line_create(), LineDelete(line=line_ref())), "exactly one step"),
    ("group step in a line patch", lambda: patch("shrink", LINE, group_update()), "group_update is not allowed in shape invoice.line"),
    ("line step in a charge patch", lambda: patch("delete", FLAT, LineDelete(line=line_ref())), "line_delete is not allowed in shape charge.flat_fee"),
    ("charge step in a hierarchy patch", lambda: patch("delete", GROUP_SHAPE, ChargeDelete(charge_id="CH")), "charge_delete is not allowed"),
    ("delete holding an update", lambda: patch("delete", LINE, period_update()), "holds only deletes"),
    ("line create in a shrink", lambda: patch("shrink", LINE, line_create()), "belongs to a create patch"),
    ("line step on another identity", lambda: patch("delete", LINE, LineDelete(line=line_ref("sub-1/x/y/v[0]"))), "not the patch identity"),
    ("line step on a split child", lambda: patch("delete", LINE, LineDelete(line=child_ref())), "not the patch identity"),
    ("new line of another identity", lambda: patch("create", LINE, line_create("sub-1/x/y/v[0]")), "is not the patch's"),
    ("hierarchy create", lambda: patch("create", GROUP_SHAPE, line_create(None, GROUP)), "never creates a split-line hierarchy"),
    ("hierarchy delete with an update", lambda: patch("delete", GROUP_SHAPE, period_update(child_ref())), "holds only deletes"),
    ("hierarchy delete with a group update", lambda: patch("delete", GROUP_SHAPE, group_update()), "holds only deletes"),
    ("group delete in a shrink", lambda: patch("shrink", GROUP_SHAPE, GroupDelete(group_id=GROUP)), "group_delete belongs to a delete patch"),
    ("group step before a child step", lambda: patch("shrink", GROUP_SHAPE, group_update(), LineDelete(line=child_ref())), "after every child step"),
    ("two group steps", lambda: patch("shrink", GROUP_SHAPE, group_update(), group_update()), "after every child step"),
    ("two groups", lambda: patch("shrink", GROUP_SHAPE, LineDelete(line=child_ref()), group_update("GROUP-2")), "exactly one split-line group"),
    ("two steps for one child", lambda: patch("shrink", GROUP_SHAPE, LineDelete(line=child_ref()), period_update(child_ref())), "more than one step for the same child"),
    ("standalone line in a hierarchy", lambda: patch("shrink", GROUP_SHAPE, period_update()), "names a standalone line"),
    ("identity line created in a hierarchy", lambda: patch("extend", GROUP_SHAPE, line_create()), "creates split children only"),
    ("child created in a delete", lambda: patch("delete", GROUP_SHAPE, line_create(None, GROUP)), "holds only deletes"),
    ("two charge steps", lambda: patch("delete", FLAT, ChargeDelete(charge_id="A"), ChargeDelete(charge_id="B")), "exactly one charge step"),
    ("charge create with a delete", lambda: patch("create", FLAT, ChargeDelete(charge_id="A")), "holds one charge_create"),
    ("shrink patch with an extend step", lambda: patch("shrink", USAGE, ChargeExtend(charge_id="A", changes=extend_values())), "holds one charge_shrink"),
    ("usage intent in a flat-fee patch", lambda: patch("create", FLAT, ChargeCreate(intent=usage_intent(LINE_ID))), "usage_based intent in shape charge.flat_fee"),
    ("intent of another identity", lambda: patch("create", USAGE, ChargeCreate(intent=usage_intent("other"))), "is not the patch's"),
]


@pytest.mark.parametrize(("case", "build", "message"), INVALID_PATCHES, ids=[case for case, _, _ in INVALID_PATCHES])
def test_invalid_patches_fail_validation(case, build, message):
    with pytest.raises(ValidationError, match=message):
        build()


VALID_PATCHES = [
    ("line create", lambda: patch("create", LINE, line_create())),
    ("line delete", lambda: patch("delete", LINE, LineDelete(line=line_ref()))),
    ("usage line deleted on an emptied period", lambda: patch("shrink", LINE, LineDelete(line=line_ref()))),
    ("line prorate", lambda: patch("prorate", LINE, LineUpdate(line=line_ref(), changes=LineChanges(per_unit_amount=change(Decimal("6"), Decimal("0.19")))))),
    ("hierarchy: only the group step", lambda: patch("extend", GROUP_SHAPE, group_update())),
    ("hierarchy: deletes then group delete", lambda: patch("delete", GROUP_SHAPE, LineDelete(line=child_ref()), LineDelete(line=child_ref("LINE-3")), GroupDelete(group_id=GROUP))),
    ("hierarchy: child deletes only (D-03)", lambda: patch("delete", GROUP_SHAPE, LineDelete(line=child_ref()))),
    ("hierarchy: update, delete, new child, group", lambda: patch("extend", GROUP_SHAPE, period_update(child_ref("LINE-3")), LineDelete(line=child_ref()), line_create(None, GROUP), group_update())),
    ("flat-fee charge create", lambda: patch("create", FLAT, ChargeCreate(intent=flat_intent(LINE_ID)))),
    ("usage charge delete", lambda: patch("delete", USAGE, ChargeDelete(charge_id="CH"))),
    ("charge shrink", lambda: patch("shrink", USAGE, ChargeShrink(charge_id="CH", changes=shrink_values()))),
    ("charge extend", lambda: patch("extend", FLAT, ChargeExtend(charge_id="CH", changes=extend_values()))),
]


@pytest.mark.parametrize(("case", "build"), VALID_PATCHES, ids=[case for case, _ in VALID_PATCHES])
def test_valid_patches_build(case, build):
    built = build()
    assert built.steps
    assert hash(built) == hash(Patch.model_validate_json(built.model_dump_json()))


def test_patch_reports_its_charge_and_invoices():
    shrink = patch("shrink", USAGE, ChargeShrink(charge_id="CH-9", changes=shrink_values()))
    assert shrink.charge_id == "CH-9"
    assert patch("create", FLAT, ChargeCreate(intent=flat_intent(LINE_ID))).charge_id is None
    hierarchy = patch(
        "shrink",
        GROUP_SHAPE,
        LineDelete(line=child("LINE-2", "inv-2", GROUP, "2025-01-10", "2025-01-20")),
        LineDelete(line=child("LINE-3", GATHERING_ID, GROUP, "2025-01-20", "2025-02-01")),
        LineDelete(line=child("LINE-4", "inv-2", GROUP, "2025-01-01", "2025-01-10")),
    )
    assert hierarchy.invoice_ids == ("inv-2", GATHERING_ID)
