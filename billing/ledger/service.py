"""``StoreLedger``: the ledger port on the billing store, plus the reads (balances, the scenario
projection, grants, groups, allocations) and the expiry pass.

Every write operation runs in ``store.unit_of_work()`` — joining the caller's transaction in a
savepoint, or opening its own — takes the per-customer billing lock (idempotent when the caller holds
it), writes the customer's due expiries, then books its group. An error rolls all of it back.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import select

from billing.ledger import balances, consumption, corrections, grants, payments
from billing.ledger.errors import LedgerNotFoundError, LedgerValidationError
from billing.ledger.expiry import expire_due
from billing.ledger.models import (
    Allocation,
    BalanceProjection,
    ChargeRef,
    Consumption,
    ConsumptionMode,
    Correction,
    Grant,
    NegativeBalance,
    TransactionGroup,
    VoidReason,
)
from billing.ledger.postings import LedgerContext, require_instant
from billing.ledger.queries import (
    allocation_rows,
    corrected,
    entry_rows,
    grant_row_for_charge,
    grant_rows,
    group_rows,
    outstanding,
    record_rows,
)
from billing.ledger.rows import allocation_of, grant_of, group_of, record_of
from billing.store.ledger_tables import LedgerEntryRow, LedgerGroupRow
from billing.store.unit_of_work import Store

log = structlog.get_logger("billing.ledger")


class StoreLedger:
    """The credit ledger of one billing store (implements ``LedgerPort``)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @contextlib.contextmanager
    def _operation(self, namespace: str, customer_id: str, operation: str, **bind: Any) -> Iterator[LedgerContext]:
        if not namespace or not customer_id:
            raise LedgerValidationError(f"{operation}: namespace and customer_id are required")
        with self.store.unit_of_work() as uow:
            uow.lock_customer(namespace, customer_id)
            context = LedgerContext(
                session=uow.session,
                namespace=namespace,
                customer_id=customer_id,
                now=uow.now,
                custom_currencies=uow.custom_currencies,
                log=log.bind(namespace=namespace, customer_id=customer_id, operation=operation, **bind),
            )
            expire_due(context)
            yield context

    # -- the port: flat fee and usage based ------------------------------------------------------------
    def consume(
        self,
        charge: ChargeRef,
        *,
        run_id: str | None,
        amount: Decimal,
        feature_key: str | None,
        booked_at: dt.datetime,
        source_as_of: dt.datetime,
        mode: ConsumptionMode,
    ) -> Consumption:
        with self._operation(charge.namespace, charge.customer_id, "consume", charge_id=charge.id) as ctx:
            return consumption.consume(
                ctx, charge, run_id=run_id, amount=amount, feature_key=feature_key,
                booked_at=booked_at, source_as_of=source_as_of, mode=mode,
            )

    def correct(
        self,
        charge: ChargeRef,
        *,
        run_id: str | None,
        amount: Decimal,
        booked_at: dt.datetime,
        allocation_ids: Sequence[str] | None = None,
    ) -> Correction:
        with self._operation(charge.namespace, charge.customer_id, "correct", charge_id=charge.id) as ctx:
            return corrections.correct(
                ctx, charge, run_id=run_id, amount=amount, booked_at=booked_at, allocation_ids=allocation_ids
            )

    def on_invoice_usage_accrued(self, charge: ChargeRef, run_id: str, totals: Any, booked_at: dt.datetime) -> str:
        with self._operation(charge.namespace, charge.customer_id, "invoice_usage_accrue", charge_id=charge.id) as ctx:
            return payments.accrue_invoiced_usage(ctx, charge, run_id, totals, booked_at)

    def on_run_payment_authorized(self, charge: ChargeRef, run_id: str, event_at: dt.datetime, fiat_amount: Decimal) -> str:
        with self._operation(charge.namespace, charge.customer_id, "run_payment_authorize", charge_id=charge.id) as ctx:
            return payments.authorize_run(ctx, charge, run_id, event_at, fiat_amount)

    def on_run_payment_settled(self, charge: ChargeRef, run_id: str, event_at: dt.datetime, fiat_amount: Decimal) -> str:
        with self._operation(charge.namespace, charge.customer_id, "run_payment_settle", charge_id=charge.id) as ctx:
            return payments.settle_run(ctx, charge, run_id, event_at, fiat_amount)

    # -- the port: credit purchases ----------------------------------------------------------------------
    def on_promotional_credit_purchase(self, charge: Any) -> str:
        with self._operation(charge.namespace, charge.customer_id, "promotional_grant", charge_id=charge.id) as ctx:
            return grants.issue(ctx, charge, promotional=True)

    def on_credit_purchase_initiated(self, charge: Any) -> str:
        with self._operation(charge.namespace, charge.customer_id, "grant", charge_id=charge.id) as ctx:
            return grants.issue(ctx, charge, promotional=False)

    def on_payment_authorized(self, charge: Any, event_at: dt.datetime, fiat_amount: Decimal) -> str:
        with self._operation(charge.namespace, charge.customer_id, "payment_authorize", charge_id=charge.id) as ctx:
            return payments.authorize_purchase(ctx, charge, event_at, fiat_amount)

    def on_payment_settled(self, charge: Any, event_at: dt.datetime, fiat_amount: Decimal) -> str:
        with self._operation(charge.namespace, charge.customer_id, "payment_settle", charge_id=charge.id) as ctx:
            return payments.settle_purchase(ctx, charge, event_at, fiat_amount)

    def on_payment_authorization_reversed(self, charge: Any, event_at: dt.datetime, fiat_amount: Decimal) -> str:
        with self._operation(charge.namespace, charge.customer_id, "payment_authorization_reverse", charge_id=charge.id) as ctx:
            return payments.reverse_purchase_authorization(ctx, charge, event_at, fiat_amount)

    def on_credit_purchase_voided(self, charge: Any, event_at: dt.datetime, reason: VoidReason) -> str:
        with self._operation(charge.namespace, charge.customer_id, "purchase_void", charge_id=charge.id) as ctx:
            return grants.void_purchase(ctx, charge, event_at, reason)

    def on_credit_grant_voided(self, charge: Any, event_at: dt.datetime) -> str:
        with self._operation(charge.namespace, charge.customer_id, "grant_void", charge_id=charge.id) as ctx:
            return grants.void_manually(ctx, charge, event_at)

    # -- the expiry pass ---------------------------------------------------------------------------------
    def expire_due(self, namespace: str, customer_id: str) -> list[str]:
        """Write the customer's due breakage groups (the charge-advance pass calls this); their ids."""
        with self._operation(namespace, customer_id, "expire") as ctx:
            return list(ctx.groups)

    # -- reads -------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _read(self, as_of: dt.datetime | None) -> Iterator[tuple[Any, dt.datetime]]:
        with self.store.unit_of_work(read_only=True) as uow:
            yield uow.session, (uow.now if as_of is None else require_instant(as_of, field="as_of"))

    def balance(self, namespace: str, customer_id: str, currency: str, *, as_of: dt.datetime | None = None) -> Decimal:
        """Σ remaining credit − Σ outstanding negative balance, as of ``as_of`` (default: now). May be negative."""
        with self._read(as_of) as (session, t):
            return balances.balance(session, namespace, customer_id, currency, t)

    def available(
        self, namespace: str, customer_id: str, currency: str, *, as_of: dt.datetime | None = None, feature_key: str | None = None
    ) -> Decimal:
        """Σ remaining credit of the lots eligible for ``feature_key`` (unrestricted lots only when None)."""
        with self._read(as_of) as (session, t):
            return balances.available(session, namespace, customer_id, currency, t, feature_key)

    def projection(self, namespace: str, customer_id: str, currency: str, *, as_of: dt.datetime | None = None) -> BalanceProjection:
        with self._read(as_of) as (session, t):
            return balances.projection(session, namespace, customer_id, currency, t)

    def grants(self, namespace: str, customer_id: str) -> list[Grant]:
        with self._read(None) as (session, _):
            return [grant_of(row) for row in grant_rows(session, namespace, customer_id)]

    def grant_for_charge(self, namespace: str, charge_id: str) -> Grant | None:
        """The grant a credit purchase created, if any (its ``id`` is the realization's ``grant_id``)."""
        with self._read(None) as (session, _):
            row = grant_row_for_charge(session, namespace, charge_id)
            return None if row is None else grant_of(row)

    def negative_balances(self, namespace: str, customer_id: str) -> list[NegativeBalance]:
        with self._read(None) as (session, _):
            return [record_of(row, outstanding(session, namespace, row.id)) for row in record_rows(session, namespace, customer_id)]

    def groups(self, namespace: str, customer_id: str) -> list[TransactionGroup]:
        """Every group of the customer in creation order, with its entries."""
        with self._read(None) as (session, _):
            by_group: dict[str, list[Any]] = defaultdict(list)
            for entry in entry_rows(session, namespace, customer_id):
                by_group[entry.group_id].append(entry)
            return [group_of(row, by_group.get(row.id, ())) for row in group_rows(session, namespace, customer_id)]

    def group(self, namespace: str, group_id: str) -> TransactionGroup:
        with self._read(None) as (session, _):
            row = session.scalars(
                select(LedgerGroupRow).where(LedgerGroupRow.namespace == namespace, LedgerGroupRow.id == group_id)
            ).one_or_none()
            if row is None:
                raise LedgerNotFoundError(f"transaction group {group_id!r} not found in namespace {namespace!r}")
            entries = session.scalars(
                select(LedgerEntryRow).where(LedgerEntryRow.group_id == group_id).order_by(LedgerEntryRow.sequence)
            )
            return group_of(row, entries)

    def allocations(self, namespace: str, charge_id: str, run_id: str | None = None) -> list[Allocation]:
        """A charge's (or one run's) consumption slices in creation order, with what is corrected."""
        with self._read(None) as (session, _):
            rows = allocation_rows(session, namespace, charge_id=charge_id, run_id=run_id)
            taken = corrected(session, namespace, [row.id for row in rows])
            return [allocation_of(row, taken[row.id]) for row in rows]
