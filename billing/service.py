"""``BillingService``: the billing port of reconciler §8.2 and the billing operations scenarios perform.

Every method runs in a unit of work of the store: its own transaction, or, inside
``locked_transaction`` / ``unit_of_work``, the surrounding one (mutations in a savepoint, so a failed
call leaves nothing behind). ``now`` comes from the store's clock; billing never reads the wall clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from typing import Literal

from billing.customers import BillingProfile, Customer, CustomerOverride
from billing.errors import IllegalTransitionError
from billing.invoice_lifecycle import InvoiceTrigger
from billing.invoices import Invoice, ValidationIssue
from billing.lines import ChangeSource, GatheringLine, Line, NewLine, StandardLine
from billing.operations import customers as customer_ops
from billing.operations import gathering, invoicing, issues, line_edits, split_line_groups, standard, transitions
from billing.operations.line_edits import LineEdit
from billing.operations.normalize import normalize_line
from billing.operations.rerating import metered_usage
from billing.split_lines import GroupChanges, NewSplitLineGroup, SplitLineGroup, SplitLineHierarchy
from billing.store.unit_of_work import Store, UnitOfWork
from billing.usage import Aggregation, Meter, NewUsageEvent, UsageEvent

PaymentEvent = Literal["authorized", "paid", "failed", "uncollectible"]
PAYMENT_TRIGGERS = {
    "authorized": InvoiceTrigger.PAYMENT_AUTHORIZED,
    "paid": InvoiceTrigger.PAYMENT_PAID,
    "failed": InvoiceTrigger.PAYMENT_FAILED,
    "uncollectible": InvoiceTrigger.PAYMENT_UNCOLLECTIBLE,
}


class BillingService:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- transactions (reconciler §6.3) -----------------------------------------------------------
    def locked_transaction(
        self, namespace: str, customer_id: str, *, rollback: bool = False
    ) -> AbstractContextManager[UnitOfWork]:
        return self.store.locked_transaction(namespace, customer_id, rollback=rollback)

    def unit_of_work(self) -> AbstractContextManager[UnitOfWork]:
        return self.store.unit_of_work()

    # -- reads for the persisted-state loader (fixed number of queries) ---------------------------
    def get_standard_lines_for_subscription(self, namespace: str, subscription_id: str) -> list[StandardLine]:
        with self.store.unit_of_work(read_only=True) as uow:
            return uow.lines.standard_for_subscription(namespace, subscription_id)  # type: ignore[return-value]

    def get_gathering_lines_for_subscription(self, namespace: str, subscription_id: str) -> list[GatheringLine]:
        with self.store.unit_of_work(read_only=True) as uow:
            return uow.lines.gathering_for_subscription(namespace, subscription_id)  # type: ignore[return-value]

    def get_split_line_hierarchies_for_subscription(self, namespace: str, subscription_id: str) -> list[SplitLineHierarchy]:
        with self.store.unit_of_work(read_only=True) as uow:
            return uow.groups.hierarchies_for_subscription(namespace, subscription_id)

    def list_invoices(
        self,
        namespace: str,
        ids: Collection[str],
        *,
        include_deleted: bool = True,
        with_line_ids: bool = True,
        with_validation_issues: bool = True,
    ) -> list[Invoice]:
        with self.store.unit_of_work(read_only=True) as uow:
            return uow.invoices.list(
                namespace, ids, include_deleted=include_deleted, with_line_ids=with_line_ids,
                with_validation_issues=with_validation_issues,
            )

    def get_invoice(self, namespace: str, invoice_id: str, *, include_deleted_lines: bool = True) -> Invoice:
        with self.store.unit_of_work(read_only=True) as uow:
            return uow.invoices.load(namespace, invoice_id, include_deleted_lines=include_deleted_lines)

    def list_customer_invoices(self, namespace: str, customer_id: str) -> list[Invoice]:
        """Every invoice of the customer (deleted ones too) with lines: gathering first, then by creation."""
        with self.store.unit_of_work(read_only=True) as uow:
            return uow.invoices.for_customer(namespace, customer_id)

    def get_split_line_group(self, namespace: str, group_id: str) -> SplitLineGroup:
        with self.store.unit_of_work(read_only=True) as uow:
            return uow.groups.get(namespace, group_id)

    @staticmethod
    def normalize_line(line: GatheringLine | StandardLine) -> GatheringLine | StandardLine:
        return normalize_line(line)

    # -- line engine (reconciler §8.3) -------------------------------------------------------------
    def snapshot_line_quantity(self, invoice: Invoice, line: StandardLine) -> StandardLine:
        """A copy of ``line`` whose quantity is metered for its service period (a read)."""
        with self.store.unit_of_work(read_only=True) as uow:
            quantity = metered_usage(
                uow, line.namespace, invoice.customer_id, line.feature_key, line.price.type, line.service_period
            )
        return line if quantity is None else line.model_copy(update={"quantity": quantity})

    # -- writes used by the applier ----------------------------------------------------------------
    def create_pending_invoice_lines(
        self, namespace: str, customer_id: str, currency: str, lines: Sequence[NewLine]
    ) -> list[GatheringLine]:
        with self.store.unit_of_work() as uow:
            return gathering.create_pending_invoice_lines(uow, namespace, customer_id, currency, lines)

    def update_gathering_invoice(
        self, namespace: str, invoice_id: str, *, delete_line_ids: Sequence[str] = (),
        replace_lines: Sequence[Line] = (),
    ) -> Invoice:
        with self.store.unit_of_work() as uow:
            return gathering.update_gathering_invoice(
                uow, namespace, invoice_id, delete_line_ids=delete_line_ids, replace_lines=replace_lines
            )

    def update_standard_invoice(
        self, namespace: str, invoice_id: str, *, delete_line_ids: Sequence[str] = (),
        replace_lines: Sequence[Line] = (),
    ) -> Invoice:
        with self.store.unit_of_work() as uow:
            return standard.update_standard_invoice(
                uow, namespace, invoice_id, delete_line_ids=delete_line_ids, replace_lines=replace_lines
            )

    def delete_invoice(self, namespace: str, invoice_id: str, *, source: ChangeSource = "system") -> Invoice:
        with self.store.unit_of_work() as uow:
            return standard.delete_invoice(uow, namespace, invoice_id, source=source)

    def upsert_validation_issues(self, namespace: str, invoice_id: str, issues_: Sequence[ValidationIssue]) -> None:
        with self.store.unit_of_work() as uow:
            issues.upsert_validation_issues(uow, namespace, invoice_id, issues_)

    def create_split_line_group(self, namespace: str, group: NewSplitLineGroup) -> SplitLineGroup:
        with self.store.unit_of_work() as uow:
            return split_line_groups.create_split_line_group(uow, namespace, group)

    def update_split_line_group(self, namespace: str, group_id: str, changes: GroupChanges) -> SplitLineGroup:
        with self.store.unit_of_work() as uow:
            return split_line_groups.update_split_line_group(uow, namespace, group_id, changes)

    def delete_split_line_group(self, namespace: str, group_id: str) -> None:
        with self.store.unit_of_work() as uow:
            split_line_groups.delete_split_line_group(uow, namespace, group_id)

    # -- invoicing and the invoice lifecycle (billing.md §1) -----------------------------------------
    def invoice_pending_lines(
        self,
        namespace: str,
        customer_id: str,
        *,
        as_of: dt.datetime | None = None,
        progressive: bool | None = None,
        force_async_advance: bool = False,
        allow_partial: bool | None = None,
        max_lines_per_invoice: int | None = None,
    ) -> list[Invoice]:
        """Gathering lines due by ``as_of`` (default now) become standard invoices.

        ``progressive`` splits usage lines whose period contains ``as_of`` (progressive billing);
        ``None`` takes the customer's billing profile. ``allow_partial`` is the port's name for the same
        switch (reconciler §8.2): the sync's "and invoice customer" entry points pass
        ``allow_partial=False``, which turns splitting off whatever the profile says; an explicit
        ``progressive`` wins. ``force_async_advance`` is accepted for the port's signature; invoices
        always advance synchronously.
        """
        if progressive is None and allow_partial is not None:
            progressive = allow_partial
        with self.store.unit_of_work() as uow:
            return invoicing.invoice_pending_lines(
                uow, namespace, customer_id, as_of=as_of, progressive=progressive,
                max_lines_per_invoice=max_lines_per_invoice,
            )

    def _fire(self, namespace: str, invoice_id: str, trigger: str, *, force: bool = False) -> Invoice:
        with self.store.unit_of_work() as uow:
            invoice = uow.invoices.require_row(namespace, invoice_id)
            uow.lock_customer(namespace, invoice.customer_id)
            transitions.fire(uow, invoice, trigger, force=force)
            uow.flush()
            return uow.invoices.model(invoice)

    def approve_invoice(self, namespace: str, invoice_id: str) -> Invoice:
        return self._fire(namespace, invoice_id, InvoiceTrigger.APPROVE)

    def advance_invoice(self, namespace: str, invoice_id: str, *, force: bool = False) -> Invoice:
        """Advance as far as time allows; ``force`` closes an open collection early."""
        return self._fire(namespace, invoice_id, InvoiceTrigger.ADVANCE, force=force)

    def payment_event(self, namespace: str, invoice_id: str, event: PaymentEvent) -> Invoice:
        if event not in PAYMENT_TRIGGERS:
            raise ValueError(f"payment event must be one of {sorted(PAYMENT_TRIGGERS)}, got {event!r}")
        return self._fire(namespace, invoice_id, PAYMENT_TRIGGERS[event])

    def void_invoice(self, namespace: str, invoice_id: str) -> Invoice:
        return self._fire(namespace, invoice_id, InvoiceTrigger.VOID)

    def advance_due_invoices(self, namespace: str, customer_id: str) -> list[Invoice]:
        """Advance every standard invoice of the customer that time allows to move on."""
        advanced: list[Invoice] = []
        with self.store.unit_of_work() as uow:
            uow.lock_customer(namespace, customer_id)
            for invoice in uow.invoices.customer_rows(namespace, customer_id, kind="standard"):
                try:
                    with uow.session.begin_nested():
                        transitions.fire(uow, invoice, InvoiceTrigger.ADVANCE)
                except IllegalTransitionError:
                    continue
                advanced.append(uow.invoices.model(invoice))
        return advanced

    # -- lines as a user or the system edits them ----------------------------------------------------
    def create_line(self, namespace: str, invoice_id: str, line: NewLine, *, source: ChangeSource = "api") -> Line:
        with self.store.unit_of_work() as uow:
            return line_edits.create_line(uow, namespace, invoice_id, line, source=source)

    def create_pending_line(
        self, namespace: str, customer_id: str, currency: str, line: NewLine, *, source: ChangeSource = "api"
    ) -> Line:
        """Add a line to the customer's gathering invoice for ``currency`` (created on demand) as a user
        or the system would (an API flat line may become a manual charge, ``billing.charges.api``)."""
        with self.store.unit_of_work() as uow:
            return line_edits.create_pending_line(uow, namespace, customer_id, currency, line, source=source)

    def edit_line(
        self, namespace: str, invoice_id: str, line_id: str, edit: LineEdit, *, source: ChangeSource = "api"
    ) -> Line:
        with self.store.unit_of_work() as uow:
            return line_edits.edit_line(uow, namespace, invoice_id, line_id, edit, source=source)

    def delete_line(self, namespace: str, invoice_id: str, line_id: str, *, source: ChangeSource = "api") -> Line:
        with self.store.unit_of_work() as uow:
            return line_edits.delete_line(uow, namespace, invoice_id, line_id, source=source)

    # -- customers, meters, usage --------------------------------------------------------------------
    def create_customer(
        self, namespace: str, key: str, *, customer_id: str | None = None, name: str | None = None,
        currency: str = "USD", billing_profile: BillingProfile | None = None,
    ) -> Customer:
        with self.store.unit_of_work() as uow:
            return customer_ops.create_customer(
                uow, namespace, key, customer_id=customer_id, name=name, currency=currency,
                billing_profile=billing_profile,
            )

    def get_customer(self, namespace: str, customer_id: str) -> Customer:
        with self.store.unit_of_work(read_only=True) as uow:
            return uow.customers.get(namespace, customer_id)

    def get_customer_override(self, namespace: str, customer_id: str) -> CustomerOverride:
        customer = self.get_customer(namespace, customer_id)
        return CustomerOverride(customer=customer, profile=customer.billing_profile)

    def update_customer(
        self, namespace: str, customer_id: str, *, name: str | None = None, currency: str | None = None
    ) -> Customer:
        with self.store.unit_of_work() as uow:
            return customer_ops.update_customer(uow, namespace, customer_id, name=name, currency=currency)

    def update_billing_profile(self, namespace: str, customer_id: str, profile: BillingProfile) -> Customer:
        with self.store.unit_of_work() as uow:
            return customer_ops.update_billing_profile(uow, namespace, customer_id, profile)

    def delete_customer(self, namespace: str, customer_id: str) -> Customer:
        with self.store.unit_of_work() as uow:
            return customer_ops.delete_customer(uow, namespace, customer_id)

    def register_meter(self, namespace: str, key: str, aggregation: Aggregation = "sum") -> Meter:
        with self.store.unit_of_work() as uow:
            return customer_ops.register_meter(uow, namespace, key, aggregation)

    def ingest_usage(
        self, namespace: str, customer_id: str, meter_key: str, events: Sequence[NewUsageEvent]
    ) -> list[UsageEvent]:
        with self.store.unit_of_work() as uow:
            return customer_ops.ingest_usage(uow, namespace, customer_id, meter_key, events)
