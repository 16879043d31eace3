"""What the ledger reads from a credit-purchase charge (charges.md §2.3, §5.1–§5.2).

| term | read from |
|---|---|
| credit currency, amount A | ``charge.currency``, ``charge.intent.credit_amount`` (must already be rounded to the currency) |
| priority, expiry, feature filters | ``intent.priority``, ``intent.expires_at``, ``intent.feature_filters`` |
| grant ``effective_at`` | ``intent.service_period.end`` (= ``intent.effective_at`` when set), whole seconds |
| settlement | ``intent.settlement["type"]`` ∈ promotional, external, invoice |
| cost basis c | promotional: 0 for a fiat currency, none for a custom one. Otherwise ``charge.state["resolved_cost_basis"]`` when present (a decimal string/Decimal, or a mapping with ``rate``), else ``intent.cost_basis["rate"]`` for a ``fiat`` or ``manual`` basis; anything else is unresolved (``LedgerPreconditionError``) |
| fiat currency | the charge currency when it is fiat, else ``cost_basis["fiat_currency"]`` (resolved mapping first) |
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from billing.ledger.errors import LedgerPreconditionError, LedgerValidationError
from billing.money import is_fiat

SETTLEMENTS = ("promotional", "external", "invoice")


@dataclass(frozen=True)
class PurchaseTerms:
    charge_id: str
    credit_currency: str
    amount: Decimal
    priority: int
    effective_at: dt.datetime
    expires_at: dt.datetime | None
    feature_filters: tuple[str, ...]
    settlement: str
    cost_basis: Decimal | None
    fiat_currency: str | None

    @property
    def promotional(self) -> bool:
        return self.settlement == "promotional"


def _decimal(value: Any, *, charge_id: str, field: str) -> Decimal:
    if isinstance(value, float) or isinstance(value, bool):
        raise LedgerValidationError(f"credit purchase {charge_id}: {field} must be a decimal, got {value!r}")
    try:
        result = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation as exc:
        raise LedgerValidationError(f"credit purchase {charge_id}: {field} is not a decimal: {value!r}") from exc
    if not result.is_finite():
        raise LedgerValidationError(f"credit purchase {charge_id}: {field} must be finite")
    return result


def _basis_kind(basis: Mapping[str, Any]) -> str | None:
    return basis.get("type") or basis.get("kind")


def purchase_terms(charge: Any) -> PurchaseTerms:
    intent = getattr(charge, "intent", None)
    if intent is None or not hasattr(intent, "credit_amount"):
        raise LedgerValidationError(f"charge {getattr(charge, 'id', '?')} is not a credit purchase")
    charge_id: str = charge.id
    settlement = (intent.settlement or {}).get("type")
    if settlement not in SETTLEMENTS:
        raise LedgerValidationError(
            f"credit purchase {charge_id}: settlement.type must be one of {SETTLEMENTS}, got {settlement!r}"
        )
    currency: str = charge.currency
    fiat = is_fiat(currency)
    basis: Mapping[str, Any] = intent.cost_basis or {}
    resolved = (getattr(charge, "state", None) or {}).get("resolved_cost_basis")

    cost_basis: Decimal | None
    fiat_currency: str | None = currency if fiat else None
    if settlement == "promotional":
        cost_basis = Decimal(0) if fiat else None
    else:
        rate: Any = None
        if isinstance(resolved, Mapping):
            rate = resolved.get("rate")
            fiat_currency = fiat_currency or resolved.get("fiat_currency")
        elif resolved is not None:
            rate = resolved
        if rate is None and (_basis_kind(basis) == "fiat" or basis.get("mode") == "manual"):
            rate = basis.get("rate")
        if rate is None:
            raise LedgerPreconditionError(f"credit purchase {charge_id}: cost basis is unresolved")
        cost_basis = _decimal(rate, charge_id=charge_id, field="cost basis")
        if cost_basis <= 0:
            raise LedgerValidationError(f"credit purchase {charge_id}: cost basis rate must be positive, got {cost_basis}")
        fiat_currency = fiat_currency or basis.get("fiat_currency")
        if not fiat_currency or not is_fiat(fiat_currency):
            raise LedgerValidationError(
                f"credit purchase {charge_id}: a custom-currency cost basis needs a fiat currency, got {fiat_currency!r}"
            )

    effective_at = intent.service_period.end.replace(microsecond=0)
    expires_at = intent.expires_at.replace(microsecond=0) if intent.expires_at is not None else None
    if expires_at is not None and expires_at <= effective_at:
        raise LedgerValidationError(
            f"credit purchase {charge_id}: expires at {expires_at.isoformat()} must be after effective at "
            f"{effective_at.isoformat()}"
        )
    filters = tuple(sorted(set(intent.feature_filters or ())))
    if any(not isinstance(f, str) or not f for f in filters):
        raise LedgerValidationError(f"credit purchase {charge_id}: feature filters must be non-empty strings")
    return PurchaseTerms(
        charge_id=charge_id,
        credit_currency=currency,
        amount=_decimal(intent.credit_amount, charge_id=charge_id, field="credit_amount"),
        priority=int(intent.priority),
        effective_at=effective_at,
        expires_at=expires_at,
        feature_filters=filters,
        settlement=settlement,
        cost_basis=cost_basis,
        fiat_currency=fiat_currency,
    )
