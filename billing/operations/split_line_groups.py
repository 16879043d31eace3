"""Split-line group operations: create, update, delete (reconciler §1.3, §5.3)."""

from __future__ import annotations

from billing.errors import BillingValidationError, ConflictError
from billing.split_lines import GroupChanges, NewSplitLineGroup, SplitLineGroup
from billing.store.mapping import dump, group_of
from billing.store.unit_of_work import UnitOfWork
from billing.types import truncate_to_second


def create_split_line_group(uow: UnitOfWork, namespace: str, group: NewSplitLineGroup) -> SplitLineGroup:
    uow.customers.require_row(namespace, group.customer_id)
    uow.lock_customer(namespace, group.customer_id)
    if group.service_period.is_inverted:
        raise BillingValidationError(f"split-line group {group.unique_reference_id!r}: service_period {group.service_period} ends before it starts")
    group = group.model_copy(update={"service_period": group.service_period.truncated()})
    row = uow.groups.insert(namespace, group, uow.now)
    return group_of(row)


def update_split_line_group(uow: UnitOfWork, namespace: str, group_id: str, changes: GroupChanges) -> SplitLineGroup:
    """Apply the set fields of ``changes``. Children are not checked against the new period (the
    same transaction updates them, reconciler §1.3)."""
    row = uow.groups.require_row(namespace, group_id)
    uow.lock_customer(namespace, row.customer_id)
    if row.deleted_at is not None:
        raise ConflictError(f"update_split_line_group: group {group_id!r} ({row.unique_reference_id}) is deleted")
    updates = changes.updates()
    if "service_period" in updates:
        period = updates["service_period"]
        if period is None or period.is_inverted:
            raise BillingValidationError(f"update_split_line_group: group {group_id!r} service_period {period} is not a valid period")
        row.service_period_start = truncate_to_second(period.start)
        row.service_period_end = truncate_to_second(period.end)
    if "name" in updates:
        if not updates["name"]:
            raise BillingValidationError(f"update_split_line_group: group {group_id!r} name must be non-empty")
        row.name = updates["name"]
    if "price" in updates:
        if updates["price"] is None or updates["price"].type == "flat":
            raise BillingValidationError(f"update_split_line_group: group {group_id!r} needs a usage price")
        row.price = dump(updates["price"])
    if "rate_card_discounts" in updates:
        row.rate_card_discounts = dump(updates["rate_card_discounts"])
    row.updated_at = uow.now
    uow.flush()
    return group_of(row)


def delete_split_line_group(uow: UnitOfWork, namespace: str, group_id: str) -> None:
    """Soft-delete a group; refused while a child is live; a no-op when it is already deleted."""
    row = uow.groups.require_row(namespace, group_id)
    if row.deleted_at is not None:
        return
    uow.lock_customer(namespace, row.customer_id)
    live = uow.lines.live_children(group_id)
    if live:
        raise ConflictError(
            f"delete_split_line_group: group {group_id!r} ({row.unique_reference_id}) still has live child"
            f" line(s) {', '.join(child.id for child in live)}"
        )
    row.deleted_at = uow.now
    row.updated_at = uow.now
    uow.flush()
