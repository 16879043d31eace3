"""Writing postings: the operation context and the transaction-group writer.

A ``GroupWriter`` inserts its group row at once (so entries can reference it), posts entries with
their dimensions, and on ``close()`` refuses a group that does not sum to zero per currency
(invariant §2.11.1). Zero amounts are not posted. Everything runs inside the caller's unit of work,
so a refused group rolls back with the operation.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from billing.errors import BillingValidationError
from billing.ids import new_id
from billing.ledger.errors import LedgerInvariantError, LedgerValidationError
from billing.ledger.models import Account, GroupKind, PostingKind, ReceivableSource, ReceivableStatus
from billing.money import currency_precision, round_money
from billing.store.ledger_tables import LedgerEntryRow, LedgerGroupRow



@dataclass
class LedgerContext:
    """One ledger operation for one customer: the session, the operation's ``now`` and a bound logger."""

    session: Session
    namespace: str
    customer_id: str
    now: dt.datetime
    custom_currencies: Mapping[str, int]
    log: Any
    groups: list[str] = field(default_factory=list)

    def precision(self, currency: str) -> int:
        try:
            return currency_precision(currency, custom=self.custom_currencies)
        except BillingValidationError as exc:
            raise LedgerValidationError(str(exc)) from exc

    def require_money(self, amount: object, currency: str, *, field: str, positive: bool = True) -> Decimal:
        """A Decimal (never float) already rounded to the currency's minor units, > 0 when ``positive``."""
        if isinstance(amount, bool) or not isinstance(amount, (Decimal, int)):
            raise LedgerValidationError(f"{field} must be a Decimal, got {type(amount).__name__} {amount!r}")
        value = Decimal(amount)
        if not value.is_finite():
            raise LedgerValidationError(f"{field} must be finite, got {value}")
        if positive and value <= 0:
            raise LedgerValidationError(f"{field} must be positive, got {value}")
        if not positive and value < 0:
            raise LedgerValidationError(f"{field} must not be negative, got {value}")
        if round_money(value, self.precision(currency)) != value:
            raise LedgerValidationError(
                f"{field} {value} has more digits than {currency} allows ({self.precision(currency)})"
            )
        return value


def require_instant(value: object, *, field: str) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise LedgerValidationError(f"{field} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise LedgerValidationError(f"{field} must be timezone-aware UTC, got naive {value.isoformat()}")
    return value.astimezone(dt.timezone.utc)


class GroupWriter:
    def __init__(
        self,
        ctx: LedgerContext,
        kind: GroupKind,
        booked_at: dt.datetime,
        *,
        charge_id: str | None = None,
        run_id: str | None = None,
        grant_id: str | None = None,
        negative_balance_id: str | None = None,
        reason: str | None = None,
    ) -> None:
        self.ctx = ctx
        self.booked_at = booked_at
        self.row = LedgerGroupRow(
            id=new_id(),
            namespace=ctx.namespace,
            customer_id=ctx.customer_id,
            kind=kind,
            booked_at=booked_at,
            recorded_at=ctx.now,
            charge_id=charge_id,
            run_id=run_id,
            grant_id=grant_id,
            negative_balance_id=negative_balance_id,
            reason=reason,
        )
        ctx.session.add(self.row)
        ctx.session.flush()
        self._sums: dict[str, Decimal] = defaultdict(Decimal)
        self.entries: list[LedgerEntryRow] = []

    @property
    def id(self) -> str:
        return self.row.id

    def post(
        self,
        posting: PostingKind,
        account: Account,
        currency: str,
        amount: Decimal,
        *,
        lot_id: str | None = None,
        cost_basis: Decimal | None = None,
        status: ReceivableStatus | None = None,
        source: tuple[ReceivableSource, str] | None = None,
        booked_at: dt.datetime | None = None,
    ) -> LedgerEntryRow | None:
        if isinstance(amount, float):
            raise LedgerInvariantError(f"group {self.id}: a float reached the ledger ({amount!r})")
        if amount == 0:
            return None
        if account in ("fbo", "breakage") and lot_id is None:
            raise LedgerInvariantError(f"group {self.id}: a {account} posting needs its lot")
        if account == "receivable" and (status is None or source is None):
            raise LedgerInvariantError(f"group {self.id}: a receivable posting needs its status and source")
        row = LedgerEntryRow(
            id=new_id(),
            namespace=self.ctx.namespace,
            customer_id=self.ctx.customer_id,
            group_id=self.id,
            posting=posting,
            account=account,
            currency=currency,
            amount=amount,
            booked_at=booked_at if booked_at is not None else self.booked_at,
            lot_id=lot_id,
            cost_basis=cost_basis,
            receivable_status=status,
            source_kind=source[0] if source else None,
            source_id=source[1] if source else None,
        )
        self.ctx.session.add(row)
        self._sums[currency] += amount
        self.entries.append(row)
        return row

    def close(self) -> str:
        unbalanced = {currency: total for currency, total in self._sums.items() if total != 0}
        if unbalanced:
            raise LedgerInvariantError(
                f"transaction group {self.id} ({self.row.kind}) does not sum to zero: "
                + ", ".join(f"{currency} {total}" for currency, total in sorted(unbalanced.items()))
            )
        self.ctx.session.flush()
        self.ctx.groups.append(self.id)
        self.ctx.log.debug(
            "ledger.group.written",
            group_id=self.id,
            kind=self.row.kind,
            charge_id=self.row.charge_id,
            grant_id=self.row.grant_id,
            entries=len(self.entries),
        )
        return self.id

