"""Field-level changes carried by update steps (reconciler.md §4.3).

A patch never clones the target artifact: it lists the fields that change, each as ``old → new``.
``LineChanges`` and ``GroupChanges`` list only fields that really change (``old != new``, decimals by
value); the charge period values always carry all four values and only the service-period end has to
move (in the direction of its step).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any, ClassVar

from pydantic import model_validator

from billing.period import Period
from billing.prices import Discounts, FlatPrice, Price, TaxConfig
from billing.split_lines import GroupChanges as BillingGroupChanges
from billing.types import Amount, UtcDatetime
from patches.model.base import Change, Value


class _FieldChanges(Value):
    """Optional ``Change`` fields, declared in rendering order; at least one set, none a no-op."""

    #: Label used in validation messages.
    _what: ClassVar[str] = "changes"

    def items(self) -> Iterator[tuple[str, Change[Any]]]:
        """The set changes as ``(field, change)``, in declaration order (§4.3)."""
        for name in type(self).model_fields:
            change = getattr(self, name)
            if change is not None:
                yield name, change

    def new_values(self) -> dict[str, Any]:
        return {name: change.new for name, change in self.items()}

    @model_validator(mode="after")
    def _some_real_change(self) -> "_FieldChanges":
        items = list(self.items())
        if not items:
            raise ValueError(f"{self._what}: at least one field must change")
        for name, change in items:
            if change.old == change.new:
                raise ValueError(f"{self._what}: {name} does not change (old and new are both {change.old!r})")
        period = getattr(self, "service_period", None)
        if period is not None and period.new.is_inverted:
            raise ValueError(f"{self._what}: new service_period {period.new} ends before it starts")
        name = getattr(self, "name", None)
        if name is not None and not name.new:
            raise ValueError(f"{self._what}: new name must be non-empty")
        return self


class LineChanges(_FieldChanges):
    """What a ``line_update`` changes on a stored line.

    ``per_unit_amount`` is the amount change of a flat line whose payment term stays; ``price`` carries
    a payment-term change (the whole flat price) or a usage price change, never both. ``deleted_at``
    only ever un-deletes (``new`` is ``None``): deleting is a ``line_delete`` step.
    """

    _what: ClassVar[str] = "line changes"

    service_period: Change[Period] | None = None
    invoice_at: Change[UtcDatetime] | None = None
    per_unit_amount: Change[Amount] | None = None
    price: Change[Price] | None = None
    rate_card_discounts: Change[Discounts | None] | None = None
    name: Change[str] | None = None
    tax_config: Change[TaxConfig | None] | None = None
    deleted_at: Change[UtcDatetime | None] | None = None

    @model_validator(mode="after")
    def _line_rules(self) -> "LineChanges":
        if self.per_unit_amount is not None and self.price is not None:
            raise ValueError(
                "line changes: per_unit_amount and price are exclusive (a flat amount change with the same"
                " payment term is per_unit_amount only; a price change carries the whole price)"
            )
        if self.price is not None:
            old, new = self.price.old, self.price.new
            if isinstance(old, FlatPrice) != isinstance(new, FlatPrice):
                raise ValueError(
                    f"line changes: price may not switch between flat and usage ({old.type} → {new.type});"
                    " that is a new item version"
                )
            if isinstance(old, FlatPrice) and isinstance(new, FlatPrice) and old.payment_term == new.payment_term:
                raise ValueError(
                    "line changes: a flat price change with an unchanged payment term is a per_unit_amount change"
                )
        if self.deleted_at is not None and self.deleted_at.new is not None:
            raise ValueError("line changes: deleted_at may only be cleared (un-delete); delete with line_delete")
        return self

    @property
    def is_undelete(self) -> bool:
        return self.deleted_at is not None


class GroupChanges(_FieldChanges):
    """What a ``group_update`` changes on a split-line group (the hierarchy's own rendered fields)."""

    _what: ClassVar[str] = "group changes"

    service_period: Change[Period] | None = None
    name: Change[str] | None = None
    price: Change[Price] | None = None
    rate_card_discounts: Change[Discounts | None] | None = None

    @model_validator(mode="after")
    def _usage_price(self) -> "GroupChanges":
        if self.price is not None and isinstance(self.price.new, FlatPrice):
            raise ValueError("group changes: a split-line group carries a usage price, never flat")
        return self

    def to_billing(self) -> BillingGroupChanges:
        """The new values in the shape ``billing.update_split_line_group`` takes (set fields only)."""
        return BillingGroupChanges(**self.new_values())


CHARGE_PERIOD_FIELDS = ("service_period_end", "full_service_period_end", "billing_period_end", "invoice_at")


class ChargePeriodChanges(Value):
    """The four values of a ``charge_shrink`` / ``charge_extend`` (§3.13), all required.

    New values are at the charge timestamp precision (whole seconds). Only ``service_period_end``
    decides the direction; the other three may stay or move either way.
    """

    service_period_end: Change[UtcDatetime]
    full_service_period_end: Change[UtcDatetime]
    billing_period_end: Change[UtcDatetime]
    invoice_at: Change[UtcDatetime]

    @model_validator(mode="after")
    def _whole_seconds(self) -> "ChargePeriodChanges":
        for name, change in self.items():
            if change.new.microsecond:
                raise ValueError(f"charge period values: new {name} {change.new.isoformat()} is not a whole second")
        if self.service_period_end.old == self.service_period_end.new:
            raise ValueError("charge period values: service_period_end must change (it decides the direction)")
        return self

    def items(self) -> Iterator[tuple[str, Change[dt.datetime]]]:
        for name in CHARGE_PERIOD_FIELDS:
            yield name, getattr(self, name)

    @property
    def direction(self) -> str:
        """``shrink`` when the new service end is earlier, else ``extend``."""
        return "shrink" if self.service_period_end.new < self.service_period_end.old else "extend"
