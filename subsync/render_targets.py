"""Rendering a target state for ``subsync targets``: a rich table or a JSON document.

Only what billing would receive on the invoice backend is shown: items that are billable and whose
flat amount (after proration) does not round to zero. ``amount`` is that flat amount; usage prices
have none (their quantity is metered later).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any, Iterable

from rich.console import Console
from rich.table import Table

from subscriptions.models import SubscriptionView
from targetstate import TargetItem, TargetState

UTC = dt.timezone.utc


def rfc3339(t: dt.datetime | None) -> str | None:
    """RFC 3339 in UTC with ``Z`` (microseconds only when present)."""
    if t is None:
        return None
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def billed_items(state: TargetState) -> list[TargetItem]:
    """The items that reach billing: billable, and not a flat fee that rounds to zero."""
    shown = []
    for item in state.items:
        if not item.is_billable:
            continue
        amount = item.invoice_flat_amount
        if amount is not None and amount == 0:
            continue
        shown.append(item)
    return shown


def item_document(item: TargetItem) -> dict[str, Any]:
    price = item.price
    amount: Decimal | None = item.invoice_flat_amount
    return {
        "identity": item.unique_id,
        "service_period": _period(item.service_period),
        "full_service_period": _period(item.full_service_period),
        "billing_period": _period(item.billing_period),
        "invoice_at": rfc3339(item.invoice_at),
        "price": price.model_dump(mode="json", exclude_none=True) if price is not None else None,
        "amount": str(amount) if amount is not None else None,
    }


def targets_document(state: TargetState) -> dict[str, Any]:
    """``{"items": [...], "next_sync_after": ...}`` of one subscription."""
    return {
        "items": [item_document(item) for item in billed_items(state)],
        "next_sync_after": rfc3339(state.max_generation_time_limit),
    }


def render_json(documents: Iterable[dict[str, Any]]) -> str:
    docs = list(documents)
    return json.dumps(docs[0] if len(docs) == 1 else docs, indent=2)


def render_table(console: Console, view: SubscriptionView, state: TargetState, as_of: dt.datetime) -> None:
    sub = view.subscription
    items = billed_items(state)
    title = (
        f"subscription {sub.id} · customer {sub.customer_id} · {sub.invoice_currency} · as of {rfc3339(as_of)}"
    )
    table = Table(title=title, title_justify="left", show_lines=False, header_style="bold")
    table.add_column("identity", no_wrap=True)
    for name in ("service period", "full service period", "billing period", "invoice at", "price"):
        table.add_column(name, overflow="fold")  # a narrow terminal wraps, never truncates
    table.add_column("amount", justify="right", no_wrap=True)
    for item in items:
        amount = item.invoice_flat_amount
        table.add_row(
            item.unique_id,
            _period_text(item.service_period),
            _period_text(item.full_service_period),
            _period_text(item.billing_period),
            rfc3339(item.invoice_at) or "",
            _price_text(item),
            f"{amount} {sub.invoice_currency}" if amount is not None else "usage",
        )
    console.print(table)
    if not items:
        console.print("nothing to bill yet")
    console.print(f"next sync after: {rfc3339(state.max_generation_time_limit) or 'none (no time-based resync due)'}")


def _period(period: Any) -> list[str | None]:
    return [rfc3339(period.start), rfc3339(period.end)]


def _period_text(period: Any) -> str:
    return f"{rfc3339(period.start)} → {rfc3339(period.end)}"


def _price_text(item: TargetItem) -> str:
    price = item.price
    if price is None:
        return ""
    if price.type == "flat":
        return f"flat {price.amount} {price.payment_term.replace('_', ' ')}"
    if price.type == "unit":
        return f"unit {price.amount}"
    if price.type == "tiered":
        return f"tiered {price.mode} ({len(price.tiers)} tiers)"
    return f"package {price.amount} per {price.quantity_per_package}"
