"""One plan per shape, with every kind of step and value the text and JSON renderers handle."""

from __future__ import annotations

from decimal import Decimal

from billing.prices import Discounts, PackagePrice, TaxConfig, Tier, TieredPrice, UnitPrice
from patches.model import (
    Change,
    ChargeCreate,
    ChargeDelete,
    ChargeExtend,
    ChargePeriodChanges,
    ChargeShrink,
    GroupChanges,
    GroupDelete,
    GroupUpdate,
    IssueLine,
    LineChanges,
    LineDelete,
    LineUpdate,
    Patch,
    Plan,
    ReferenceRepair,
)
from tests.patches.builders import (
    GATHERING_ID,
    at,
    change,
    child,
    create_step,
    draft,
    drift_issue,
    flat,
    flat_intent,
    gathering,
    issue_update,
    new_line,
    paid,
    period,
    plan,
    standalone,
    unit,
    usage_intent,
)

SUB = "sub-7"


def _id(item: str, index: int = 0) -> str:
    return f"{SUB}/main/{item}/v[0]/period[{index}]"


def line_plan() -> Plan:
    """invoice.line: a flat create, a flat prorate touching every rendered field, a usage delete,
    an un-delete on a draft, and issue changes on a paid invoice."""
    return plan(
        subscription_id=SUB,
        customer_id="cus-7",
        as_of="2024-01-02",
        patches=(
            Patch(
                operation="delete",
                identity=_id("api", 3),
                shape="invoice.line",
                subscription_id=SUB,
                steps=(LineDelete(line=standalone("LINE-71", GATHERING_ID, _id("api", 3), "2024-04-01", "2024-05-01")),),
            ),
            Patch(
                operation="create",
                identity=_id("seats", 1),
                shape="invoice.line",
                subscription_id=SUB,
                steps=(
                    create_step(
                        new_line(
                            identity=_id("seats", 1),
                            service_period=period("2024-01-02", "2024-02-01"),
                            invoice_at=at("2024-01-02"),
                            price=flat("9.68", "in_advance"),
                            subscription_id=SUB,
                        )
                    ),
                ),
            ),
            Patch(
                operation="prorate",
                identity=_id("seats"),
                shape="invoice.line",
                subscription_id=SUB,
                steps=(
                    LineUpdate(
                        line=standalone("LINE-72", GATHERING_ID, _id("seats"), "2024-01-01", "2024-02-01"),
                        changes=LineChanges(
                            service_period=change(period("2024-01-01", "2024-02-01"), period("2024-01-01", "2024-01-02")),
                            invoice_at=change(at("2024-01-01"), at("2024-01-01T12:00:00")),
                            per_unit_amount=change(Decimal("6"), Decimal("0.19")),
                            rate_card_discounts=change(None, Discounts(percentage=Decimal("12.5"))),
                            name=change("Seats", 'Seats "pro"\nannual'),
                            tax_config=change(TaxConfig(behavior="exclusive", code="txcd_10000000"), None),
                        ),
                    ),
                ),
            ),
            Patch(
                operation="extend",
                identity=_id("storage"),
                shape="invoice.line",
                subscription_id=SUB,
                steps=(
                    LineUpdate(
                        line=standalone("LINE-73", "inv-71", _id("storage"), "2024-01-01", "2024-01-15"),
                        changes=LineChanges(
                            service_period=change(period("2024-01-01", "2024-01-15"), period("2024-01-01", "2024-02-01")),
                            price=change(unit("0.5"), PackagePrice(amount=Decimal("10"), quantity_per_package=Decimal("1000"))),
                            deleted_at=change(at("2024-01-10T08:30:00"), None),
                        ),
                    ),
                ),
            ),
        ),
        issue_updates=(
            issue_update(
                "inv-72",
                add=(drift_issue("LINE-74", "flat fee line's per unit amount cannot be changed on immutable invoice (new per unit amount: 0.19)"),),
                remove=(drift_issue("LINE-75", "line not found in the invoice, cannot update", "critical"),),
                lines=(IssueLine(line_id="LINE-74", identity=_id("seats", 0)), IssueLine(line_id="LINE-75", identity=_id("api", 2))),
            ),
        ),
        invoices=(gathering(), draft("inv-71"), paid("inv-72")),
    )


