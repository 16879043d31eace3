"""Consumption (charges.md §2.6): eligible lots in priority → earliest expiry (non-expiring last) →
effective_at → creation order; ``credit_then_invoice`` takes only real credit, ``credit_only`` turns a
shortfall into a negative-balance record."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal

from billing.ids import new_id
from billing.ledger.errors import LedgerValidationError
from billing.ledger.models import ChargeRef, Consumption, ConsumptionMode, Slice
from billing.ledger.postings import GroupWriter, LedgerContext, require_instant
from billing.ledger.queries import grant_rows, lot_balances
from billing.store.ledger_tables import LedgerAllocationRow, LedgerGrantRow, LedgerNegativeBalanceRow

ZERO = Decimal(0)
_NEVER = dt.datetime.max.replace(tzinfo=dt.timezone.utc)
MODES: tuple[str, ...] = ConsumptionMode.__args__  # type: ignore[attr-defined]


def consumption_key(grant: LedgerGrantRow) -> tuple:
    """Priority ascending, then expiry ascending with non-expiring lots last, then effective_at, then
    creation sequence."""
    return (
        grant.priority,
        grant.expires_at is None,
        grant.expires_at or _NEVER,
        grant.effective_at,
        grant.sequence,
    )


def feature_eligible(filters: Iterable[str] | None, feature_key: str | None) -> bool:
    filters = list(filters or ())
    return not filters or (feature_key is not None and feature_key in filters)


def eligible_lots(
    grants: Iterable[LedgerGrantRow],
    balances: Mapping[str, Decimal],
    *,
    feature_key: str | None,
    source_as_of: dt.datetime,
) -> list[LedgerGrantRow]:
    """The lots a consumption as of ``source_as_of`` may take from, in consumption order (§2.6 1–2)."""
    eligible = [
        grant
        for grant in grants
        if grant.effective_at <= source_as_of
        and (grant.expires_at is None or grant.expires_at > source_as_of)
        and grant.voided_at is None
        and feature_eligible(grant.feature_filters, feature_key)
        and balances.get(grant.id, ZERO) > 0
    ]
    return sorted(eligible, key=consumption_key)


def consume(
    ctx: LedgerContext,
    charge: ChargeRef,
    *,
    run_id: str | None,
    amount: Decimal,
    feature_key: str | None,
    booked_at: dt.datetime,
    source_as_of: dt.datetime,
    mode: ConsumptionMode,
) -> Consumption:
    currency = charge.currency
    amount = ctx.require_money(amount, currency, field=f"consume amount of charge {charge.id}")
    booked_at = require_instant(booked_at, field="booked_at")
    source_as_of = require_instant(source_as_of, field="source_as_of")
    if mode not in MODES:
        raise LedgerValidationError(f"charge {charge.id}: unknown settlement mode {mode!r} (expected one of {MODES})")
    if feature_key is not None and (not isinstance(feature_key, str) or not feature_key):
        raise LedgerValidationError(f"charge {charge.id}: feature_key must be a non-empty string or None")

    balances = lot_balances(ctx.session, ctx.namespace, ctx.customer_id)
    lots = eligible_lots(
        grant_rows(ctx.session, ctx.namespace, ctx.customer_id, currency),
        balances,
        feature_key=feature_key,
        source_as_of=source_as_of,
    )
    group = GroupWriter(ctx, "consume", booked_at, charge_id=charge.id, run_id=run_id)
    slices: list[Slice] = []
    left = amount
    for lot in lots:
        if left == 0:
            break
        take = min(left, balances[lot.id])
        group.post("consume", "fbo", currency, -take, lot_id=lot.id, cost_basis=lot.cost_basis)
        group.post("consume", "accrued", currency, take, cost_basis=lot.cost_basis)
        slices.append(_allocate(ctx, group, charge, run_id, currency, take, booked_at, grant=lot))
        left -= take

    if left > 0 and mode == "credit_only":
        record = LedgerNegativeBalanceRow(
            id=new_id(),
            namespace=ctx.namespace,
            customer_id=ctx.customer_id,
            currency=currency,
            feature_key=feature_key,
            amount=left,
            source_kind="run",
            source_id=run_id if run_id is not None else charge.id,
            charge_id=charge.id,
            group_id=group.id,
            booked_at=booked_at,
            created_at=ctx.now,
        )
        ctx.session.add(record)
        ctx.session.flush()
        group.post(
            "negative_balance_open", "receivable", currency, -left,
            cost_basis=None, status="open", source=("negative_balance", record.id),
        )
        group.post("negative_balance_open", "accrued", currency, left, cost_basis=None)
        slices.append(_allocate(ctx, group, charge, run_id, currency, left, booked_at, record=record))
        left = ZERO

    group.close()
    ctx.log.info(
        "ledger.consumed",
        charge_id=charge.id,
        run_id=run_id,
        requested=str(amount),
        from_credit=str(sum((s.amount for s in slices if s.source == "lot"), ZERO)),
        mode=mode,
    )
    return Consumption(transaction_group_id=group.id, requested=amount, slices=tuple(slices))


def _allocate(
    ctx: LedgerContext,
    group: GroupWriter,
    charge: ChargeRef,
    run_id: str | None,
    currency: str,
    amount: Decimal,
    booked_at: dt.datetime,
    *,
    grant: LedgerGrantRow | None = None,
    record: LedgerNegativeBalanceRow | None = None,
) -> Slice:
    row = LedgerAllocationRow(
        id=new_id(),
        namespace=ctx.namespace,
        customer_id=ctx.customer_id,
        currency=currency,
        group_id=group.id,
        charge_id=charge.id,
        run_id=run_id,
        source_kind="lot" if grant is not None else "negative_balance",
        grant_id=grant.id if grant is not None else None,
        negative_balance_id=record.id if record is not None else None,
        amount=amount,
        cost_basis=grant.cost_basis if grant is not None else None,
        booked_at=booked_at,
        created_at=ctx.now,
    )
    ctx.session.add(row)
    return Slice(
        id=row.id,
        source=row.source_kind,  # type: ignore[arg-type]
        grant_id=row.grant_id,
        negative_balance_id=row.negative_balance_id,
        amount=amount,
        cost_basis=row.cost_basis,
    )
