"""Money: currency precision, half-away-from-zero rounding and canonical decimal text.

Every money value in billing is a ``Decimal`` rounded to its currency's minor units with
``ROUND_HALF_UP`` (Python's name for half away from zero: 0.125 → 0.13, −0.125 → −0.13). Fiat
currencies take their minor units from the ISO 4217 table of the ``iso4217`` package (USD 2, JPY 0,
KWD 3, IQD 3); custom currencies (a scenario's ``currencies``) carry their own precision.

Rounding happens only where a rule says so (``docs/rating.md``); intermediate products stay exact.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext

from iso4217 import Currency

from billing.errors import BillingValidationError

#: Digits kept by intermediate money arithmetic: far more than any amount × quantity needs, so no
#: product or sum is rounded before a rule rounds it on purpose.
EXACT_DIGITS = 80


def _iso_exponent(code: str) -> int | None:
    """ISO 4217 minor units; None for unknown codes and for codes without minor units (XAU, XXX)."""
    try:
        return Currency(code).exponent
    except (ValueError, KeyError):
        return None


def is_fiat(code: str) -> bool:
    """True when ``code`` is an ISO 4217 fiat currency: a known code that has minor units.

    Precious metals, SDRs and test codes (XAU, XDR, XXX, XTS) have no minor units in ISO 4217 and are
    not fiat money.
    """
    return isinstance(code, str) and len(code) == 3 and code.isupper() and _iso_exponent(code) is not None


def currency_precision(code: str, *, custom: Mapping[str, int] | None = None) -> int:
    """The number of minor-unit digits of ``code``.

    A fiat code takes its ISO 4217 minor units; otherwise ``code`` must be a
    custom currency of ``custom`` (code → precision). A custom currency may not reuse a fiat code, and
    an unknown code is a ``BillingValidationError`` naming it.
    """
    custom = custom or {}
    if is_fiat(code):
        if code in custom:
            raise BillingValidationError(
                f"currency {code!r}: a custom currency may not reuse the ISO 4217 code {code!r}"
            )
        exponent = _iso_exponent(code)
        assert exponent is not None  # is_fiat checked it
        return exponent
    if code in custom:
        precision = custom[code]
        if isinstance(precision, bool) or not isinstance(precision, int) or precision < 0:
            raise BillingValidationError(
                f"currency {code!r}: precision must be a non-negative integer, got {precision!r}"
            )
        return precision
    raise BillingValidationError(
        f"currency {code!r} is neither an ISO 4217 code nor one of the custom currencies"
        f" {sorted(custom) or '[]'}"
    )


def round_money(amount: Decimal, precision: int) -> Decimal:
    """Quantize ``amount`` to ``precision`` fractional digits, half away from zero.

    The result always carries exactly ``precision`` fractional digits (``Decimal("5")`` at precision 2
    is ``Decimal("5.00")``), so it prints as money.
    """
    if isinstance(amount, float) or not isinstance(amount, (Decimal, int)):
        raise BillingValidationError(f"money must be a Decimal, got {type(amount).__name__} {amount!r}")
    if isinstance(precision, bool) or not isinstance(precision, int) or precision < 0:
        raise BillingValidationError(f"precision must be a non-negative integer, got {precision!r}")
    amount = Decimal(amount)
    if not amount.is_finite():
        raise BillingValidationError(f"money must be finite, got {amount}")
    digits = max(EXACT_DIGITS, amount.adjusted() + precision + 2)
    context = Context(prec=digits, rounding=ROUND_HALF_UP)
    return amount.quantize(Decimal(1).scaleb(-precision), context=context)


def canonical_text(value: Decimal) -> str:
    """Decimal text without exponent or trailing fractional zeros: ``100``, ``100.5``, ``100.123``."""
    if not value.is_finite():
        raise BillingValidationError(f"not a finite decimal: {value}")
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def money_text(amount: Decimal, precision: int) -> str:
    """Money as text with exactly the currency's minor digits: ``10.00`` (USD), ``1000`` (JPY)."""
    return format(round_money(amount, precision), "f")


#: The context of ``exact_arithmetic``, for hot paths that call its methods directly
#: (``EXACT.add(a, b)``) instead of switching the thread's context.
EXACT = Context(prec=EXACT_DIGITS, rounding=ROUND_HALF_UP)


@contextmanager
def exact_arithmetic() -> Iterator[None]:
    """A decimal context wide enough that sums and products of money are never rounded early."""
    with localcontext(EXACT):
        yield
