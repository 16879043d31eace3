"""Cost basis resolution and the fiat settlement amount (charges.md §5.2).

``F = round_fiat(credit_amount × resolved rate)``: the product stays exact and is rounded once, half
away from zero, to the fiat currency's minor units.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal

from billing.credit_purchases.errors import PurchasePreconditionFailed, PurchaseValidationError
from billing.credit_purchases.models import (
    CostBasis,
    CurrencyCostBasis,
    DynamicCostBasis,
    FiatCostBasis,
    ManualCostBasis,
    PinnedCostBasis,
    ResolvedCostBasis,
)
from billing.money import currency_precision, exact_arithmetic, round_money

#: Finds the currency cost basis of (custom currency, fiat currency) effective at an instant, or None.
EffectiveBasisLookup = Callable[[str, str, dt.datetime], CurrencyCostBasis | None]


def fiat_amount(credit_amount: Decimal, rate: Decimal, fiat_currency: str,
                custom: Mapping[str, int] | None = None) -> Decimal:
    """``round_fiat(credit_amount × rate)`` (§5.2): 100.12 × 0.5 = 50.06; TOKENS 100.123 × 0.5 → 50.06."""
    with exact_arithmetic():
        product = credit_amount * rate
    return round_money(product, currency_precision(fiat_currency, custom=custom))


def initial_resolution(
    basis: CostBasis, *, currency: str, now: dt.datetime, pinned: CurrencyCostBasis | None = None
) -> ResolvedCostBasis | None:
    """The resolved state stored at creation: present exactly for manual and pinned bases (§5.2).

    A fiat basis is not stored (it is rebuilt from the rate); a dynamic one waits for its first
    monetary realization. ``pinned`` is the loaded currency cost basis of a pinned intent; it must belong
    to the purchase's custom currency and the intent's fiat currency.
    """
    if isinstance(basis, ManualCostBasis):
        return ResolvedCostBasis(rate=basis.rate, fiat_currency=basis.fiat_currency, resolved_at=now)
    if isinstance(basis, PinnedCostBasis):
        assert pinned is not None, "a pinned basis is resolved from its loaded currency cost basis"
        check_pinned(pinned, basis, currency=currency)
        return ResolvedCostBasis(rate=pinned.rate, fiat_currency=pinned.fiat_currency, resolved_at=now,
                                 source_id=pinned.id)
    return None


def check_pinned(pinned: CurrencyCostBasis, basis: PinnedCostBasis, *, currency: str) -> None:
    if pinned.currency != currency:
        raise PurchaseValidationError(
            f"currency cost basis currency mismatch: {pinned.id!r} is for {pinned.currency}, the purchase is in {currency}",
            field="cost_basis.currency_cost_basis_id",
        )
    if pinned.fiat_currency != basis.fiat_currency:
        raise PurchaseValidationError(
            f"currency cost basis fiat currency mismatch: {pinned.id!r} is in {pinned.fiat_currency},"
            f" the intent settles in {basis.fiat_currency}",
            field="cost_basis.fiat_currency",
        )


def resolve_dynamic(
    basis: DynamicCostBasis, *, currency: str, service_start: dt.datetime, lookup: EffectiveBasisLookup,
    charge_id: str,
) -> ResolvedCostBasis:
    """Resolve a dynamic basis to the currency cost basis effective at ``service_period.from``."""
    found = lookup(currency, basis.fiat_currency, service_start)
    if found is None:
        raise PurchasePreconditionFailed(
            f"cost basis not found: no {currency}→{basis.fiat_currency} currency cost basis is effective at"
            f" {service_start.isoformat()}",
            charge_id=charge_id,
        )
    return ResolvedCostBasis(rate=found.rate, fiat_currency=found.fiat_currency, resolved_at=service_start,
                             source_id=found.id)


def is_fiat_basis(basis: CostBasis | None) -> bool:
    return isinstance(basis, FiatCostBasis)
