"""The line collection (``invoice.line``, reconciler.md §3.11).

Standalone invoice lines are created on the gathering invoice, deleted from gathering and mutable
invoices, and updated in place when any rendered field differs (D-01). Lines on immutable invoices are
never changed: their drift becomes validation issues (§3.10). Lines on a deleted gathering invoice
(``gone``) are left alone.

Skip rule: a line annotated ``sync.ignore`` or not managed by the subscription is never updated and
raises no issue. Deletes do not look at ``managed_by``: a live manual line is still deleted when its
target disappears (kept on purpose, §2.5).
"""

from __future__ import annotations

from billing.lines import ANNOTATION_SYNC_IGNORE, Line, NewLine
from billing.prices import FlatPrice
from patches.model import LineCreate, LineDelete, LineUpdate, Operation, Patch, Shape
from persistedstate.items import InvoiceLineItem
from reconciler.building import line_changes, standalone_ref
from reconciler.context import PlanContext
from reconciler.rendered import content_changes, is_empty_truncated, ordered, period_label
from reconciler.scope import ScopedTarget


def skip_line(existing: Line, expected: NewLine | None) -> bool:
    """§3.11: the expected or the existing line is ignored, or the existing line is not ours."""
    if expected is not None and expected.annotation(ANNOTATION_SYNC_IGNORE):
        return True
    return existing.annotation(ANNOTATION_SYNC_IGNORE) or existing.managed_by != "subscription"


class LineCollection:
    shape = Shape.LINE

    def __init__(self, ctx: PlanContext) -> None:
        self.ctx = ctx
        self.patches: list[Patch] = []

    def _patch(self, operation: str, identity: str, step: object) -> None:
        self.patches.append(
            Patch(
                operation=Operation(operation),
                identity=identity,
                shape=self.shape,
                subscription_id=self.ctx.subscription_id,
                steps=(step,),
            )
        )

    def add_create(self, scoped: ScopedTarget) -> None:
        """One ``line_create`` of the expected gathering line; nothing when there is no line."""
        if scoped.expected is None:
            return
        self._patch("create", scoped.identity, LineCreate(currency=self.ctx.currency, line=scoped.expected))

    def add_delete(self, item: InvoiceLineItem) -> None:
        """§3.11 delete table: ignored or already deleted → nothing; gathering or mutable → delete;
        immutable → "should be deleted" drift; gone → nothing."""
        line = item.line
        if line.annotation(ANNOTATION_SYNC_IGNORE) or line.deleted_at is not None:
            return
        invoice = self.ctx.invoice(line.invoice_id, identity=item.identity)
        invoice_class = invoice.invoice_class
        if invoice_class in ("gathering", "mutable"):
            self._patch("delete", item.identity or "", LineDelete(line=standalone_ref(line)))
        elif invoice_class == "immutable":
            self.ctx.drift.delete(invoice, line)

    def add_update(self, item: InvoiceLineItem, scoped: ScopedTarget) -> None:
        """§3.11 update: reconcile every rendered field of a mutable, subscription-managed line."""
        line = item.line
        expected = scoped.expected
        assert expected is not None, "in-scope invoice targets carry an expected line"
        if skip_line(line, expected):
            return
        invoice = self.ctx.invoice(line.invoice_id, identity=scoped.identity)
        invoice_class = invoice.invoice_class
        if invoice_class == "immutable":
            if line.deleted_at is None:
                self._drift(invoice, line, scoped)
            return
        if invoice_class == "gone":
            return
        flat = isinstance(expected.price, FlatPrice)
        label = "prorate" if flat else period_label(line.service_period, expected.service_period)
        ref = standalone_ref(line)
        if not flat and is_empty_truncated(expected.service_period.start, expected.service_period.end):
            self._patch(label, scoped.identity, LineDelete(line=ref))
            return
        changes = content_changes(line, expected, on_gathering=invoice_class == "gathering")
        if line.deleted_at is not None:
            changes["deleted_at"] = (line.deleted_at, None)
            changes = ordered(changes)
        if changes:
            self._patch(label, scoped.identity, LineUpdate(line=ref, changes=line_changes(changes)))

    def _drift(self, invoice, line: Line, scoped: ScopedTarget) -> None:  # type: ignore[no-untyped-def]
        expected = scoped.expected
        assert expected is not None
        if isinstance(expected.price, FlatPrice):
            self.ctx.drift.flat_update(
                invoice,
                line,
                per_unit_amount=expected.per_unit_amount,  # type: ignore[arg-type]
                period=expected.service_period,
                precision=scoped.target.currency.minor_units,
                identity=scoped.identity,
            )
        else:
            self.ctx.drift.usage_update(invoice, line, period=expected.service_period, identity=scoped.identity)
