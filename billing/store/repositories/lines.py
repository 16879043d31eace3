"""Invoice lines: inserts, replacements and the per-subscription reads of the loader.

The subscription reads run one query each (lines joined with their invoice), whatever the number of
lines: no per-line queries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from billing.errors import NotFoundError
from billing.ids import new_id
from billing.lines import ZERO_TOTALS, Line, LineContent
from billing.store.mapping import line_of, set_totals, write_line_content
from billing.store.tables import InvoiceRow, LineRow


class LineRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def rows(self, namespace: str, ids: Collection[str]) -> dict[str, LineRow]:
        if not ids:
            return {}
        query = select(LineRow).where(LineRow.namespace == namespace, LineRow.id.in_(list(ids)))
        return {row.id: row for row in self.session.scalars(query)}

    def require_row(self, namespace: str, line_id: str) -> LineRow:
        row = self.rows(namespace, [line_id]).get(line_id)
        if row is None:
            raise NotFoundError(f"line {line_id!r} not found in namespace {namespace!r}")
        return row

    def insert(self, invoice: InvoiceRow, content: LineContent, now: dt.datetime) -> LineRow:
        row = LineRow(
            id=new_id(),
            namespace=invoice.namespace,
            invoice_id=invoice.id,
            customer_id=invoice.customer_id,
            currency=invoice.currency,
            created_at=now,
            updated_at=now,
            deleted_at=None,
        )
        write_line_content(row, content)
        set_totals(row, ZERO_TOTALS)
        self.session.add(row)
        return row

    def model(self, row: LineRow, invoice_kind: str) -> Line:
        return line_of(row, invoice_kind)

    def _for_subscription(self, namespace: str, subscription_id: str, invoice_kind: str) -> list[Line]:
        query = (
            select(LineRow, InvoiceRow.kind)
            .join(InvoiceRow, InvoiceRow.id == LineRow.invoice_id)
            .where(
                LineRow.namespace == namespace,
                LineRow.subscription_id == subscription_id,
                LineRow.charge_id.is_(None),
                InvoiceRow.kind == invoice_kind,
                or_(LineRow.deleted_at.is_(None), LineRow.managed_by == "manual"),
            )
            .order_by(LineRow.sequence)
        )
        return [line_of(row, kind) for row, kind in self.session.execute(query)]

    def standard_for_subscription(self, namespace: str, subscription_id: str) -> list[Line]:
        """Top-level, non-charge lines of the subscription on standard invoices; deleted only if manual."""
        return self._for_subscription(namespace, subscription_id, "standard")

    def gathering_for_subscription(self, namespace: str, subscription_id: str) -> list[Line]:
        return self._for_subscription(namespace, subscription_id, "gathering")

    def children_with_invoices(self, group_ids: Collection[str]) -> list[tuple[LineRow, InvoiceRow]]:
        """Every child of the groups, deleted ones included, with its invoice (one query)."""
        if not group_ids:
            return []
        query = (
            select(LineRow, InvoiceRow)
            .join(InvoiceRow, InvoiceRow.id == LineRow.invoice_id)
            .where(LineRow.split_line_group_id.in_(list(group_ids)))
            .order_by(LineRow.service_period_start, LineRow.service_period_end, LineRow.id)
        )
        return [(line, invoice) for line, invoice in self.session.execute(query)]

    def live_children(self, group_id: str) -> list[LineRow]:
        return list(
            self.session.scalars(
                select(LineRow)
                .where(LineRow.split_line_group_id == group_id, LineRow.deleted_at.is_(None))
                .order_by(LineRow.service_period_start, LineRow.sequence)
            )
        )
