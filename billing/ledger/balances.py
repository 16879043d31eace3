"""Reading balances (charges.md §2.3, §2.5) as of a time ``t``:

* ``remaining(g, t)``: the lot's ``fbo`` entries booked ≤ t, counted only while
  ``effective_at ≤ t < expires_at`` (or no expiry) and the grant is not voided as of t;
* ``available(t, feature_key)``: Σ remaining over the grants eligible for the feature key;
* ``balance(t)``: Σ remaining over all grants − Σ outstanding of negative-balance records as of t
  (their receivable entries booked ≤ t); may be negative;
* ``projection(t)``: the 16-value vector of ``scenarios/credits.md`` §0.5.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy.orm import Session

from billing.ledger.consumption import feature_eligible
from billing.ledger.models import DEFAULT_PRIORITY, BalanceProjection
from billing.ledger.queries import entry_rows, grant_rows
from billing.store.ledger_tables import LedgerEntryRow, LedgerGrantRow

ZERO = Decimal(0)
PROMO = Decimal(0)
INVOICE = Decimal(1)


def counts_at(grant: LedgerGrantRow, t: dt.datetime) -> bool:
    """Whether a lot's credit counts as of ``t``: effective, not expired, not voided."""
    if grant.effective_at > t:
        return False
    if grant.expires_at is not None and t >= grant.expires_at:
        return False
    return not (grant.voided_at is not None and grant.voided_at <= t)


def remaining_by_lot(grants: Iterable[LedgerGrantRow], fbo: Iterable[LedgerEntryRow], t: dt.datetime) -> dict[str, Decimal]:
    booked: dict[str, Decimal] = defaultdict(Decimal)
    for entry in fbo:
        if entry.booked_at <= t and entry.lot_id is not None:
            booked[entry.lot_id] += entry.amount
    return {grant.id: booked.get(grant.id, ZERO) if counts_at(grant, t) else ZERO for grant in grants}


def outstanding_as_of(receivables: Iterable[LedgerEntryRow], t: dt.datetime) -> Decimal:
    """Σ outstanding of negative-balance records as of ``t``."""
    return -sum(
        (e.amount for e in receivables if e.source_kind == "negative_balance" and e.booked_at <= t),
        ZERO,
    )


def _grants_and_fbo(session: Session, namespace: str, customer_id: str, currency: str):  # type: ignore[no-untyped-def]
    grants = grant_rows(session, namespace, customer_id, currency)
    fbo = entry_rows(session, namespace, customer_id, account="fbo", currency=currency)
    return grants, fbo


def available(
    session: Session, namespace: str, customer_id: str, currency: str, t: dt.datetime, feature_key: str | None = None
) -> Decimal:
    grants, fbo = _grants_and_fbo(session, namespace, customer_id, currency)
    remaining = remaining_by_lot(grants, fbo, t)
    return sum(
        (remaining[g.id] for g in grants if feature_eligible(g.feature_filters, feature_key)),
        ZERO,
    )


def balance(session: Session, namespace: str, customer_id: str, currency: str, t: dt.datetime) -> Decimal:
    grants, fbo = _grants_and_fbo(session, namespace, customer_id, currency)
    remaining = remaining_by_lot(grants, fbo, t)
    receivables = entry_rows(session, namespace, customer_id, account="receivable", currency=currency)
    return sum(remaining.values(), ZERO) - outstanding_as_of(receivables, t)


def _bucket(values: dict[str, Decimal], prefix: str, amount: Decimal, cost_basis: Decimal | None) -> None:
    values[f"{prefix}_all"] += amount
    if cost_basis is not None and cost_basis == PROMO:
        values[f"{prefix}_promo"] += amount
    elif cost_basis is not None and cost_basis == INVOICE:
        values[f"{prefix}_invoice"] += amount


def projection(session: Session, namespace: str, customer_id: str, currency: str, t: dt.datetime) -> BalanceProjection:
    values: dict[str, Decimal] = defaultdict(Decimal)
    grants, fbo = _grants_and_fbo(session, namespace, customer_id, currency)
    remaining = remaining_by_lot(grants, fbo, t)
    for grant in grants:
        if grant.priority == DEFAULT_PRIORITY:
            _bucket(values, "FBO", remaining[grant.id], grant.cost_basis)
    for entry in entry_rows(session, namespace, customer_id, currency=currency):
        if entry.booked_at > t:
            continue
        if entry.account == "receivable":
            prefix = "OpenRecv" if entry.receivable_status == "open" else "AuthRecv"
            _bucket(values, prefix, entry.amount, entry.cost_basis)
        elif entry.account == "accrued":
            _bucket(values, "Accrued", entry.amount, entry.cost_basis)
        elif entry.account == "wash":
            _bucket(values, "Wash", entry.amount, entry.cost_basis)
        elif entry.account == "earnings":
            values["Earnings_all"] += entry.amount
    return BalanceProjection.model_validate(dict(values))
