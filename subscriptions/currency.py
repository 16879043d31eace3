"""Currency codes: which codes are fiat ISO 4217 currencies (the only invoice currencies)."""

from __future__ import annotations

from functools import lru_cache

from iso4217 import Currency


@lru_cache(maxsize=1)
def _fiat_codes() -> frozenset[str]:
    """Current ISO 4217 codes with minor units: precious metals, bond-market units, SDRs and the
    testing and "no currency" codes (XAU, XBA, XDR, XTS, XXX, …) have none and are not fiat."""
    return frozenset(c.code for c in Currency if c.exponent is not None)


def is_fiat_currency(code: str) -> bool:
    """True for an ISO 4217 fiat currency code such as ``USD``, ``JPY`` or ``KWD``."""
    return code in _fiat_codes()
