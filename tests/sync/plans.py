"""Hand-built plans for applier and sync tests (fixed ids, fixed instants)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from billing.invoices import ValidationIssue
from billing.lines import NewLine, SubscriptionReference
from billing.period import Period
from patches.model import (
    Change,
    GroupChanges,
    GroupDelete,
    GroupUpdate,
    InvoiceHeader,
    IssueLine,
    IssueUpdate,
    LineChanges,
    LineCreate,
    LineDelete,
    LineRef,
    LineUpdate,
    Operation,
    Patch,
    Plan,
    Shape,
)

UTC = dt.timezone.utc
NS = "ns"
CUSTOMER = "cus-1"
BASIS = "0" * 64


def at(text: str) -> dt.datetime:
    """``2025-05-08`` or ``2025-05-08T12:00`` → aware UTC."""
    value = dt.datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def period(start: str, end: str) -> Period:
    return Period(start=at(start), end=at(end))


def header(invoice_id: str, invoice_class: str, *, status: str | None = None, currency: str = "USD") -> InvoiceHeader:
    kind = "gathering" if invoice_class in ("gathering", "gone") else "standard"
    default = {"gathering": "gathering", "gone": "gathering", "mutable": "draft.manual_approval_needed",
               "immutable": "paid"}[invoice_class]
    return InvoiceHeader(id=invoice_id, kind=kind, status=status or default, invoice_class=invoice_class,
                         currency=currency)


def ref(line_id: str, invoice_id: str, service_period: Period, *, identity: str | None = None,
        group: str | None = None) -> LineRef:
    return LineRef(line_id=line_id, invoice_id=invoice_id, identity=identity, split_line_group_id=group,
                   service_period=service_period)


def usage_new_line(service_period: Period, *, identity: str | None = None, group: str | None = None,
                   invoice_at: dt.datetime | None = None, amount: str = "0.08", subscription_id: str = "sub-1",
                   feature_key: str | None = "api", name: str = "storage") -> NewLine:
    return NewLine(
        name=name, service_period=service_period, invoice_at=invoice_at or service_period.end,
        price={"type": "unit", "amount": amount}, feature_key=feature_key,
        child_unique_reference_id=identity, split_line_group_id=group,
        subscription=SubscriptionReference(subscription_id=subscription_id, phase_id="phase-1", item_id="item-1",
                                           billing_period=service_period),
    )


def flat_new_line(service_period: Period, *, identity: str, amount: str = "5", term: str = "in_advance",
                  subscription_id: str = "sub-1", name: str = "fee") -> NewLine:
    return NewLine(
        name=name, service_period=service_period,
        invoice_at=service_period.start if term == "in_advance" else service_period.end,
        price={"type": "flat", "amount": amount, "payment_term": term},
        child_unique_reference_id=identity,
        subscription=SubscriptionReference(subscription_id=subscription_id, phase_id="phase-1", item_id="item-1",
                                           billing_period=service_period),
    )


def create_patch(line: NewLine, *, subscription_id: str = "sub-1", currency: str = "USD") -> Patch:
    return Patch(operation=Operation.CREATE, identity=line.child_unique_reference_id, shape=Shape.LINE,
                 subscription_id=subscription_id, steps=(LineCreate(currency=currency, line=line),))


def line_patch(operation: Operation, step: Any, *, subscription_id: str = "sub-1") -> Patch:
    return Patch(operation=operation, identity=step.line.identity, shape=Shape.LINE,
                 subscription_id=subscription_id, steps=(step,))


def group_patch(operation: Operation, identity: str, *steps: Any, subscription_id: str = "sub-1") -> Patch:
    return Patch(operation=operation, identity=identity, shape=Shape.SPLIT_LINE_GROUP,
                 subscription_id=subscription_id, steps=tuple(steps))


def period_change(old: Period, new: Period) -> LineChanges:
    return LineChanges(service_period=Change[Period](old=old, new=new))


def group_period_update(group_id: str, old: Period, new: Period) -> GroupUpdate:
    return GroupUpdate(group_id=group_id, changes=GroupChanges(service_period=Change[Period](old=old, new=new)))


def sync_issue(line_id: str, message: str, severity: str = "warning") -> ValidationIssue:
    return ValidationIssue(severity=severity, code="immutable_invoice_handling_not_supported", message=message,
                           component="subscription-sync", path=f"lines/{line_id}")


def issue_update(invoice_id: str, *, add: tuple[tuple[str, str, str], ...] = (),
                 remove: tuple[tuple[str, str, str], ...] = (),
                 child_periods: dict[str, Period] | None = None) -> IssueUpdate:
    """``add`` / ``remove``: ``(line_id, identity, message)``."""
    child_periods = child_periods or {}
    lines = {line_id: IssueLine(line_id=line_id, identity=identity, child_period=child_periods.get(line_id))
             for line_id, identity, _ in (*add, *remove)}
    key = lambda issue: (issue.path, issue.message)  # noqa: E731
    return IssueUpdate(
        invoice_id=invoice_id,
        add=tuple(sorted((sync_issue(line_id, message) for line_id, _, message in add), key=key)),
        remove=tuple(sorted((sync_issue(line_id, message) for line_id, _, message in remove), key=key)),
        lines=tuple(lines.values()),
    )


def make_plan(*, patches: tuple[Patch, ...] = (), issue_updates: tuple[IssueUpdate, ...] = (),
              invoices: tuple[InvoiceHeader, ...] = (), repairs: tuple[Any, ...] = (),
              subscription_id: str = "sub-1", customer_id: str = CUSTOMER, currency: str = "USD",
              basis: str = BASIS, as_of: str = "2025-05-18", has_billables: bool = True,
              limit: dt.datetime | None = None, namespace: str = NS) -> Plan:
    return Plan(
        namespace=namespace, subscription_id=subscription_id, customer_id=customer_id, currency=currency,
        as_of=at(as_of), basis=basis, has_billables=has_billables, max_generation_time_limit=limit,
        reference_repairs=tuple(repairs), patches=tuple(patches), issue_updates=tuple(issue_updates),
        invoices=tuple(sorted(invoices, key=lambda h: h.id)),
    )


def example_b(*, gathering: str = "inv-9", draft: str = "inv-7", paid: str = "inv-5", group: str = "grp-1",
              child_ids: tuple[str, str, str] = ("line-1", "line-2", "line-3"),
              subscription_id: str = "sub-2") -> Plan:
    """reconciler.md §9.1 example B: a late phase insert over immutable, draft and gathering children."""
    old_group = period("2025-05-01", "2025-06-01")
    child1, child2, child3 = child_ids
    old_identity = f"{subscription_id}/standard/storage/v[0]/period[0]"
    new_identity = f"{subscription_id}/premium/storage/v[0]/period[0]"
    shrink = group_patch(
        Operation.SHRINK, old_identity,
        LineDelete(line=ref(child2, draft, period("2025-05-12", "2025-05-20"), group=group)),
        LineDelete(line=ref(child3, gathering, period("2025-05-20", "2025-06-01"), group=group)),
        group_period_update(group, old_group, period("2025-05-01", "2025-05-08")),
        subscription_id=subscription_id,
    )
    create = create_patch(usage_new_line(period("2025-05-08", "2025-06-01"), identity=new_identity,
                                         subscription_id=subscription_id), subscription_id=subscription_id)
    issues = issue_update(
        paid, add=((child1, old_identity,
                    "usage based line's quantity cannot be changed on immutable invoice (new qty: 25)"),),
        child_periods={child1: period("2025-05-01", "2025-05-12")},
    )
    return make_plan(
        patches=(create, shrink), issue_updates=(issues,), subscription_id=subscription_id,
        invoices=(header(gathering, "gathering"), header(draft, "mutable"), header(paid, "immutable")),
    )
