"""Charge units and reference repairs (reconciler.md §5.3): the charges port is called once per plan,
after every invoice-side unit; without a port a plan with charge steps fails."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from billing.charges.models import ChargeSubscriptionReference
from patches.apply import ApplyPorts, ChargePatchInput, apply_plan
from patches.errors import ChargesUnavailableError, StalePlanError
from patches.model import (
    Change,
    ChargeCreate,
    ChargeDelete,
    ChargeExtend,
    ChargePeriodChanges,
    FlatFeeChargeIntent,
    Operation,
    Patch,
    ReferenceRepair,
    Shape,
)
from tests.sync.plans import CUSTOMER, at, create_patch, flat_new_line, make_plan, period


@dataclass
class Recorder:
    """A fake billing + charges port recording every call in order."""

    calls: list[tuple[str, Any]] = field(default_factory=list)
    item_ids: dict[str, str] = field(default_factory=dict)

    def create_pending_invoice_lines(self, namespace, customer_id, currency, lines):  # type: ignore[no-untyped-def]
        self.calls.append(("create_pending_invoice_lines", [line.child_unique_reference_id for line in lines]))
        return []

    def list_charges(self, namespace, *, subscription_ids, deleted_filter="base_intent"):  # type: ignore[no-untyped-def]
        @dataclass
        class Charge:
            id: str
            subscription: ChargeSubscriptionReference | None

        return [Charge(charge_id, ChargeSubscriptionReference(subscription_id="sub-1", phase_id="phase-1", item_id=item))
                for charge_id, item in self.item_ids.items()]

    def update_subscription_item_id(self, namespace, charge_id, item_id):  # type: ignore[no-untyped-def]
        self.calls.append(("update_subscription_item_id", (charge_id, item_id)))

    def apply_patches(self, namespace, patches):  # type: ignore[no-untyped-def]
        self.calls.append(("apply_patches", patches))


def intent(identity: str) -> FlatFeeChargeIntent:
    return FlatFeeChargeIntent(
        customer_id=CUSTOMER, currency="USD", unique_reference_id=identity,
        subscription=ChargeSubscriptionReference(subscription_id="sub-1", phase_id="phase-1", item_id="item-1"),
        settlement_mode="credit_only", name="fee", service_period=period("2025-01-01", "2025-02-01"),
        full_service_period=period("2025-01-01", "2025-02-01"), billing_period=period("2025-01-01", "2025-02-01"),
        invoice_at=at("2025-01-01"), amount_before_proration="10",
    )


def charge_create(identity: str) -> Patch:
    return Patch(operation=Operation.CREATE, identity=identity, shape=Shape.FLAT_FEE_CHARGE, subscription_id="sub-1",
                 steps=(ChargeCreate(intent=intent(identity)),))


def charge_delete(identity: str, charge_id: str) -> Patch:
    return Patch(operation=Operation.DELETE, identity=identity, shape=Shape.USAGE_BASED_CHARGE,
                 subscription_id="sub-1", steps=(ChargeDelete(charge_id=charge_id),))


def charge_extend(identity: str, charge_id: str) -> Patch:
    end = Change(old=at("2025-02-01"), new=at("2025-03-01"))
    changes = ChargePeriodChanges(service_period_end=end, full_service_period_end=end, billing_period_end=end,
                                  invoice_at=Change(old=at("2025-01-01"), new=at("2025-01-01")))
    return Patch(operation=Operation.EXTEND, identity=identity, shape=Shape.FLAT_FEE_CHARGE, subscription_id="sub-1",
                 steps=(ChargeExtend(charge_id=charge_id, changes=changes),))


def repair(identity: str, charge_id: str, old: str = "item-old", new: str = "item-new") -> ReferenceRepair:
    return ReferenceRepair(identity=identity, shape=Shape.FLAT_FEE_CHARGE, charge_id=charge_id,
                           item_id=Change[str](old=old, new=new))


def charge_plan():
    return make_plan(
        patches=(
            create_patch(flat_new_line(period("2025-01-01", "2025-02-01"), identity="sub-1/p/line/v[0]/period[0]")),
            charge_extend("sub-1/p/a/v[0]/period[0]", "chg-z"),
            charge_create("sub-1/p/b/v[0]/period[0]"),
            charge_create("sub-1/p/a/v[1]/period[0]"),
            charge_delete("sub-1/p/c/v[0]/period[0]", "chg-a"),
        ),
        repairs=(repair("sub-1/p/a/v[0]/period[0]", "chg-z"),),
    )


def test_charges_run_once_after_invoice_work_with_patches_by_charge_id_and_creates_in_plan_order():
    port = Recorder(item_ids={"chg-z": "item-old"})
    apply_plan(charge_plan(), ApplyPorts(billing=port, charges=port))
    assert [name for name, _ in port.calls] == ["update_subscription_item_id", "create_pending_invoice_lines", "apply_patches"]
    assert port.calls[0][1] == ("chg-z", "item-new")
    payload = port.calls[2][1]
    assert isinstance(payload, ChargePatchInput) and payload.customer_id == CUSTOMER
    assert list(payload.patches_by_charge_id) == ["chg-a", "chg-z"]
    assert isinstance(payload.patches_by_charge_id["chg-a"], ChargeDelete)
    assert [c.unique_reference_id for c in payload.creates] == ["sub-1/p/b/v[0]/period[0]", "sub-1/p/a/v[1]/period[0]"]


def test_charge_steps_without_a_charges_port_raise_charges_unavailable():
    port = Recorder()
    plan = make_plan(patches=(charge_delete("sub-1/p/c/v[0]/period[0]", "chg-a"),))
    with pytest.raises(ChargesUnavailableError, match="charges service is required when there are charge patches") as error:
        apply_plan(plan, ApplyPorts(billing=port))
    assert error.value.subscription_id == "sub-1" and error.value.customer_id == CUSTOMER
    assert port.calls == []


def test_a_repair_whose_old_item_id_moved_is_stale():
    port = Recorder(item_ids={"chg-z": "item-someone-else"})
    with pytest.raises(StalePlanError, match="item-someone-else") as error:
        apply_plan(make_plan(repairs=(repair("sub-1/p/a/v[0]/period[0]", "chg-z"),)), ApplyPorts(billing=port, charges=port))
    assert error.value.identity == "sub-1/p/a/v[0]/period[0]"
    assert port.calls == []


def test_a_repair_of_a_charge_that_is_gone_is_stale():
    port = Recorder()
    with pytest.raises(StalePlanError):
        apply_plan(make_plan(repairs=(repair("sub-1/p/a/v[0]/period[0]", "chg-z"),)), ApplyPorts(billing=port, charges=port))


def test_only_invoice_work_never_needs_a_charges_port():
    port = Recorder()
    apply_plan(make_plan(patches=(create_patch(flat_new_line(period("2025-01-01", "2025-02-01"), identity="sub-1/p/l/v[0]/period[0]")),)),
               ApplyPorts(billing=port))
    assert [name for name, _ in port.calls] == ["create_pending_invoice_lines"]


def test_creates_are_passed_in_patch_identity_order():
    port = Recorder()
    lines = [flat_new_line(period("2025-01-01", "2025-02-01"), identity=f"sub-1/p/{key}/v[0]/period[0]") for key in "cab"]
    apply_plan(make_plan(patches=tuple(create_patch(line) for line in lines)), ApplyPorts(billing=port))
    assert port.calls == [("create_pending_invoice_lines", [f"sub-1/p/{key}/v[0]/period[0]" for key in "abc"])]


