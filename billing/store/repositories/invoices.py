"""Invoices, their line ids and validation issues. Batch reads use one IN-query per relation."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.errors import NotFoundError
from billing.ids import new_id
from billing.invoices import Invoice, InvoiceHeader, ValidationIssue
from billing.lines import ZERO_TOTALS, Line
from billing.store.mapping import invoice_header_of, issue_of, line_of, set_totals, totals_of
from billing.store.tables import InvoiceRow, LineRow, ValidationIssueRow


def issue_hash(issue: ValidationIssue) -> str:
    return hashlib.sha256("\x1f".join(issue.content_key).encode()).hexdigest()


class InvoiceRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- rows -----------------------------------------------------------------------------------
    def row(self, namespace: str, invoice_id: str) -> InvoiceRow | None:
        return self.session.scalars(
            select(InvoiceRow).where(InvoiceRow.namespace == namespace, InvoiceRow.id == invoice_id)
        ).one_or_none()

    def require_row(self, namespace: str, invoice_id: str) -> InvoiceRow:
        row = self.row(namespace, invoice_id)
        if row is None:
            raise NotFoundError(f"invoice {invoice_id!r} not found in namespace {namespace!r}")
        return row

    def live_gathering_row(self, namespace: str, customer_id: str, currency: str) -> InvoiceRow | None:
        return self.session.scalars(
            select(InvoiceRow).where(
                InvoiceRow.namespace == namespace,
                InvoiceRow.customer_id == customer_id,
                InvoiceRow.currency == currency,
                InvoiceRow.kind == "gathering",
                InvoiceRow.deleted_at.is_(None),
            )
        ).one_or_none()

    def customer_rows(self, namespace: str, customer_id: str, *, kind: str | None = None) -> list[InvoiceRow]:
        query = select(InvoiceRow).where(InvoiceRow.namespace == namespace, InvoiceRow.customer_id == customer_id)
        if kind is not None:
            query = query.where(InvoiceRow.kind == kind)
        return list(self.session.scalars(query.order_by(InvoiceRow.sequence)))

    def insert(
        self,
        *,
        namespace: str,
        customer_id: str,
        kind: str,
        status: str,
        immutable: bool,
        currency: str,
        now: dt.datetime,
        collection_at: dt.datetime | None = None,
    ) -> InvoiceRow:
        row = InvoiceRow(
            id=new_id(),
            namespace=namespace,
            customer_id=customer_id,
            kind=kind,
            status=status,
            immutable=immutable,
            currency=currency,
            collection_at=collection_at,
            collected_at=None,
            issued_at=None,
            due_at=None,
            created_at=now,
            updated_at=now,
            deleted_at=None,
        )
        set_totals(row, ZERO_TOTALS)
        self.session.add(row)
        self.session.flush()
        return row

    def line_rows(self, invoice_id: str, *, include_deleted: bool = True) -> list[LineRow]:
        query = select(LineRow).where(LineRow.invoice_id == invoice_id)
        if not include_deleted:
            query = query.where(LineRow.deleted_at.is_(None))
        return list(self.session.scalars(query.order_by(LineRow.sequence)))

    # -- models ---------------------------------------------------------------------------------
    def header(self, namespace: str, invoice_id: str) -> InvoiceHeader:
        return invoice_header_of(self.require_row(namespace, invoice_id))

    def load(self, namespace: str, invoice_id: str, *, include_deleted_lines: bool = True) -> Invoice:
        """The invoice with its lines, line ids and live validation issues (three queries)."""
        row = self.require_row(namespace, invoice_id)
        return self.model(row, include_deleted_lines=include_deleted_lines)

    def model(self, row: InvoiceRow, *, include_deleted_lines: bool = True) -> Invoice:
        line_rows = self.line_rows(row.id)
        lines: list[Line] = [
            line_of(line_row, row.kind)
            for line_row in line_rows
            if include_deleted_lines or line_row.deleted_at is None
        ]
        issues = self.live_issues([row.id]).get(row.id, ())
        return Invoice(
            **invoice_header_of(row).model_dump(),
            totals=totals_of(row),
            validation_issues=tuple(issues),
            line_ids=tuple(line_row.id for line_row in line_rows),
            lines=tuple(lines),
        )

    def list(
        self,
        namespace: str,
        ids: Collection[str],
        *,
        include_deleted: bool = True,
        with_line_ids: bool = True,
        with_validation_issues: bool = True,
    ) -> list[Invoice]:
        """Invoices by id (ordered by creation), in at most three queries whatever their number."""
        if not ids:
            return []
        query = select(InvoiceRow).where(InvoiceRow.namespace == namespace, InvoiceRow.id.in_(list(ids)))
        if not include_deleted:
            query = query.where(InvoiceRow.deleted_at.is_(None))
        rows = list(self.session.scalars(query.order_by(InvoiceRow.sequence)))
        found = [row.id for row in rows]
        line_ids: dict[str, list[str]] = defaultdict(list)
        if with_line_ids and found:
            for invoice_id, line_id in self.session.execute(
                select(LineRow.invoice_id, LineRow.id).where(LineRow.invoice_id.in_(found)).order_by(LineRow.sequence)
            ):
                line_ids[invoice_id].append(line_id)
        issues = self.live_issues(found) if with_validation_issues and found else {}
        return [
            Invoice(
                **invoice_header_of(row).model_dump(),
                totals=totals_of(row),
                validation_issues=tuple(issues.get(row.id, ())),
                line_ids=tuple(line_ids.get(row.id, ())) if with_line_ids else None,
            )
            for row in rows
        ]

    def for_customer(self, namespace: str, customer_id: str) -> list[Invoice]:
        """Every invoice of the customer with lines and live issues, gathering first then standard by
        creation (three queries)."""
        rows = self.customer_rows(namespace, customer_id)
        rows.sort(key=lambda row: (row.kind != "gathering", row.sequence))
        ids = [row.id for row in rows]
        lines: dict[str, list[LineRow]] = defaultdict(list)
        if ids:
            for line in self.session.scalars(
                select(LineRow).where(LineRow.invoice_id.in_(ids)).order_by(LineRow.sequence)
            ):
                lines[line.invoice_id].append(line)
        issues = self.live_issues(ids) if ids else {}
        return [
            Invoice(
                **invoice_header_of(row).model_dump(),
                totals=totals_of(row),
                validation_issues=tuple(issues.get(row.id, ())),
                line_ids=tuple(line.id for line in lines.get(row.id, ())),
                lines=tuple(line_of(line, row.kind) for line in lines.get(row.id, ())),
            )
            for row in rows
        ]

    # -- validation issues ----------------------------------------------------------------------
    def live_issue_rows(self, invoice_ids: Sequence[str]) -> list[ValidationIssueRow]:
        return list(
            self.session.scalars(
                select(ValidationIssueRow)
                .where(ValidationIssueRow.invoice_id.in_(list(invoice_ids)), ValidationIssueRow.deleted_at.is_(None))
                .order_by(ValidationIssueRow.sequence)
            )
        )

    def live_issues(self, invoice_ids: Sequence[str]) -> dict[str, list[ValidationIssue]]:
        result: dict[str, list[ValidationIssue]] = defaultdict(list)
        for row in self.live_issue_rows(invoice_ids):
            result[row.invoice_id].append(issue_of(row))
        return result

    def replace_issues(self, invoice: InvoiceRow, issues: Sequence[ValidationIssue], now: dt.datetime) -> None:
        """Make ``issues`` the live list: dedupe by content hash, soft-delete the missing, keep the rest."""
        wanted: dict[str, ValidationIssue] = {}
        for issue in issues:
            wanted.setdefault(issue_hash(issue), issue)
        existing = {row.dedupe_hash: row for row in self.live_issue_rows([invoice.id])}
        for digest, row in existing.items():
            if digest not in wanted:
                row.deleted_at = now
                row.updated_at = now
        self.session.flush()
        for digest, issue in wanted.items():
            if digest in existing:
                continue
            self.session.add(
                ValidationIssueRow(
                    id=new_id(),
                    namespace=invoice.namespace,
                    invoice_id=invoice.id,
                    severity=issue.severity,
                    code=issue.code,
                    message=issue.message,
                    component=issue.component,
                    path=issue.path,
                    dedupe_hash=digest,
                    created_at=now,
                    updated_at=now,
                    deleted_at=None,
                )
            )
        self.session.flush()

