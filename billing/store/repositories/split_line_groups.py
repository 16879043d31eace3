"""Split-line groups and the hierarchies of a subscription (group + children + invoice headers)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.errors import NotFoundError
from billing.ids import new_id
from billing.split_lines import NewSplitLineGroup, SplitLineChild, SplitLineGroup, SplitLineHierarchy
from billing.store.mapping import group_of, invoice_header_of, line_of, write_group_content
from billing.store.repositories.lines import LineRepository
from billing.store.tables import SplitLineGroupRow


class SplitLineGroupRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def row(self, namespace: str, group_id: str) -> SplitLineGroupRow | None:
        return self.session.scalars(
            select(SplitLineGroupRow).where(SplitLineGroupRow.namespace == namespace, SplitLineGroupRow.id == group_id)
        ).one_or_none()

    def require_row(self, namespace: str, group_id: str) -> SplitLineGroupRow:
        row = self.row(namespace, group_id)
        if row is None:
            raise NotFoundError(f"split-line group {group_id!r} not found in namespace {namespace!r}")
        return row

    def get(self, namespace: str, group_id: str) -> SplitLineGroup:
        return group_of(self.require_row(namespace, group_id))

    def insert(self, namespace: str, group: NewSplitLineGroup, now: dt.datetime) -> SplitLineGroupRow:
        row = SplitLineGroupRow(
            id=new_id(),
            namespace=namespace,
            customer_id=group.customer_id,
            created_at=now,
            updated_at=now,
            deleted_at=None,
        )
        write_group_content(row, group)
        self.session.add(row)
        self.session.flush()
        return row

    def hierarchies_for_subscription(self, namespace: str, subscription_id: str) -> list[SplitLineHierarchy]:
        """Live groups of the subscription, each with all its children and their invoices (two queries)."""
        groups = list(
            self.session.scalars(
                select(SplitLineGroupRow)
                .where(
                    SplitLineGroupRow.namespace == namespace,
                    SplitLineGroupRow.subscription_id == subscription_id,
                    SplitLineGroupRow.deleted_at.is_(None),
                )
                .order_by(SplitLineGroupRow.sequence)
            )
        )
        children: dict[str, list[SplitLineChild]] = defaultdict(list)
        for line, invoice in LineRepository(self.session).children_with_invoices([g.id for g in groups]):
            children[line.split_line_group_id or ""].append(
                SplitLineChild(line=line_of(line, invoice.kind), invoice=invoice_header_of(invoice))
            )
        return [SplitLineHierarchy(group=group_of(g), children=tuple(children.get(g.id, ()))) for g in groups]
