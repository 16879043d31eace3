"""Split-line groups and hierarchies (progressive billing, reconciler §1.3).

A group holds the full, unsplit period and the identity of the line it came from; its children
(the split parts, without identity) sit on gathering, mutable and immutable invoices.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from billing.invoices import InvoiceHeader
from billing.lines import ANNOTATION_SYNC_IGNORE, Line, SubscriptionReference
from billing.period import Period
from billing.prices import Discounts, Price
from billing.types import UtcDatetime


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SplitLineGroupContent(_Frozen):
    service_period: Period
    unique_reference_id: str | None = None
    price: Price
    feature_key: str | None = None
    subscription: SubscriptionReference | None = None
    currency: str
    name: str
    description: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    rate_card_discounts: Discounts | None = None


class NewSplitLineGroup(SplitLineGroupContent):
    customer_id: str


class SplitLineGroup(SplitLineGroupContent):
    id: str
    namespace: str
    customer_id: str
    created_at: UtcDatetime
    updated_at: UtcDatetime
    deleted_at: UtcDatetime | None = None
    sequence: int

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def identity(self) -> str | None:
        return self.unique_reference_id


class GroupChanges(_Frozen):
    """New values for a group; only the fields that were *set* change (``None`` clears discounts)."""

    service_period: Period | None = None
    name: str | None = None
    price: Price | None = None
    rate_card_discounts: Discounts | None = None

    def updates(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class SplitLineChild(_Frozen):
    """A child line paired with the header of the invoice that holds it."""

    line: Line
    invoice: InvoiceHeader


class SplitLineHierarchy(_Frozen):
    group: SplitLineGroup
    #: Every child, deleted ones included, ordered by (service period start, end, line id).
    children: tuple[SplitLineChild, ...] = ()

    def last_child(self) -> SplitLineChild | None:
        """The first live child (in order) whose period ends at the group end (reconciler §2.1)."""
        for child in self.children:
            if child.line.service_period.end == self.group.service_period.end and child.line.deleted_at is None:
                return child
        return None

    def any_child_ignored(self) -> bool:
        return any(child.line.annotation(ANNOTATION_SYNC_IGNORE) for child in self.children)
