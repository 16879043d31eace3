"""Rating of flat-fee and usage-based charges (charges.md §3.2, §4.2).

- Flat fee: ``amount_after_proration`` is the amount before proration, prorated by
  ``dur(service) / dur(full service)`` (whole seconds) when pro-rating is on and the service period
  is a non-empty strict part of the full one; rounded to the currency. Rating yields quantity 1 at
  that amount, minus the percentage discounts. Rating never includes credits.
- Usage: cumulative from the charge's service start to the run boundary; a run is billed the
  cumulative rating minus what earlier non-voided runs already billed (the ``delta`` engine). The
  minimum commitment counts only for the final run. A negative run total is an error.
"""

from __future__ import annotations

from decimal import Decimal

from billing.charges.errors import ChargeValidationError
from billing.charges.models import FlatFeeIntent, UsageBasedIntent
from billing.charges.runs import Run
from billing.lines import ZERO_TOTALS
from billing.money import exact_arithmetic, round_money
from billing.prices import FlatPrice
from billing.rating import Totals, rate, split_child_breakdown

ZERO = Decimal(0)


def _seconds(period) -> int:  # type: ignore[no-untyped-def]
    return int(period.duration.total_seconds())


def amount_after_proration(intent: FlatFeeIntent, precision: int) -> Decimal:
    before = round_money(intent.amount_before_proration, precision)
    service, full = _seconds(intent.service_period), _seconds(intent.full_service_period)
    if intent.pro_rating.enabled and intent.pro_rating.mode == "prorate_prices" and 0 < service < full:
        with exact_arithmetic():
            return min(round_money(before * Decimal(service) / Decimal(full), precision), before)
    return before


def rate_flat_fee(intent: FlatFeeIntent, amount: Decimal, precision: int) -> Totals:
    return rate(FlatPrice(amount=amount, payment_term=intent.payment_term), Decimal(1),
                discounts=intent.percentage_discounts, precision=precision)


def rate_usage_cumulative(intent: UsageBasedIntent, quantity: Decimal, *, final: bool, precision: int) -> Totals:
    """The rating of ``quantity`` units counted from the charge's service start."""
    if isinstance(intent.price, FlatPrice):
        raise ChargeValidationError("usage-based charge: price must be a usage price, got flat")
    return split_child_breakdown(intent.price, quantity_before=ZERO, quantity_through=quantity,
                                 is_last_child=final, discounts=intent.discounts, precision=precision,
                                 is_first_child=True).totals.rounded(precision)


def billed_before(runs: list[Run], run_id: str | None) -> Totals:
    """What the non-voided runs other than ``run_id`` already billed (amount and discounts)."""
    total = ZERO_TOTALS
    for run in runs:
        if run.id != run_id and not run.voided:
            total = total + Totals(amount=run.totals.amount, discounts=run.totals.discounts)
    return total


def usage_run_totals(cumulative: Totals, earlier: Totals, *, charge_id: str, precision: int) -> Totals:
    with exact_arithmetic():
        amount = cumulative.amount - earlier.amount
        discounts = cumulative.discounts - earlier.discounts
    if amount < 0 or discounts < 0 or amount - discounts < 0:
        raise ChargeValidationError(f"charge {charge_id}: charge total is negative ({amount} − {discounts})",
                                    charge_id=charge_id)
    return Totals(amount=round_money(amount, precision), discounts=round_money(discounts, precision))