def hierarchy_plan() -> Plan:
    """invoice.split_line_group: a shrink moving the start in and changing rendered fields, and a
    delete of a whole hierarchy."""
    tiered = TieredPrice(
        mode="graduated",
        tiers=(
            Tier(up_to=Decimal(1000), unit_price=Decimal("0.1")),
            Tier(up_to=Decimal(5000), unit_price=Decimal("0.05")),
            Tier(unit_price=Decimal("0.01"), flat_price=Decimal("5")),
        ),
    )
    committed = UnitPrice(amount=Decimal("0.1"), minimum_amount=Decimal("10"), maximum_amount=Decimal("250.5"))
    return plan(
        subscription_id=SUB,
        customer_id="cus-7",
        as_of="2024-03-05",
        patches=(
            Patch(
                operation="delete",
                identity=_id("events", 1),
                shape="invoice.split_line_group",
                subscription_id=SUB,
                steps=(
                    LineDelete(line=child("LINE-81", "inv-81", "GROUP-82", "2024-02-01", "2024-02-10")),
                    LineDelete(line=child("LINE-82", GATHERING_ID, "GROUP-82", "2024-02-10", "2024-03-01")),
                    GroupDelete(group_id="GROUP-82"),
                ),
            ),
            Patch(
                operation="shrink",
                identity=_id("events"),
                shape="invoice.split_line_group",
                subscription_id=SUB,
                steps=(
                    LineUpdate(
                        line=child("LINE-83", "inv-81", "GROUP-81", "2024-01-01", "2024-01-15"),
                        changes=LineChanges(
                            service_period=change(period("2024-01-01", "2024-01-15"), period("2024-01-05", "2024-01-15")),
                            price=change(tiered, committed),
                        ),
                    ),
                    LineUpdate(
                        line=child("LINE-84", GATHERING_ID, "GROUP-81", "2024-01-15", "2024-02-01"),
                        changes=LineChanges(
                            invoice_at=change(at("2024-02-01"), at("2024-01-25")),
                            price=change(tiered, committed),
                        ),
                    ),
                    GroupUpdate(
                        group_id="GROUP-81",
                        changes=GroupChanges(
                            service_period=change(period("2024-01-01", "2024-02-01"), period("2024-01-05", "2024-01-25")),
                            name=change("Events", "Events (v2)"),
                            price=change(tiered, committed),
                            rate_card_discounts=change(Discounts(usage=Decimal("100")), None),
                        ),
                    ),
                ),
            ),
        ),
        invoices=(gathering(), draft("inv-81")),
    )


def _values(service, full, billing, invoice_at) -> ChargePeriodChanges:
    return ChargePeriodChanges(
        service_period_end=Change(old=at(service[0]), new=at(service[1])),
        full_service_period_end=Change(old=at(full[0]), new=at(full[1])),
        billing_period_end=Change(old=at(billing[0]), new=at(billing[1])),
        invoice_at=Change(old=at(invoice_at[0]), new=at(invoice_at[1])),
    )


def flat_fee_charge_plan() -> Plan:
    """charge.flat_fee: a repair, a create, a shrink and an extend that shortens billing (S-038)."""
    return plan(
        subscription_id=SUB,
        customer_id="cus-7",
        as_of="2026-01-20",
        reference_repairs=(
            ReferenceRepair(identity=_id("platform"), shape="charge.flat_fee", charge_id="CH-91", item_id=Change(old="ITEM-1", new="ITEM-9")),
        ),
        patches=(
            Patch(
                operation="shrink",
                identity=_id("platform"),
                shape="charge.flat_fee",
                subscription_id=SUB,
                steps=(
                    ChargeShrink(
                        charge_id="CH-91",
                        changes=_values(("2026-04-01", "2026-03-01"), ("2026-04-01", "2026-04-01"), ("2026-05-01", "2026-05-01"), ("2026-01-01", "2026-01-01")),
                    ),
                ),
            ),
            Patch(
                operation="create",
                identity=_id("platform", 1),
                shape="charge.flat_fee",
                subscription_id=SUB,
                steps=(
                    ChargeCreate(
                        intent=flat_intent(
                            _id("platform", 1),
                            subscription_id=SUB,
                            customer_id="cus-7",
                            annotations={"team": "core"},
                            metadata={"origin": "plan"},
                        )
                    ),
                ),
            ),
            Patch(
                operation="extend",
                identity=_id("onboarding"),
                shape="charge.flat_fee",
                subscription_id=SUB,
                steps=(
                    ChargeExtend(
                        charge_id="CH-92",
                        changes=_values(("2026-01-01", "2026-01-20"), ("2026-01-01", "2026-01-20"), ("2026-02-01", "2026-01-20"), ("2026-01-01", "2026-01-01")),
                    ),
                ),
            ),
        ),
    )


def usage_charge_plan() -> Plan:
    """charge.usage_based: a delete (refund as credits), a create and a shrink."""
    return plan(
        subscription_id=SUB,
        customer_id="cus-7",
        as_of="2026-01-20",
        patches=(
            Patch(
                operation="delete",
                identity=_id("api", 1),
                shape="charge.usage_based",
                subscription_id=SUB,
                steps=(ChargeDelete(charge_id="CH-93"),),
            ),
            Patch(
                operation="shrink",
                identity=_id("api"),
                shape="charge.usage_based",
                subscription_id=SUB,
                steps=(
                    ChargeShrink(
                        charge_id="CH-94",
                        changes=_values(("2026-02-01", "2026-01-20"), ("2026-02-01", "2026-02-01"), ("2026-02-01", "2026-01-20"), ("2026-02-01", "2026-01-20")),
                    ),
                ),
            ),
            Patch(
                operation="create",
                identity=_id("api-v2"),
                shape="charge.usage_based",
                subscription_id=SUB,
                steps=(ChargeCreate(intent=usage_intent(_id("api-v2"), subscription_id=SUB, customer_id="cus-7")),),
            ),
        ),
    )


PLANS_BY_SHAPE = {
    "invoice.line": line_plan,
    "invoice.split_line_group": hierarchy_plan,
    "charge.flat_fee": flat_fee_charge_plan,
    "charge.usage_based": usage_charge_plan,
}
