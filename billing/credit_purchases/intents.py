"""Validation and normalization of a credit-purchase intent (charges.md §5.1, §5.6.2 steps 1–2).

Everything here is checked before any ledger call or write. ``normalize_intent`` returns the intent
as it is stored: timestamps truncated to whole seconds, all three periods pinned to ``effective_at``
when it is set (else defaulted to ``{now, now}`` when absent), feature filters sorted, the credit
amount rounded to the credit currency, the credit-grant default tax code stamped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from billing.credit_purchases.cost_basis import fiat_amount
from billing.credit_purchases.errors import PurchaseValidationError
from billing.credit_purchases.models import FiatCostBasis, ManualCostBasis, PurchaseIntent
from billing.credit_purchases.settings import PurchaseSettings
from billing.errors import BillingValidationError
from billing.money import currency_precision, is_fiat, round_money
from billing.period import Period
from billing.prices import TaxConfig
from billing.types import truncate_to_second


def _invalid(message: str, field: str) -> PurchaseValidationError:
    return PurchaseValidationError(message, field=field)


def _precision(currency: str, custom: Mapping[str, int], field: str) -> int:
    try:
        return currency_precision(currency, custom=custom)
    except BillingValidationError as exc:
        raise _invalid(str(exc), field) from exc


def _periods(intent: PurchaseIntent, now: dt.datetime) -> dict[str, Period]:
    if intent.effective_at is not None:
        pinned = Period(start=truncate_to_second(intent.effective_at), end=truncate_to_second(intent.effective_at))
        return {"service_period": pinned, "full_service_period": pinned, "billing_period": pinned}
    given = {name: getattr(intent, name) for name in ("service_period", "full_service_period", "billing_period")}
    if all(value is None for value in given.values()):
        instant = Period(start=truncate_to_second(now), end=truncate_to_second(now))
        return {name: instant for name in given}
    periods: dict[str, Period] = {}
    for name, value in given.items():
        if value is None:
            raise _invalid(f"{name} is required when another period is given", name)
        if value.is_inverted:
            raise _invalid(f"{name} ends before it starts {value}", name)
        periods[name] = value.truncated()
    return periods


def _feature_filters(filters: tuple[str, ...]) -> tuple[str, ...]:
    for index, value in enumerate(filters):
        if not isinstance(value, str) or not value.strip():
            raise _invalid(f"feature filter {index} must be a non-empty string", f"feature_filters[{index}]")
    duplicates = sorted({value for value in filters if filters.count(value) > 1})
    if duplicates:
        raise _invalid(f"feature filters must be unique, duplicated: {', '.join(duplicates)}", "feature_filters")
    return tuple(sorted(filters))


def _tax_config(intent: PurchaseIntent, settings: PurchaseSettings) -> TaxConfig:
    config = intent.tax_config
    if config is None or not config.code:
        if settings.credit_grant_tax_code is None:
            raise _invalid("the namespace has no default credit-grant tax code and the intent names none",
                           "tax_config.tax_code")
        config = TaxConfig(behavior=None if config is None else config.behavior, code=settings.credit_grant_tax_code)
    if settings.known_tax_codes is not None and config.code not in settings.known_tax_codes:
        raise PurchaseValidationError(f"tax code {config.code!r} does not exist", code="tax_code_not_found",
                                      field="tax_config.tax_code")
    return config


def _check_cost_basis(intent: PurchaseIntent, custom: Mapping[str, int]) -> None:
    basis, settlement = intent.cost_basis, intent.settlement_type
    if settlement == "promotional":
        if basis is not None:
            raise _invalid("a promotional credit purchase takes no cost basis", "cost_basis")
        return
    if basis is None:
        raise _invalid("payment-backed credit purchase requires a cost basis", "cost_basis")
    if is_fiat(intent.currency):
        if not isinstance(basis, FiatCostBasis):
            raise _invalid("fiat credit purchase requires a fiat cost basis", "cost_basis")
    elif isinstance(basis, FiatCostBasis):
        raise _invalid("custom currency credit purchase requires a custom currency cost basis", "cost_basis")
    else:
        if not is_fiat(basis.fiat_currency):
            raise _invalid(f"cost basis fiat currency {basis.fiat_currency!r} is not an ISO 4217 fiat currency",
                           "cost_basis.fiat_currency")
    if isinstance(basis, (FiatCostBasis, ManualCostBasis)) and basis.rate <= 0:
        raise _invalid(f"rate must be positive, got {basis.rate}", "cost_basis.rate")


def normalize_intent(
    intent: PurchaseIntent, *, now: dt.datetime, custom_currencies: Mapping[str, int] | None = None,
    settings: PurchaseSettings,
) -> PurchaseIntent:
    """The stored form of ``intent``, or a ``PurchaseValidationError`` naming the field (§5.1)."""
    custom = dict(custom_currencies or {})
    if not intent.name.strip():
        raise _invalid("name is required", "name")
    if intent.managed_by == "subscription":
        raise _invalid("a credit purchase is never subscription-owned (managed_by must be manual or system)",
                       "managed_by")
    for field in ("key", "unique_reference_id"):
        value = getattr(intent, field)
        if value is not None and not value.strip():
            raise _invalid(f"{field} must be non-empty when set", field)
    if intent.priority < 0:
        raise _invalid(f"priority must be ≥ 0, got {intent.priority}", "priority")
    precision = _precision(intent.currency, custom, "currency")
    if intent.credit_amount <= 0:
        raise _invalid(f"credit_amount must be > 0, got {intent.credit_amount}", "credit_amount")
    amount = round_money(intent.credit_amount, precision)
    if amount <= 0:
        raise _invalid(f"credit_amount {intent.credit_amount} rounds to zero in {intent.currency}", "credit_amount")
    _check_cost_basis(intent, custom)

    effective_at = None if intent.effective_at is None else truncate_to_second(intent.effective_at)
    expires_at = None if intent.expires_at is None else truncate_to_second(intent.expires_at)
    if expires_at is not None and expires_at <= (effective_at if effective_at is not None else now):
        raise _invalid("expires at must be after effective at", "expires_at")

    basis = intent.cost_basis
    if isinstance(basis, (FiatCostBasis, ManualCostBasis)):
        fiat = intent.currency if isinstance(basis, FiatCostBasis) else basis.fiat_currency
        if fiat_amount(amount, basis.rate, fiat, custom) <= 0:
            raise _invalid(
                f"fiat settlement amount rounds to zero ({amount} × {basis.rate} in {fiat})", "credit_amount"
            )
    return intent.model_copy(update={
        **_periods(intent.model_copy(update={"effective_at": effective_at}), now),
        "credit_amount": amount,
        "effective_at": effective_at,
        "expires_at": expires_at,
        "feature_filters": _feature_filters(intent.feature_filters),
        "tax_config": _tax_config(intent, settings),
        "annotations": dict(intent.annotations),
        "metadata": dict(intent.metadata),
    })
