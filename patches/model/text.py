"""One-line texts of patches, repairs and issue changes (reconciler.md §4.9, ``describe()``).

Values: instants as ``2025-03-10T00:00:00Z``; periods as ``[start, end)``; money (flat amounts,
per-unit amounts, commitments) at the currency precision; usage rates and quantities as canonical
decimals; strings double-quoted (JSON escaping, so a text stays on one line); null as ``null``;
prices as ``flat(6.00, in_advance)``, ``unit(5)``, ``tiered(graduated, 3 tiers)``,
``package(10 per 1000)``. No line or group id ever appears: stored lines are named by identity, split
children by their group's identity and current period.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from billing.errors import BillingValidationError
from billing.money import canonical_text, currency_precision, money_text
from billing.period import Period
from billing.prices import Discounts, FlatPrice, PackagePrice, TaxConfig, TieredPrice, UnitPrice
from patches.model.base import Change
from patches.model.steps import (
    ChargeCreate,
    ChargeDelete,
    ChargeExtend,
    ChargeShrink,
    GroupDelete,
    GroupUpdate,
    LineCreate,
    LineDelete,
    LineRef,
    LineUpdate,
)

if TYPE_CHECKING:
    from billing.invoices import ValidationIssue
    from patches.model.patch import Patch
    from patches.model.plan import IssueLine, ReferenceRepair

ARROW = "→"
#: Where every new line goes: the customer's gathering invoice of the plan currency.
GATHERING = "gathering"


def precision_of(currency: str | None) -> int | None:
    """The minor digits of a fiat currency; ``None`` (amounts shown as stored) otherwise."""
    if currency is None:
        return None
    try:
        return currency_precision(currency)
    except BillingValidationError:
        return None


def instant(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def period(value: Period) -> str:
    return f"[{instant(value.start)}, {instant(value.end)})"


def money(value: Decimal, precision: int | None) -> str:
    """Money at the currency precision (``6`` → ``6.00``); a value with more digits than the currency
    has is shown whole rather than rounded, so a text never hides a difference."""
    if precision is None:
        return format(value, "f")
    text = money_text(value, precision)
    return text if Decimal(text) == value else format(value, "f")


#: Line breaks ``str.splitlines`` honours that JSON string escaping leaves as they are.
_UNESCAPED_BREAKS = {"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def quoted(value: str) -> str:
    """A double-quoted string with JSON escapes; every line break is escaped, so it stays on one line."""
    text = json.dumps(value, ensure_ascii=False)
    for char, escape in _UNESCAPED_BREAKS.items():
        text = text.replace(char, escape)
    return text


def _commitments(price: Any, precision: int | None) -> str:
    parts = [
        f"{label} {money(amount, precision)}"
        for label, amount in (("minimum", price.minimum_amount), ("maximum", price.maximum_amount))
        if amount is not None
    ]
    return "".join(f", {part}" for part in parts)


def price_text(price: Any, precision: int | None) -> str:
    if isinstance(price, FlatPrice):
        return f"flat({money(price.amount, precision)}, {price.payment_term})"
    if isinstance(price, UnitPrice):
        return f"unit({canonical_text(price.amount)}{_commitments(price, precision)})"
    if isinstance(price, TieredPrice):
        count = len(price.tiers)
        return f"tiered({price.mode}, {count} tier{'s' if count != 1 else ''}{_commitments(price, precision)})"
    if isinstance(price, PackagePrice):
        return (
            f"package({canonical_text(price.amount)} per {canonical_text(price.quantity_per_package)}"
            f"{_commitments(price, precision)})"
        )
    raise TypeError(f"unknown price {price!r}")


def discounts_text(value: Discounts) -> str:
    parts = [
        f"{label} {canonical_text(amount)}"
        for label, amount in (("percentage", value.percentage), ("usage", value.usage))
        if amount is not None
    ]
    return f"discounts({', '.join(parts)})"


def tax_text(value: TaxConfig) -> str:
    behavior = value.behavior or "null"
    code = quoted(value.code) if value.code is not None else "null"
    return f"tax({behavior}, {code})"


def value_text(field: str, value: Any, precision: int | None) -> str:
    if value is None:
        return "null"
    if isinstance(value, Period):
        return period(value)
    if isinstance(value, dt.datetime):
        return instant(value)
    if isinstance(value, Decimal):
        return money(value, precision) if field.endswith("amount") else canonical_text(value)
    if isinstance(value, Discounts):
        return discounts_text(value)
    if isinstance(value, TaxConfig):
        return tax_text(value)
    if isinstance(value, str):
        return quoted(value)
    if isinstance(value, (FlatPrice, UnitPrice, TieredPrice, PackagePrice)):
        return price_text(value, precision)
    raise TypeError(f"no text for {field} value {value!r}")


def change_text(field: str, change: Change[Any], precision: int | None) -> str:
    return f"{field} {value_text(field, change.old, precision)} {ARROW} {value_text(field, change.new, precision)}"


def changes_text(items: Any, precision: int | None) -> str:
    return ", ".join(change_text(field, change, precision) for field, change in items)


def line_name(identity: str, child_period: Period | None) -> str:
    """A line's identity, or ``<group identity> child [start, end)`` for a split child."""
    return identity if child_period is None else f"{identity} child {period(child_period)}"


