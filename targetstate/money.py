"""Money and ratios (targetstate spec §2.3).

- Only fiat ISO 4217 currencies are accepted as invoice currencies: a code of the current ISO 4217
  list (the ``iso4217`` package) that has minor units. Precious metals, bond-market units, SDRs and
  the test/no-currency codes (XAU, XBA, XDR, XSU, XTS, XUA, XXX, …) have none and are rejected.
- The ISO 4217 minor-unit exponent is the rounding precision (USD 2, JPY 0, KWD 3, IQD 3) — not CLDR's
  cash digits, which say 0 for a dozen currencies whose minor unit is unused in cash.
- ``round_money`` quantises with ``ROUND_HALF_UP`` (half away from zero).
- ``ratio(p, q)`` divides the whole-second durations of two periods in a 40-digit local context and
  quantises the quotient to 16 decimal places; it is 1 when ``q`` is empty.
"""

from __future__ import annotations

import functools
from decimal import ROUND_HALF_UP, Decimal, localcontext

from iso4217 import Currency as _IsoCurrency
from pydantic import BaseModel, ConfigDict

from targetstate.errors import InvalidCurrencyError
from targetstate.timemath import Period, duration_seconds

RATIO_PLACES = Decimal("1E-16")
_RATIO_PRECISION = 40
#: Exact products of an amount and a ratio; far beyond any amount billing holds.
_PRODUCT_PRECISION = 80


@functools.cache
def _minor_units() -> dict[str, int]:
    """ISO 4217 code → minor units, for the codes that have minor units (the fiat ones)."""
    return {c.code: c.exponent for c in _IsoCurrency if c.exponent is not None}


def fiat_codes() -> frozenset[str]:
    return frozenset(_minor_units())


def is_fiat(code: object) -> bool:
    return isinstance(code, str) and code in _minor_units()


class Currency(BaseModel):
    """A fiat currency and its minor-unit exponent (USD 2, JPY 0, KWD 3)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    minor_units: int

    @property
    def quantum(self) -> Decimal:
        return _quantum(self.minor_units)

    def __str__(self) -> str:
        return self.code


@functools.lru_cache(maxsize=None)
def fiat_currency(code: str) -> Currency:
    """The fiat currency ``code``; raises ``InvalidCurrencyError`` for anything else."""
    if not is_fiat(code):
        raise InvalidCurrencyError(f"invoice currency {code!r} is not a fiat ISO 4217 currency")
    return Currency(code=code, minor_units=_minor_units()[code])


@functools.lru_cache(maxsize=None)
def _quantum(minor_units: int) -> Decimal:
    return Decimal(1).scaleb(-minor_units)


def round_money(amount: Decimal, currency: Currency | str) -> Decimal:
    """``amount`` quantised to the currency's minor unit, ``ROUND_HALF_UP`` (0.125 → 0.13, −0.125 → −0.13)."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"money is Decimal, got {type(amount).__name__}")
    cur = currency if isinstance(currency, Currency) else fiat_currency(currency)
    with localcontext() as ctx:
        ctx.prec = _PRODUCT_PRECISION
        return amount.quantize(cur.quantum, rounding=ROUND_HALF_UP)


def ratio(p: Period, q: Period) -> Decimal:
    """``duration(p) / duration(q)`` to 16 decimal places, ``ROUND_HALF_UP``; 1 when ``q`` is empty."""
    denominator = duration_seconds(q)
    if denominator <= 0:
        return Decimal(1)
    return _ratio(duration_seconds(p), denominator)


@functools.lru_cache(maxsize=4096)
def _ratio(numerator: int, denominator: int) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = _RATIO_PRECISION
        quotient = Decimal(numerator) / Decimal(denominator)
        return quotient.quantize(RATIO_PLACES, rounding=ROUND_HALF_UP)


def prorate(amount: Decimal, factor: Decimal, currency: Currency | str) -> Decimal:
    """``round_money(amount × factor)`` with the product computed exactly (no intermediate rounding)."""
    with localcontext() as ctx:
        ctx.prec = _PRODUCT_PRECISION
        product = amount * factor
    return round_money(product, currency)
