"""Batch-loading a chunk of subscriptions for the pre-planner (reconciler.md §7.2 "Batching").

A sync reads, per subscription: its stored row (resolve), its customer (override), its standard and
gathering lines, its split-line hierarchies and the invoices they reference, about ten statements. For
a chunk of subscriptions ``ChunkReads`` reads all of that in a fixed number of statements (one per
kind, whatever the chunk's size), and ``PrefetchedBilling`` / ``PrefetchedSubscriptions`` serve the
sync service's port calls from it. Calls for anything that was not prefetched (another subscription,
other flags, quantity probes, charges) go to the real ports.

The queries are the repositories' own per-subscription queries with ``IN`` instead of ``=``; every
row is mapped by the same ``billing.store.mapping`` functions, so a prefetched read returns what the
per-subscription read would (``tests/job/test_prefetch.py`` compares them on a store holding every
kind of artifact). Only the unlocked pre-planner uses this: whatever it finds, a subscription with
work to do is loaded again under its customer's lock before anything is applied.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select

from billing.customers import Customer, CustomerOverride
from billing.invoices import Invoice
from billing.lines import Line
from billing.split_lines import SplitLineChild, SplitLineHierarchy
from billing.store.mapping import customer_of, group_of, invoice_header_of, line_of
from billing.store.plain_rows import plain_columns
from billing.store.repositories.lines import LineRepository
from billing.store.tables import CustomerRow, InvoiceRow, LineRow, SplitLineGroupRow
from billing.store.unit_of_work import UnitOfWork
from billing.stored_subscriptions import StoredSubscription
from subsync.sync.subscriptions import ResolvedSubscription, StoredSubscriptions, is_deleted, view_of

#: ``list_invoices`` flags the loader uses; other combinations are not prefetched.
_LOADER_INVOICE_FLAGS = {"include_deleted": True, "with_line_ids": True, "with_validation_issues": True}


@dataclass
class ChunkReads:
    """What the syncs of one namespace's chunk read, fetched up front."""

    namespace: str
    subscription_ids: frozenset[str]
    customer_ids: frozenset[str]
    subscriptions: dict[str, StoredSubscription] = field(default_factory=dict)
    lines: dict[tuple[str, str], list[Line]] = field(default_factory=lambda: defaultdict(list))
    hierarchies: dict[str, list[SplitLineHierarchy]] = field(default_factory=lambda: defaultdict(list))
    invoice_ids: frozenset[str] = frozenset()
    invoices: dict[str, Invoice] = field(default_factory=dict)
    customers: dict[str, Customer] = field(default_factory=dict)

    @classmethod
    def load(cls, uow: UnitOfWork, namespace: str, subscription_ids: Collection[str],
             customer_ids: Collection[str]) -> "ChunkReads":
        """Seven statements (plus two when invoices are referenced) for the whole chunk."""
        reads = cls(namespace=namespace, subscription_ids=frozenset(subscription_ids),
                    customer_ids=frozenset(customer_ids))
        ids = sorted(reads.subscription_ids)
        for stored in uow.subscriptions.list(ids=ids, namespaces=[namespace], include_deleted=True):
            reads.subscriptions[stored.id] = stored
        for row in uow.session.scalars(select(CustomerRow).where(CustomerRow.namespace == namespace,
                                                                 CustomerRow.id.in_(sorted(reads.customer_ids)))):
            reads.customers[row.id] = customer_of(row)
        # LineRepository._for_subscription, for every subscription of the chunk and both invoice kinds.
        line_query = (
            select(*plain_columns(LineRow), InvoiceRow.kind.label("invoice_kind"))
            .join(InvoiceRow, InvoiceRow.id == LineRow.invoice_id)
            .where(
                LineRow.namespace == namespace,
                LineRow.subscription_id.in_(ids),
                LineRow.charge_id.is_(None),
                or_(LineRow.deleted_at.is_(None), LineRow.managed_by == "manual"),
            )
            .order_by(LineRow.sequence)
        )
        referenced: set[str] = set()
        for row in uow.session.execute(line_query):
            reads.lines[(row.subscription_id or "", row.invoice_kind)].append(line_of(row, row.invoice_kind))
            referenced.add(row.invoice_id)
        # SplitLineGroupRepository.hierarchies_for_subscription, for every subscription of the chunk.
        groups = list(uow.session.execute(
            select(*plain_columns(SplitLineGroupRow))
            .where(SplitLineGroupRow.namespace == namespace, SplitLineGroupRow.subscription_id.in_(ids),
                   SplitLineGroupRow.deleted_at.is_(None))
            .order_by(SplitLineGroupRow.sequence)
        ))
        children: dict[str, list[SplitLineChild]] = defaultdict(list)
        for line, invoice in LineRepository(uow.session).children_with_invoices([g.id for g in groups]):
            children[line.split_line_group_id or ""].append(
                SplitLineChild(line=line_of(line, invoice.kind), invoice=invoice_header_of(invoice))
            )
            referenced.add(invoice.id)
        for group in groups:
            reads.hierarchies[group.subscription_id or ""].append(
                SplitLineHierarchy(group=group_of(group), children=tuple(children.get(group.id, ())))
            )
        reads.invoice_ids = frozenset(referenced)
        for invoice in uow.invoices.list(namespace, sorted(referenced), **_LOADER_INVOICE_FLAGS):
            reads.invoices[invoice.id] = invoice
        return reads

    def covers(self, namespace: str, subscription_id: str) -> bool:
        return namespace == self.namespace and subscription_id in self.subscription_ids


