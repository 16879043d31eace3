"""Charge intents read off invoice lines a customer wrote (charges.md §3.6, §4.5).

- ``manual_flat_fee(line, …)``: the manual ``credit_then_invoice`` flat-fee charge behind a flat line
  created through the invoice API (no subscription, no identity, the line's period and price).
- ``override_from_line(charge, line)``: the override layer an API edit of a charge's line writes — the
  effective intent with the line's edited fields. The line's flat amount is what the customer typed, so
  a flat-fee override bills it as is (pro-rating off: the amount is already the period's amount).

The immutable attribution never moves: an edit that would change the tax config, the feature, the
price kind (flat ↔ usage) or a quantity the charge owns is refused with ``ChargeValidationError``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from billing.charges.errors import ChargeValidationError
from billing.charges.models import FlatFeeCharge, FlatFeeIntent, ProRating, UsageBasedCharge, UsageBasedIntent
from billing.charges.requests import NewFlatFeeCharge
from billing.lines import LineContent
from billing.prices import FlatPrice, TaxConfig

#: ``LineEdit`` fields an API edit of a charge line may set.
EDITABLE = frozenset({"per_unit_amount", "quantity", "price", "rate_card_discounts", "tax_config",
                      "service_period", "invoice_at", "name", "annotations"})
ZERO_AMOUNT_CODE = "invoice_line_zero_amount_create"


def _refuse(charge_id: str | None, field: str, why: str) -> ChargeValidationError:
    who = f"charge {charge_id}" if charge_id else "charge-managed line"
    return ChargeValidationError(f"{who}: {field} {why}", charge_id=charge_id, field=field)


def flat_amount(line: LineContent, updates: dict[str, Any] | None = None) -> Decimal:
    """The flat amount a line bills: an edited per-unit amount, else an edited price's, else the line's."""
    updates = updates or {}
    if updates.get("per_unit_amount") is not None:
        return updates["per_unit_amount"]
    if updates.get("price") is not None and isinstance(updates["price"], FlatPrice):
        return updates["price"].amount
    assert line.per_unit_amount is not None
    return line.per_unit_amount


def manual_tax_config(line: LineContent, default: TaxConfig | None) -> TaxConfig:
    """The line's tax config with the namespace's invoicing tax code where it names none, behavior
    ``none`` where it names none (§3.6)."""
    given = line.tax_config or TaxConfig()
    return TaxConfig(code=given.code or (default.code if default is not None else None),
                     behavior=given.behavior or "none")


def manual_flat_fee(line: LineContent, *, customer_id: str, currency: str,
                    default_tax: TaxConfig | None) -> NewFlatFeeCharge:
    if not isinstance(line.price, FlatPrice):
        raise _refuse(None, "price", f"of line {line.name!r} is {line.price.type}; only flat lines become charges")
    amount = flat_amount(line)
    if amount == 0:
        raise ChargeValidationError(
            f"line {line.name!r}: creating zero amount flat fee invoice lines is not supported",
            field="per_unit_amount", code=ZERO_AMOUNT_CODE)
    period = line.service_period.truncated()
    return NewFlatFeeCharge(
        customer_id=customer_id, currency=currency, unique_reference_id=None,
        tax_config=manual_tax_config(line, default_tax), subscription=None, settlement_mode="credit_then_invoice",
        managed_by="manual", annotations=dict(line.annotations), name=line.name, description=line.description,
        metadata=dict(line.metadata), service_period=period, full_service_period=period, billing_period=period,
        invoice_at=line.invoice_at.replace(microsecond=0), payment_term=line.price.payment_term,
        percentage_discounts=line.rate_card_discounts, amount_before_proration=amount,
        feature_key=line.feature_key,
    )


def check_attribution(charge: FlatFeeCharge | UsageBasedCharge, current: LineContent, updates: dict[str, Any]) -> None:
    """Refuse edits a charge cannot take as an override (§3.6: feature key and tax config are fixed)."""
    unknown = sorted(set(updates) - EDITABLE)
    if unknown:
        raise _refuse(charge.id, unknown[0], "cannot be edited on a charge-managed line")
    if "tax_config" in updates and updates["tax_config"] != current.tax_config:
        raise _refuse(charge.id, "tax_config", "of a charge-managed line cannot change")
    price = updates.get("price")
    if price is not None and isinstance(price, FlatPrice) != isinstance(charge, FlatFeeCharge):
        raise _refuse(charge.id, "price", f"cannot turn a {charge.type} charge line into a {price.type} one")
    if "quantity" in updates:
        if isinstance(charge, UsageBasedCharge):
            raise _refuse(charge.id, "quantity", "of a usage charge line is metered by the charge")
        if updates["quantity"] != 1:
            raise _refuse(charge.id, "quantity", f"of a flat-fee charge line is 1, got {updates['quantity']}")


def override_from_line(charge: FlatFeeCharge | UsageBasedCharge, edited: LineContent,
                       updates: dict[str, Any]) -> FlatFeeIntent | UsageBasedIntent:
    """The override an API edit writes: the effective intent with the edited line's fields."""
    common: dict[str, Any] = {
        "managed_by": "manual",
        "name": edited.name,
        "annotations": dict(edited.annotations),
        "service_period": edited.service_period.truncated(),
        "invoice_at": edited.invoice_at.replace(microsecond=0),
        "intent_deleted_at": None,
    }
    if isinstance(charge, FlatFeeCharge):
        assert isinstance(edited.price, FlatPrice)
        return charge.effective.model_copy(update={
            **common,
            "payment_term": edited.price.payment_term,
            "amount_before_proration": flat_amount(edited, updates),
            "pro_rating": ProRating(enabled=False),
            "percentage_discounts": edited.rate_card_discounts,
        })
    return charge.effective.model_copy(update={**common, "price": edited.price,
                                               "discounts": edited.rate_card_discounts})