def invoice_name(names: Mapping[str, str], invoice_id: str) -> str:
    return names.get(invoice_id, f"invoice:{invoice_id}")


def _ref_label(ref: LineRef, names: Mapping[str, str]) -> str:
    where = f"@ {invoice_name(names, ref.invoice_id)}"
    return f"child {period(ref.service_period)} {where}" if ref.is_split_child else where


def _step_text(step: Any, identity: str, names: Mapping[str, str], precision: int | None) -> str:
    if isinstance(step, LineCreate):
        line = step.line
        fields = [f"invoice_at {instant(line.invoice_at)}", f"price {price_text(line.price, precision)}"]
        if step.is_split_child:
            return f"child {period(line.service_period)} @ {GATHERING}: create {', '.join(fields)}"
        return f"@ {GATHERING}: create service_period {period(line.service_period)}, {', '.join(fields)}"
    if isinstance(step, LineDelete):
        return f"{_ref_label(step.line, names)}: delete"
    if isinstance(step, LineUpdate):
        return f"{_ref_label(step.line, names)}: {changes_text(step.changes.items(), precision)}"
    if isinstance(step, GroupUpdate):
        return f"group {changes_text(step.changes.items(), precision)}"
    if isinstance(step, GroupDelete):
        return "group delete"
    if isinstance(step, ChargeCreate):
        intent = step.intent
        return (
            f"charge: create service_period {period(intent.service_period)}, invoice_at {instant(intent.invoice_at)},"
            f" settlement_mode {intent.settlement_mode}"
        )
    if isinstance(step, ChargeDelete):
        return f"charge {identity}: delete {step.refund_policy}"
    if isinstance(step, (ChargeShrink, ChargeExtend)):
        moved = [(field, change) for field, change in step.changes.items() if change.old != change.new]
        return f"charge {identity}: {changes_text(moved, precision)}"
    raise TypeError(f"unknown step {step!r}")


def describe_patch(patch: "Patch", names: Mapping[str, str], currency: str | None) -> str:
    precision = precision_of(currency)
    details = "; ".join(_step_text(step, patch.identity, names, precision) for step in patch.steps)
    return f"{patch.symbol} {patch.operation.value} {patch.shape.value} {patch.identity}: {details}"


def describe_repair(repair: "ReferenceRepair") -> str:
    return f"* repair {repair.shape.value} {repair.identity}: {change_text('item_id', repair.item_id, None)}"


def describe_issue(
    invoice_id: str, issue: "ValidationIssue", sign: str, line: "IssueLine", names: Mapping[str, str]
) -> str:
    return (
        f"! issue {sign} {invoice_name(names, invoice_id)} {issue.severity}"
        f" lines/{line.name}: {quoted(issue.message)}"
    )
