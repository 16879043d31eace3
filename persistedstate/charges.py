"""Charges as persisted items (reconciler.md §2.3 step 9, §2.1 "wrapping a charge validates it").

``classify_charge`` decides what one listed charge becomes:

- flat fee or usage-based **without** an identity: skipped (``None``);
- flat fee or usage-based with one: validated (``InvalidChargeError``), its base-intent periods
  checked (``InvalidPeriodError``), and wrapped;
- credit purchase: ``UnsupportedItemTypeError``;
- anything else: ``UnknownItemTypeError``.

Validation (``charge_problems``) refuses what a sync cannot reason about: a charge of another
namespace or customer, no currency, an empty identity, a usage-based charge with a flat price or
without a feature key, and a charge whose ``type`` disagrees with its model.
"""

from __future__ import annotations

from typing import Any

from billing.charges.models import FlatFeeCharge, UsageBasedCharge
from billing.prices import FlatPrice
from persistedstate.context import LoadContext
from persistedstate.errors import InvalidChargeError, UnknownItemTypeError, UnsupportedItemTypeError
from persistedstate.items import ChargeItem, FlatFeeChargeItem, UsageBasedChargeItem
from persistedstate.periods import check_charge_periods

LAYERED_TYPES = {"flat_fee": FlatFeeCharge, "usage_based": UsageBasedCharge}


def charge_problems(charge: FlatFeeCharge | UsageBasedCharge, *, context: LoadContext) -> list[str]:
    """Why ``charge`` cannot be wrapped; empty when it can."""
    problems: list[str] = []
    if charge.namespace != context.namespace:
        problems.append(f"belongs to namespace {charge.namespace!r}, not {context.namespace!r}")
    if charge.customer_id != context.customer_id:
        problems.append(
            f"belongs to customer {charge.customer_id!r}, not the subscription's customer {context.customer_id!r}"
        )
    if not charge.currency:
        problems.append("has no currency")
    if charge.unique_reference_id == "":
        problems.append("has an empty unique_reference_id")
    if isinstance(charge, UsageBasedCharge):
        if isinstance(charge.base.price, FlatPrice):
            problems.append("is usage-based but its base intent has a flat price")
        if not charge.feature_key:
            problems.append("is usage-based but has no feature key")
    return problems


def wrap_charge(charge: FlatFeeCharge | UsageBasedCharge, *, context: LoadContext) -> ChargeItem:
    """Validate ``charge``, check its base-intent periods, and wrap it as an item."""
    problems = charge_problems(charge, context=context)
    if problems:
        reason = "; ".join(problems)
        raise InvalidChargeError(
            f"invalid {charge.type} charge {charge.id}: {reason}",
            charge_id=charge.id,
            reason=reason,
            **context.error_context(charge.unique_reference_id),
        )
    check_charge_periods(charge, context=context)
    if isinstance(charge, FlatFeeCharge):
        return FlatFeeChargeItem(charge=charge)
    return UsageBasedChargeItem(charge=charge)


def classify_charge(charge: Any, *, context: LoadContext) -> ChargeItem | None:
    charge_type = getattr(charge, "type", None)
    identity = getattr(charge, "unique_reference_id", None)
    charge_id = getattr(charge, "id", "?")
    if charge_type == "credit_purchase":
        raise UnsupportedItemTypeError(
            f"credit purchase charges tied to subscriptions are unsupported (charge {charge_id})",
            item_type="credit_purchase",
            **context.error_context(identity),
        )
    model = LAYERED_TYPES.get(charge_type) if isinstance(charge_type, str) else None
    if model is None:
        raise UnknownItemTypeError(
            f"unknown charge type {charge_type!r} (charge {charge_id})",
            item_type=str(charge_type),
            **context.error_context(identity),
        )
    if not isinstance(charge, model):
        reason = f"type {charge_type!r} but the model is {type(charge).__name__}"
        raise InvalidChargeError(
            f"invalid charge {charge_id}: {reason}", charge_id=str(charge_id), reason=reason,
            **context.error_context(identity),
        )
    if identity is None:
        return None
    return wrap_charge(charge, context=context)