class PrefetchedBilling:
    """The billing port, serving the chunk's reads from ``ChunkReads``; everything else is the real port."""

    def __init__(self, billing: Any, reads: dict[str, ChunkReads]) -> None:
        self._billing = billing
        self._reads = reads

    def __getattr__(self, name: str) -> Any:
        return getattr(self._billing, name)

    def _covering(self, namespace: str, subscription_id: str) -> ChunkReads | None:
        reads = self._reads.get(namespace)
        return reads if reads is not None and reads.covers(namespace, subscription_id) else None

    def get_standard_lines_for_subscription(self, namespace: str, subscription_id: str) -> list[Line]:
        reads = self._covering(namespace, subscription_id)
        if reads is None:
            return self._billing.get_standard_lines_for_subscription(namespace, subscription_id)
        return list(reads.lines.get((subscription_id, "standard"), ()))

    def get_gathering_lines_for_subscription(self, namespace: str, subscription_id: str) -> list[Line]:
        reads = self._covering(namespace, subscription_id)
        if reads is None:
            return self._billing.get_gathering_lines_for_subscription(namespace, subscription_id)
        return list(reads.lines.get((subscription_id, "gathering"), ()))

    def get_split_line_hierarchies_for_subscription(self, namespace: str, subscription_id: str) -> list[SplitLineHierarchy]:
        reads = self._covering(namespace, subscription_id)
        if reads is None:
            return self._billing.get_split_line_hierarchies_for_subscription(namespace, subscription_id)
        return list(reads.hierarchies.get(subscription_id, ()))

    def list_invoices(self, namespace: str, ids: Collection[str], **flags: Any) -> list[Invoice]:
        reads = self._reads.get(namespace)
        wanted = set(ids)
        if reads is None or {**_LOADER_INVOICE_FLAGS, **flags} != _LOADER_INVOICE_FLAGS \
                or not wanted <= reads.invoice_ids:
            return self._billing.list_invoices(namespace, ids, **flags)
        found = [reads.invoices[i] for i in wanted if i in reads.invoices]
        return sorted(found, key=lambda invoice: invoice.sequence)

    def get_customer_override(self, namespace: str, customer_id: str) -> CustomerOverride:
        reads = self._reads.get(namespace)
        customer = reads.customers.get(customer_id) if reads is not None else None
        if customer is None:
            return self._billing.get_customer_override(namespace, customer_id)
        return CustomerOverride(customer=customer, profile=customer.billing_profile)


class PrefetchedSubscriptions:
    """The subscription port, resolving the chunk's subscriptions from ``ChunkReads``."""

    def __init__(self, subscriptions: StoredSubscriptions, reads: dict[str, ChunkReads]) -> None:
        self._subscriptions = subscriptions
        self._reads = reads

    def __getattr__(self, name: str) -> Any:
        return getattr(self._subscriptions, name)

    def resolve(self, namespace: str, subscription_id: str) -> ResolvedSubscription:
        reads = self._reads.get(namespace)
        stored = reads.subscriptions.get(subscription_id) if reads is not None else None
        if stored is None:  # not prefetched, or not found: the real port (and its error)
            return self._subscriptions.resolve(namespace, subscription_id)
        view = view_of(stored)
        return ResolvedSubscription(namespace=stored.namespace, subscription_id=stored.id,
                                    customer_id=stored.customer_id, view=view, deleted=is_deleted(stored, view))

    def get_view(self, namespace: str, subscription_id: str) -> Any:
        return self.resolve(namespace, subscription_id).view


def chunk_reads(uow: UnitOfWork, chunk: Sequence[Any]) -> dict[str, ChunkReads]:
    """``ChunkReads`` per namespace for listed subscriptions (``namespace``, ``subscription_id``,
    ``customer_id``)."""
    by_namespace: dict[str, list[Any]] = defaultdict(list)
    for listed in chunk:
        by_namespace[listed.namespace].append(listed)
    return {
        namespace: ChunkReads.load(uow, namespace, [item.subscription_id for item in items],
                                   [item.customer_id for item in items])
        for namespace, items in by_namespace.items()
    }


__all__ = ["ChunkReads", "PrefetchedBilling", "PrefetchedSubscriptions", "chunk_reads"]
