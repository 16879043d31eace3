"""The custom-currency gate (reconciler.md §6.2 step 3).

A subscription is *custom-currency priced* when a billable item version (one whose rate card has a
price) carries a price in a currency that is not a fiat ISO 4217 code — a code the store declares as
custom (scenario ``currencies``), or any other non-fiat code. Billing does not bill such
subscriptions: an explicit sync raises ``CustomCurrencyNotSupportedError``, an automatic one skips.
"""

from __future__ import annotations

from collections.abc import Collection

from billing.money import is_fiat
from subscriptions.models import SubscriptionView


def is_custom_currency(code: str | None, custom_codes: Collection[str]) -> bool:
    if code is None:
        return False  # the plan's (fiat) invoice currency
    return code in custom_codes or not is_fiat(code)


def has_custom_currency_billables(view: SubscriptionView | None, custom_codes: Collection[str] = ()) -> bool:
    if view is None:
        return False
    return any(
        version.rate_card.price is not None and is_custom_currency(version.rate_card.price.currency, custom_codes)
        for phase in view.phases
        for versions in phase.items_by_key.values()
        for version in versions
    )


def has_billables(view: SubscriptionView | None) -> bool:
    """Some phase of the view has an item version whose rate card has a price (§6.2 step 6.1)."""
    return view is not None and any(phase.has_priced_version for phase in view.phases)
