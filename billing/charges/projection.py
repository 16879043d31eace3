"""How charges project onto invoice lines (charges.md §3.4.1, §6.3).

A charge's gathering line carries the effective intent (name, periods, ``invoice_at``, price,
discounts, tax config), the subscription reference when subscription-owned, ``managed_by = manual``
when an override exists, the engine name and the charge id. Its ``child_unique_reference_id`` is the
charge's identity, for display only: sync finds charge lines by charge id (§6.5).
A run is projected onto its standard line by writing the run's totals (credits included) onto it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from billing.charges.runs import Run
from billing.lines import Line, NewLine, SubscriptionReference
from billing.prices import FlatPrice, Price
from billing.store.mapping import set_totals
from billing.store.tables import LineRow

FLAT_FEE_ENGINE = "charge_flatfee"
USAGE_BASED_ENGINE = "charge_usagebased"


def _metadata(values: dict[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in values.items()}


def charge_line(charge, intent, *, engine: str, price: Price, service_period=None, invoice_at=None,  # type: ignore[no-untyped-def]
                name: str | None = None, discounts=None) -> NewLine:  # type: ignore[no-untyped-def]
    sub = charge.subscription
    return NewLine(
        name=name or intent.name,
        description=intent.description,
        managed_by="manual" if charge.override is not None else intent.managed_by,
        annotations=dict(intent.annotations),
        metadata=_metadata(intent.metadata),
        service_period=service_period or intent.service_period,
        invoice_at=invoice_at or intent.invoice_at,
        price=price,
        per_unit_amount=price.amount if isinstance(price, FlatPrice) else None,
        quantity=Decimal(1) if isinstance(price, FlatPrice) else None,
        feature_key=charge.feature_key or None,
        rate_card_discounts=discounts,
        tax_config=charge.tax_config,
        child_unique_reference_id=charge.unique_reference_id or None,
        subscription=None if sub is None else SubscriptionReference(
            subscription_id=sub.subscription_id, phase_id=sub.phase_id, item_id=sub.item_id,
            billing_period=intent.billing_period),
        charge_id=charge.id,
        engine=engine,  # type: ignore[arg-type]
    )


def flat_fee_line(charge, amount: Decimal, *, custom_currency: bool = False) -> NewLine:  # type: ignore[no-untyped-def]
    intent = charge.effective
    if custom_currency:
        return charge_line(charge, intent, engine=FLAT_FEE_ENGINE, name=f"{intent.name} (overage)",
                           price=FlatPrice(amount=Decimal(0), payment_term="in_arrears"))
    return charge_line(charge, intent, engine=FLAT_FEE_ENGINE,
                       price=FlatPrice(amount=amount, payment_term=intent.payment_term),
                       discounts=intent.percentage_discounts)


def usage_line(charge, service_period, *, invoice_at=None) -> NewLine:  # type: ignore[no-untyped-def]
    intent = charge.effective
    return charge_line(charge, intent, engine=USAGE_BASED_ENGINE, price=intent.price, service_period=service_period,
                       invoice_at=invoice_at, discounts=intent.discounts)


def updated_standard_line(line: Line, target: NewLine, run: Run) -> Line:
    """The stored standard ``line`` with the target's content and the run's totals."""
    content = target.model_dump(exclude={"child_unique_reference_id"})
    content["child_unique_reference_id"] = line.child_unique_reference_id
    content["invoice_at"] = line.invoice_at
    if run.metered_quantity is not None and target.quantity is None:
        content["quantity"] = line.quantity
    return type(line).model_validate({**line.model_dump(), **content, "totals": run.totals})


def project_run(row: LineRow, run: Run, *, quantity: Decimal | None = None) -> None:
    """Write the run's totals (and a usage line's quantity) onto its standard line row."""
    if quantity is not None:
        row.quantity = quantity
    set_totals(row, run.totals)
