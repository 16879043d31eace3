"""The normaliser billing applies to every line it stores (reconciler §3.9 compares through it).

Pure: timestamps (service period, ``invoice_at``, the subscription billing period) are truncated to
whole seconds; decimals keep their value (``Decimal`` compares by value); a flat fee's quantity is 1
and its ``per_unit_amount`` defaults to the price amount (``LineContent`` does that on construction).
"""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

from billing.errors import BillingValidationError
from billing.lines import LineContent
from billing.types import truncate_to_second

L = TypeVar("L", bound=LineContent)


def _whole_seconds(*instants: dt.datetime) -> bool:
    return not any(instant.microsecond for instant in instants)


def normalize_line(line: L) -> L:
    """``line`` with whole-second instants: the line itself when they already are (lines are frozen
    values), else a truncated copy."""
    reference = line.subscription
    if _whole_seconds(line.service_period.start, line.service_period.end, line.invoice_at) and (
        reference is None or _whole_seconds(reference.billing_period.start, reference.billing_period.end)
    ):
        return line
    updates: dict[str, object] = {
        "service_period": line.service_period.truncated(),
        "invoice_at": truncate_to_second(line.invoice_at),
    }
    if line.subscription is not None:
        updates["subscription"] = line.subscription.model_copy(
            update={"billing_period": line.subscription.billing_period.truncated()}
        )
    return line.model_copy(update=updates)


def require_valid_line(line: LineContent, *, where: str) -> None:
    """Refuse to write a line billing could not bill: an inverted period or a foreign identity layout."""
    if line.service_period.is_inverted:
        raise BillingValidationError(
            f"{where}: line {line.child_unique_reference_id or line.name!r} service_period ends before it starts "
            f"{line.service_period}"
        )
    if line.subscription is not None and line.subscription.billing_period.is_inverted:
        raise BillingValidationError(
            f"{where}: line {line.child_unique_reference_id or line.name!r} subscription.billing_period ends "
            f"before it starts {line.subscription.billing_period}"
        )
