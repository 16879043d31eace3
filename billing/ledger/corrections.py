"""Corrections (charges.md §2.7): reverse exact slices, last allocation first (LIFO), never more than a
slice's uncorrected remainder, and send the value back where it came from.

Where value goes back to (``Returns``):

| slice from | state now | postings (after ``accrued[slice basis] −x``) |
|---|---|---|
| a lot | live | ``fbo[lot] +x`` |
| a lot | expired | ``fbo[lot] +x``; ``fbo[lot] −x / breakage[lot] +x`` (same group) |
| a lot | voided manually | ``fbo[lot] +x``; ``fbo[lot] −x / receivable[open, purchase] +x``; ``revoked_remainder += x`` |
| a lot | voided by its invoice | as a slice of the negative-balance record that void opened |
| a negative-balance record | outstanding | ``receivable[open, none, record] +y`` (y ≤ outstanding) |
| a negative-balance record | covered by grants | the rest returns to the covering lots, latest cover first, each as a lot above |
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from billing.ids import new_id
from billing.ledger.errors import LedgerInvariantError, LedgerNotFoundError, LedgerValidationError
from billing.ledger.models import ChargeRef, Correction, CorrectionSlice
from billing.ledger.postings import GroupWriter, LedgerContext, require_instant
from billing.ledger.queries import allocation_rows, corrected, cover_rows, grant_row, outstanding, record_row, uncovered
from billing.store.ledger_tables import (
    LedgerCorrectionRow,
    LedgerGrantRow,
    LedgerNegativeBalanceRow,
    LedgerUncoverRow,
)

ZERO = Decimal(0)


class Returns:
    """Routes value a correction gives back to the lot or record it came from (table above)."""

    def __init__(self, ctx: LedgerContext, group: GroupWriter, currency: str) -> None:
        self.ctx = ctx
        self.group = group
        self.currency = currency

    def to_lot(self, grant: LedgerGrantRow, amount: Decimal) -> None:
        if amount <= 0:
            return
        if grant.void_kind == "invoice":
            if grant.negative_balance_id is None:
                raise LedgerInvariantError(
                    f"grant {grant.id} was voided by its invoice without a negative-balance record, "
                    f"yet {amount} of its consumption is being returned"
                )
            self.to_record(record_row(self.ctx.session, self.ctx.namespace, grant.negative_balance_id), amount)
            return
        post = self.group.post
        post("correct", "fbo", self.currency, amount, lot_id=grant.id, cost_basis=grant.cost_basis)
        if grant.void_kind == "manual":
            # A voided grant never becomes spendable again: the value is forfeited at once (§2.7).
            post("grant_void", "fbo", self.currency, -amount, lot_id=grant.id, cost_basis=grant.cost_basis)
            post(
                "grant_void", "receivable", self.currency, amount,
                cost_basis=grant.cost_basis, status="open", source=("purchase", grant.source_charge_id),
            )
            grant.revoked_remainder = grant.revoked_remainder + amount
        elif grant.expires_at is not None and grant.expires_at <= self.ctx.now:
            post("breakage", "fbo", self.currency, -amount, lot_id=grant.id, cost_basis=grant.cost_basis)
            post("breakage", "breakage", self.currency, amount, lot_id=grant.id, cost_basis=grant.cost_basis)

    def to_record(self, record: LedgerNegativeBalanceRow, amount: Decimal) -> None:
        if amount <= 0:
            return
        still_owed = outstanding(self.ctx.session, self.ctx.namespace, record.id)
        reduce = min(amount, max(still_owed, ZERO))
        self.group.post(
            "correct", "receivable", self.currency, reduce,
            cost_basis=None, status="open", source=("negative_balance", record.id),
        )
        rest = amount - reduce
        if rest == 0:
            return
        covers = cover_rows(self.ctx.session, self.ctx.namespace, record_id=record.id)
        returned = uncovered(self.ctx.session, self.ctx.namespace, [c.id for c in covers])
        for cover in reversed(covers):
            take = min(rest, cover.amount - returned[cover.id])
            if take <= 0:
                continue
            self.ctx.session.add(
                LedgerUncoverRow(
                    id=new_id(),
                    namespace=self.ctx.namespace,
                    customer_id=self.ctx.customer_id,
                    cover_id=cover.id,
                    amount=take,
                    group_id=self.group.id,
                    booked_at=self.group.booked_at,
                    created_at=self.ctx.now,
                )
            )
            grant = grant_row(self.ctx.session, self.ctx.namespace, cover.grant_id)
            assert grant is not None  # a cover references its grant by foreign key
            self.to_lot(grant, take)
            rest -= take
            if rest == 0:
                return
        raise LedgerInvariantError(
            f"negative-balance record {record.id}: {rest} of a correction has neither an outstanding "
            "receivable nor a cover to return to"
        )


def correct(
    ctx: LedgerContext,
    charge: ChargeRef,
    *,
    run_id: str | None,
    amount: Decimal,
    booked_at: dt.datetime,
    allocation_ids: Sequence[str] | None = None,
) -> Correction:
    currency = charge.currency
    amount = ctx.require_money(amount, currency, field=f"correction amount of charge {charge.id}")
    booked_at = require_instant(booked_at, field="booked_at")
    rows = [row for row in allocation_rows(ctx.session, ctx.namespace, charge_id=charge.id) if row.run_id == run_id]
    if allocation_ids is not None:
        wanted = set(allocation_ids)
        unknown = wanted - {row.id for row in rows}
        if unknown:
            raise LedgerNotFoundError(
                f"charge {charge.id} run {run_id}: no allocation {sorted(unknown)} to correct"
            )
        rows = [row for row in rows if row.id in wanted]
    if not rows:
        raise LedgerNotFoundError(f"charge {charge.id} run {run_id} has no credit allocation to correct")
    taken = corrected(ctx.session, ctx.namespace, [row.id for row in rows])
    correctable = sum((row.amount - taken[row.id] for row in rows), ZERO)
    if amount > correctable:
        raise LedgerValidationError(
            f"charge {charge.id} run {run_id}: cannot correct {amount}, only {correctable} of its "
            "allocations is uncorrected"
        )

    group = GroupWriter(ctx, "correct", booked_at, charge_id=charge.id, run_id=run_id)
    returns = Returns(ctx, group, currency)
    slices: list[CorrectionSlice] = []
    left = amount
    for row in sorted(rows, key=lambda r: r.sequence, reverse=True):
        if left == 0:
            break
        take = min(left, row.amount - taken[row.id])
        if take <= 0:
            continue
        group.post("correct", "accrued", currency, -take, cost_basis=row.cost_basis)
        if row.source_kind == "lot":
            grant = grant_row(ctx.session, ctx.namespace, row.grant_id or "")
            assert grant is not None
            returns.to_lot(grant, take)
        else:
            returns.to_record(record_row(ctx.session, ctx.namespace, row.negative_balance_id or ""), take)
        ctx.session.add(
            LedgerCorrectionRow(
                id=new_id(),
                namespace=ctx.namespace,
                customer_id=ctx.customer_id,
                group_id=group.id,
                allocation_id=row.id,
                amount=take,
                booked_at=booked_at,
                created_at=ctx.now,
            )
        )
        slices.append(CorrectionSlice(allocation_id=row.id, amount=take))
        left -= take
    group.close()
    ctx.log.info("ledger.corrected", charge_id=charge.id, run_id=run_id, amount=str(amount))
    return Correction(transaction_group_id=group.id, requested=amount, slices=tuple(slices))
