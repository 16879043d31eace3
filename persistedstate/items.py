"""The four persisted item variants (reconciler.md §2.1): one artifact each, keyed by ``shape``.

Every variant answers the same read-only accessors, so the planner can treat an invoice line, a
split-line hierarchy and a charge alike:

- ``id``: (namespace, line / group / charge id);
- ``identity``: the line's ``child_unique_reference_id``, the group's or the charge's
  ``unique_reference_id``;
- ``service_period``: the line's, the group's, or the charge's **base** intent's;
- ``is_subscription_managed`` and ``has_last_line_annotation(key)``: read from the *last line* — the
  line itself, the hierarchy's last child (none: both false), or the charge's base intent;
- ``payload``: the line, the ``SplitLineHierarchy``, or the charge.

An annotation is *set* only when its value is the boolean ``True``. The payloads stay the billing
models; the loader hands in normalised copies (``persistedstate.normalisation``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from billing.charges.models import FlatFeeCharge, FlatFeeIntent, UsageBasedCharge, UsageBasedIntent
from billing.lines import ANNOTATION_SYNC_IGNORE, Line
from billing.period import Period
from billing.split_lines import SplitLineChild, SplitLineHierarchy

Shape = Literal["invoice.line", "invoice.split_line_group", "charge.flat_fee", "charge.usage_based"]
SHAPES: tuple[Shape, ...] = ("invoice.line", "invoice.split_line_group", "charge.flat_fee", "charge.usage_based")

MANAGED_BY_SUBSCRIPTION = "subscription"


def annotation_set(annotations: Mapping[str, Any], key: str) -> bool:
    return annotations.get(key) is True


def child_order(child: SplitLineChild) -> tuple[Any, ...]:
    """Children are walked by (service period start, end, line id) (reconciler §2.1)."""
    line = child.line
    return (line.service_period.start, line.service_period.end, line.id)


class _Item(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class InvoiceLineItem(_Item):
    """A standalone invoice line (gathering or standard) that is not a split child."""

    shape: Literal["invoice.line"] = "invoice.line"
    line: Line

    @property
    def payload(self) -> Line:
        return self.line

    @property
    def id(self) -> tuple[str, str]:
        return (self.line.namespace, self.line.id)

    @property
    def identity(self) -> str | None:
        return self.line.child_unique_reference_id

    @property
    def service_period(self) -> Period:
        return self.line.service_period

    @property
    def last_line(self) -> Line:
        """For a plain line the "last line" is the line itself."""
        return self.line

    @property
    def is_subscription_managed(self) -> bool:
        return self.line.managed_by == MANAGED_BY_SUBSCRIPTION

    @property
    def last_line_annotations(self) -> Mapping[str, Any]:
        return self.line.annotations

    def has_last_line_annotation(self, key: str) -> bool:
        return annotation_set(self.line.annotations, key)

    @property
    def is_sync_ignored(self) -> bool:
        """§2.5: the line is annotated ``sync.ignore``; sync leaves it alone and raises no issue."""
        return annotation_set(self.line.annotations, ANNOTATION_SYNC_IGNORE)

    @property
    def invoice_ids(self) -> tuple[str, ...]:
        return (self.line.invoice_id,)

    @property
    def line_ids(self) -> tuple[str, ...]:
        return (self.line.id,)


class SplitLineGroupItem(_Item):
    """A split-line hierarchy: the live group with every child (deleted ones included) and its invoice."""

    shape: Literal["invoice.split_line_group"] = "invoice.split_line_group"
    hierarchy: SplitLineHierarchy

    @property
    def payload(self) -> SplitLineHierarchy:
        return self.hierarchy

    @property
    def id(self) -> tuple[str, str]:
        return (self.hierarchy.group.namespace, self.hierarchy.group.id)

    @property
    def identity(self) -> str | None:
        return self.hierarchy.group.unique_reference_id

    @property
    def service_period(self) -> Period:
        return self.hierarchy.group.service_period

    @property
    def ordered_children(self) -> tuple[SplitLineChild, ...]:
        return tuple(sorted(self.hierarchy.children, key=child_order))

    @property
    def last_child(self) -> SplitLineChild | None:
        """The first child, in (start, end, id) order, that ends at the group's end and is not deleted."""
        end = self.hierarchy.group.service_period.end
        for child in self.ordered_children:
            if child.line.service_period.end == end and child.line.deleted_at is None:
                return child
        return None

    @property
    def last_line(self) -> Line | None:
        child = self.last_child
        return None if child is None else child.line

    @property
    def is_subscription_managed(self) -> bool:
        last = self.last_line
        return last is not None and last.managed_by == MANAGED_BY_SUBSCRIPTION

    @property
    def last_line_annotations(self) -> Mapping[str, Any]:
        last = self.last_line
        return {} if last is None else last.annotations

    def has_last_line_annotation(self, key: str) -> bool:
        last = self.last_line
        return last is not None and annotation_set(last.annotations, key)

    @property
    def is_sync_ignored(self) -> bool:
        """§2.5: **any** child, live or deleted, annotated ``sync.ignore`` freezes the whole hierarchy."""
        return any(annotation_set(child.line.annotations, ANNOTATION_SYNC_IGNORE) for child in self.hierarchy.children)

    @property
    def invoice_ids(self) -> tuple[str, ...]:
        """The invoice of every child, in child order, without repeats."""
        return tuple(dict.fromkeys(child.line.invoice_id for child in self.ordered_children))

    @property
    def line_ids(self) -> tuple[str, ...]:
        return tuple(child.line.id for child in self.ordered_children)


class _ChargeItem(_Item):
    charge: FlatFeeCharge | UsageBasedCharge

    @property
    def payload(self) -> FlatFeeCharge | UsageBasedCharge:
        return self.charge

    @property
    def base(self) -> FlatFeeIntent | UsageBasedIntent:
        """The base intent layer: the only layer sync reads and patches (reconciler §1.6)."""
        return self.charge.base

    @property
    def id(self) -> tuple[str, str]:
        return (self.charge.namespace, self.charge.id)

    @property
    def identity(self) -> str | None:
        return self.charge.unique_reference_id

    @property
    def service_period(self) -> Period:
        return self.base.service_period

    @property
    def is_subscription_managed(self) -> bool:
        return self.base.managed_by == MANAGED_BY_SUBSCRIPTION

    @property
    def last_line_annotations(self) -> Mapping[str, Any]:
        """For a charge the "last line" is its base intent."""
        return self.base.annotations

    def has_last_line_annotation(self, key: str) -> bool:
        return annotation_set(self.base.annotations, key)

    @property
    def is_sync_ignored(self) -> bool:
        """Always false: charges are patched without ownership or annotation checks (§2.5)."""
        return False


class FlatFeeChargeItem(_ChargeItem):
    shape: Literal["charge.flat_fee"] = "charge.flat_fee"
    charge: FlatFeeCharge  # type: ignore[assignment]  # narrows the base field


class UsageBasedChargeItem(_ChargeItem):
    shape: Literal["charge.usage_based"] = "charge.usage_based"
    charge: UsageBasedCharge  # type: ignore[assignment]  # narrows the base field


PersistedItem = Annotated[
    Union[InvoiceLineItem, SplitLineGroupItem, FlatFeeChargeItem, UsageBasedChargeItem],
    Field(discriminator="shape"),
]
InvoiceItem = InvoiceLineItem | SplitLineGroupItem
ChargeItem = FlatFeeChargeItem | UsageBasedChargeItem
