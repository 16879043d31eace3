"""Rendered fields and operation labels (reconciler.md §3.9, D-01).

The rendered fields are the fields sync writes from the target: the service period, ``invoice_at``
(gathering lines only), the price, the rate-card discounts, the name and the tax configuration (not
on groups). Every comparison here is between a stored (normalised) artifact and the expected line
after billing's normaliser, so values billing canonicalises compare equal. Decimals compare by value.

The result of a comparison is an ordered mapping ``field → (old, new)`` in the field order of
§4.3; the collections turn it into ``LineChanges`` / ``GroupChanges``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from billing.lines import LineContent, NewLine
from billing.period import Period
from billing.prices import FlatPrice
from billing.split_lines import SplitLineGroup

#: §4.3 order of line change fields.
LINE_FIELDS = (
    "service_period",
    "invoice_at",
    "per_unit_amount",
    "price",
    "rate_card_discounts",
    "name",
    "tax_config",
    "deleted_at",
)
GROUP_FIELDS = ("service_period", "name", "price", "rate_card_discounts")

FieldChanges = dict[str, tuple[Any, Any]]


def truncated(period: Period) -> Period:
    return period.truncated()


def ordered(changes: FieldChanges, order: tuple[str, ...] = LINE_FIELDS) -> FieldChanges:
    return {name: changes[name] for name in order if name in changes}


def set_if_different(changes: FieldChanges, name: str, old: Any, new: Any) -> None:
    if old != new:
        changes[name] = (old, new)


def price_changes(stored: LineContent, expected: NewLine) -> FieldChanges:
    """The price part of a line's changes (§4.3): a flat line whose payment term is unchanged changes
    by ``per_unit_amount`` only; a term change or a usage price change replaces the whole price."""
    changes: FieldChanges = {}
    if isinstance(stored.price, FlatPrice) and isinstance(expected.price, FlatPrice):
        if stored.price.payment_term != expected.price.payment_term:
            changes["price"] = (stored.price, expected.price)
        else:
            set_if_different(changes, "per_unit_amount", stored.per_unit_amount, expected.per_unit_amount)
    else:
        set_if_different(changes, "price", stored.price, expected.price)
    return changes


def content_changes(
    stored: LineContent, expected: NewLine, *, on_gathering: bool, with_period: bool = True
) -> FieldChanges:
    """Every rendered field of ``stored`` that differs from ``expected``. ``invoice_at`` counts only
    on the gathering invoice (standard lines keep theirs); ``with_period=False`` leaves the period to
    the caller (split children follow the structural rules of §3.12)."""
    changes: FieldChanges = {}
    if with_period:
        set_if_different(changes, "service_period", truncated(stored.service_period), expected.service_period)
    if on_gathering:
        set_if_different(changes, "invoice_at", stored.invoice_at.replace(microsecond=0), expected.invoice_at)
    changes.update(price_changes(stored, expected))
    set_if_different(changes, "rate_card_discounts", stored.rate_card_discounts, expected.rate_card_discounts)
    set_if_different(changes, "name", stored.name, expected.name)
    set_if_different(changes, "tax_config", stored.tax_config, expected.tax_config)
    return ordered(changes)


def group_changes(group: SplitLineGroup, expected: NewLine) -> FieldChanges:
    """§3.12 (f): the group's period (set to the expected period), name, price and discounts."""
    changes: FieldChanges = {}
    set_if_different(changes, "service_period", truncated(group.service_period), expected.service_period)
    set_if_different(changes, "name", group.name, expected.name)
    set_if_different(changes, "price", group.price, expected.price)
    set_if_different(changes, "rate_card_discounts", group.rate_card_discounts, expected.rate_card_discounts)
    return ordered(changes, GROUP_FIELDS)


def period_label(old: Period, new: Period) -> str:
    """§3.9 label of a usage line or hierarchy: by the end, then by the start, else ``prorate``."""
    if new.end < old.end:
        return "shrink"
    if new.end > old.end:
        return "extend"
    if new.start > old.start:
        return "shrink"
    if new.start < old.start:
        return "extend"
    return "prorate"


def is_empty_truncated(start: dt.datetime, end: dt.datetime) -> bool:
    """Whether ``[start, end)`` is empty once both ends are truncated to the second."""
    return end.replace(microsecond=0) <= start.replace(microsecond=0)
