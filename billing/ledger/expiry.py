"""Expiry (charges.md §2.8): at ``expires_at`` a lot's remainder moves ``fbo[lot] −e / breakage +e`` in a
group booked at ``expires_at``, written by the first ledger operation (or charge-advance pass) that runs
at or after it — at most once per grant (a partial unique index backs this up). Voided grants never
expire. Balances exclude an expired lot whether or not its group is written yet (``balances``)."""

from __future__ import annotations

from sqlalchemy import select

from billing.ledger.errors import LedgerInvariantError
from billing.ledger.postings import GroupWriter, LedgerContext
from billing.ledger.queries import grant_rows, lot_balances
from billing.store.ledger_tables import LedgerGroupRow


def expire_due(ctx: LedgerContext) -> list[str]:
    """Write the breakage group of every lot of the customer that expired at or before ``ctx.now``."""
    written: list[str] = []
    balances = lot_balances(ctx.session, ctx.namespace, ctx.customer_id)
    for grant in grant_rows(ctx.session, ctx.namespace, ctx.customer_id):
        if grant.voided_at is not None or grant.expires_at is None or grant.expires_at > ctx.now:
            continue
        remainder = balances.get(grant.id)
        if remainder is None or remainder <= 0:
            continue
        if _expired_before(ctx, grant.id):
            raise LedgerInvariantError(f"grant {grant.id} already expired yet holds {remainder} of credit")
        group = GroupWriter(ctx, "breakage", grant.expires_at, charge_id=grant.source_charge_id, grant_id=grant.id)
        group.post("breakage", "fbo", grant.currency, -remainder, lot_id=grant.id, cost_basis=grant.cost_basis)
        group.post("breakage", "breakage", grant.currency, remainder, lot_id=grant.id, cost_basis=grant.cost_basis)
        written.append(group.close())
        ctx.log.info("ledger.grant.expired", grant_id=grant.id, breakage=str(remainder))
    return written


def _expired_before(ctx: LedgerContext, grant_id: str) -> bool:
    return (
        ctx.session.scalars(
            select(LedgerGroupRow.id).where(
                LedgerGroupRow.namespace == ctx.namespace,
                LedgerGroupRow.grant_id == grant_id,
                LedgerGroupRow.kind == "breakage",
            )
        ).first()
        is not None
    )
