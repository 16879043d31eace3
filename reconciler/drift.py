"""Drift on immutable invoices becomes validation-issue changes (reconciler.md §3.10, D-05, D-06, D-13).

The planner never plans a change against an immutable invoice. For every live, non-ignored line of
the subscription that sits on one, it works out the change the line *would* receive if its invoice
were mutable (its drift) and maps it to at most one desired issue. The issue changes of an invoice
are then ``desired − owned`` to add and ``owned − desired`` to remove, where *owned* are the issues
this subscription's sync wrote earlier. Issues are compared by (path, component, code, message).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any, Iterable, Mapping

from billing.invoices import ValidationIssue
from billing.lines import Line
from billing.money import canonical_text, money_text
from billing.period import Period
from patches.errors import PlanInvariantError
from reconciler.probes import QuantityLookup, QuantityProbe

ISSUE_CODE = "immutable_invoice_handling_not_supported"
ISSUE_COMPONENT = "subscription-sync"

SHOULD_BE_DELETED = "line should be deleted, but the invoice is immutable"
LINE_NOT_FOUND = "line not found in the invoice, cannot update"
FLAT_AMOUNT = "flat fee line's per unit amount cannot be changed on immutable invoice (new per unit amount: {})"
FLAT_PERIOD = "flat fee line's service period cannot be changed on immutable invoice"
USAGE_QUANTITY = "usage based line's quantity cannot be changed on immutable invoice (new qty: {})"


def issue_path(line_id: str) -> str:
    """``lines/<line_id>``; D-13: the "line not found" issue names the line too (OpenMeter: ``lines/nil``)."""
    return f"lines/{line_id}"


def issue_key(issue: ValidationIssue) -> tuple[str, str, str, str]:
    """What makes two issues the same for sync: (path, component, code, message)."""
    return (issue.path, issue.component, issue.code, issue.message)


def _issue(severity: str, line_id: str, message: str) -> ValidationIssue:
    return ValidationIssue(
        severity=severity,  # type: ignore[arg-type]
        code=ISSUE_CODE,
        message=message,
        component=ISSUE_COMPONENT,
        path=issue_path(line_id),
    )


def _in_invoice(invoice: Any, line_id: str) -> bool:
    return line_id in (invoice.line_ids or ())


class DriftIssues:
    """Collects the desired issues per immutable invoice while the collections plan."""

    def __init__(self, lookup: QuantityLookup, *, context: Mapping[str, str | None]) -> None:
        self._lookup = lookup
        self._context = dict(context)
        self.desired: dict[str, list[ValidationIssue]] = defaultdict(list)

    def _add(self, invoice_id: str, issue: ValidationIssue) -> None:
        if all(issue_key(issue) != issue_key(known) for known in self.desired[invoice_id]):
            self.desired[invoice_id].append(issue)

    def _require_in_invoice(self, invoice: Any, line: Line, identity: str) -> None:
        if not _in_invoice(invoice, line.id):
            raise PlanInvariantError(
                f"line {line.id} to update is not on its immutable invoice {invoice.id}",
                identity=identity,
                **self._context,  # type: ignore[arg-type]
            )

    def delete(self, invoice: Any, line: Line) -> None:
        """The line would be deleted: a warning if the invoice lists it, else a critical issue."""
        if _in_invoice(invoice, line.id):
            self._add(invoice.id, _issue("warning", line.id, SHOULD_BE_DELETED))
        else:
            self._add(invoice.id, _issue("critical", line.id, LINE_NOT_FOUND))

    def flat_update(
        self, invoice: Any, line: Line, *, per_unit_amount: Decimal, period: Period, precision: int, identity: str
    ) -> None:
        """A flat fee would get a new amount (checked first) or a new 1s-truncated period."""
        self._require_in_invoice(invoice, line, identity)
        if line.per_unit_amount != per_unit_amount:
            self._add(invoice.id, _issue("warning", line.id, FLAT_AMOUNT.format(money_text(per_unit_amount, precision))))
        elif line.service_period.truncated() != period.truncated():
            self._add(invoice.id, _issue("warning", line.id, FLAT_PERIOD))

    def usage_update(self, invoice: Any, line: Line, *, period: Period, identity: str) -> None:
        """A usage line would get a new period: re-metered over it, a different quantity is a warning."""
        self._require_in_invoice(invoice, line, identity)
        desired = period.truncated()
        if line.service_period.truncated() == desired:
            return
        probe = QuantityProbe(invoice_id=invoice.id, line_id=line.id, period=desired)
        quantity = self._lookup.quantity(probe, identity=identity, current=line.quantity)
        if line.quantity is None or quantity != line.quantity:
            self._add(invoice.id, _issue("warning", line.id, USAGE_QUANTITY.format(canonical_text(quantity))))


def _sorted(issues: Iterable[ValidationIssue]) -> tuple[ValidationIssue, ...]:
    return tuple(sorted(issues, key=lambda issue: (issue.path, issue.message)))


def is_owned(issue: ValidationIssue, line_ids: frozenset[str]) -> bool:
    """§1.4: written by this subscription's sync — our component and code, on one of our lines."""
    if issue.component != ISSUE_COMPONENT or issue.code != ISSUE_CODE:
        return False
    prefix = "lines/"
    return issue.path.startswith(prefix) and issue.path[len(prefix):] in line_ids


def issue_changes(
    invoices: Mapping[str, Any], desired: Mapping[str, list[ValidationIssue]], line_ids: frozenset[str]
) -> list[tuple[str, tuple[ValidationIssue, ...], tuple[ValidationIssue, ...]]]:
    """For each immutable invoice, in invoice-id order: ``(invoice_id, add, remove)`` when either part
    is non-empty. Issues this sync does not own are never touched (D-06 removes only our own)."""
    result = []
    for invoice_id in sorted(invoices):
        invoice = invoices[invoice_id]
        if invoice.invoice_class != "immutable":
            continue
        owned = [issue for issue in (invoice.validation_issues or ()) if is_owned(issue, line_ids)]
        wanted = desired.get(invoice_id, [])
        owned_keys = {issue_key(issue) for issue in owned}
        wanted_keys = {issue_key(issue) for issue in wanted}
        add = _sorted(issue for issue in wanted if issue_key(issue) not in owned_keys)
        remove = _sorted(issue for issue in owned if issue_key(issue) not in wanted_keys)
        if add or remove:
            result.append((invoice_id, add, remove))
    return result
