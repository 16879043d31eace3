"""Benchmark of the target-state builder: ``python benchmarks/targetstate_bench.py``.

Builds two subscriptions and prints, for each, the median time per build, the time per target item
and the ratio to a plain-tuple baseline that does the same period arithmetic in the same run:

- (a) typical: 10 items (in-advance and in-arrears flat fees, usage prices, a one-time fee) on a
  monthly plan, 50 target items in the horizon;
- (b) large: 50 items × 24 monthly periods = 1 200 target items.

Targets: (a) ≤ 0.5 ms median and ≤ 15× the baseline; the cost per item flat from (a) to (b).
Times are the CPU time of the benchmarking thread, so other processes on a shared machine inflate
them less than wall time would.
The baseline uses the same boundary rule (``(cadence * n).add_to(anchor)``, memoised per build)
and the same loop, but plain tuples: no models, no validation, no schedule, no logging.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import os
import statistics
import sys
import time
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import structlog  # noqa: E402

from subscriptions.duration import Duration  # noqa: E402
from subscriptions.models import (  # noqa: E402
    Phase,
    ProRatingConfig,
    RateCard,
    Subscription,
    SubscriptionItem,
    SubscriptionView,
)
from subscriptions.prices import FlatPrice, UnitPrice  # noqa: E402
from targetstate import NO_PERSISTED_STATE, build_target_state  # noqa: E402

UTC = dt.timezone.utc
MONTH = Duration(months=1)


def _card(index: int, kind: str) -> RateCard:
    key = f"item-{index:02d}"
    if kind == "advance":
        return RateCard(key=key, type="flat_fee", price=FlatPrice(amount=Decimal("19.99")), billing_cadence=MONTH)
    if kind == "arrears":
        price = FlatPrice(amount=Decimal("5"), payment_term="in_arrears")
        return RateCard(key=key, type="flat_fee", price=price, billing_cadence=MONTH)
    if kind == "usage":
        return RateCard(key=key, type="usage_based", price=UnitPrice(amount=Decimal("0.01")), billing_cadence=MONTH)
    return RateCard(key=key, type="flat_fee", price=FlatPrice(amount=Decimal("100")), billing_cadence=None)


def make_view(kinds: list[str], start: dt.datetime) -> SubscriptionView:
    sub = Subscription(
        id="bench",
        customer_id="customer",
        active_from=start,
        billing_cadence=MONTH,
        billing_anchor=start,
        pro_rating_config=ProRatingConfig(enabled=True),
        invoice_currency="USD",
    )
    items = {}
    for index, kind in enumerate(kinds):
        card = _card(index, kind)
        items[card.key] = (SubscriptionItem(id=f"id-{index}", key=card.key, active_from=start, rate_card=card),)
    phase = Phase(id="phase", key="default", active_from=start, items_by_key=items)
    return SubscriptionView(subscription=sub, phases=(phase,))


# -- the plain-tuple baseline -------------------------------------------------------------------


def baseline(view: SubscriptionView, as_of: dt.datetime) -> list[tuple]:
    """The same §4.1/§4.2/§5.8 arithmetic with tuples: per-build memoised boundaries, the index
    estimate and correction, phase clamping, intersection, invoice_at, cutoff and truncation."""
    sub = view.subscription
    anchor = sub.billing_anchor
    micro = dt.timedelta(microseconds=1)

    def recurrence(d: Duration):
        boundaries: dict[int, dt.datetime] = {}
        step = int(d.nominal_seconds() * 1_000_000)

        def boundary(n: int) -> dt.datetime:
            b = boundaries.get(n)
            if b is None:
                b = boundaries[n] = (d * n).add_to(anchor)
            return b

        def bounds_at(t: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
            n = ((t - anchor) // micro) // step
            while boundary(n) > t:
                n -= 1
            while boundary(n + 1) <= t:
                n += 1
            return boundary(n), boundary(n + 1)

        return bounds_at

    recurrences: dict[Duration, object] = {}

    def rec(d: Duration):
        found = recurrences.get(d)
        if found is None:
            found = recurrences[d] = recurrence(d)
        return found

    def trunc(t: dt.datetime) -> dt.datetime:
        return t if t.microsecond == 0 else t.replace(microsecond=0)

    billing_at = rec(sub.billing_cadence)
    phase = view.phases[0]
    phase_start, phase_end = sub.active_from, sub.active_to
    bp_now = billing_at(as_of)
    limit = as_of if as_of == bp_now[0] else bp_now[1]
    cutoff = trunc(limit)
    out = []
    for key in sorted(phase.items_by_key):
        for v, item in enumerate(phase.items_by_key[key]):
            price = item.rate_card.price
            advance = isinstance(price, FlatPrice) and price.payment_term == "in_advance"
            cadence = item.rate_card.billing_cadence
            at = item.active_from
            if cadence is None:
                bs, be = billing_at(at)
                out.append((f"{sub.id}/{phase.key}/{key}/v[{v}]", (at, at), (at, at), (max(bs, phase_start), be)))
                continue
            full_at = rec(cadence)
            index = 0
            while True:
                bs, be = billing_at(at)
                bs = max(bs, phase_start)
                if phase_end is not None:
                    be = min(be, phase_end)
                fs, fe = full_at(at)
                ss, se = max(fs, item.active_from), fe if item.active_to is None else min(fe, item.active_to)
                invoice_at = bs if advance else max(se, be)
                ident = f"{sub.id}/{phase.key}/{key}/v[{v}]/period[{index}]"
                index += 1
                at = se
                if trunc(invoice_at) > cutoff:
                    break
                out.append((ident, (trunc(ss), trunc(se)), (trunc(fs), trunc(fe)), (trunc(bs), trunc(be))))
                if index > 1000:
                    break
    return out


# -- measurement --------------------------------------------------------------------------------


def timings_us(fn, repeats: int) -> tuple[float, float]:
    """(median, best) CPU time of ``fn`` in µs over ``repeats`` runs after a warm-up.

    CPU time of this thread, not wall time: on a shared machine, time spent waiting for a core
    would otherwise dominate the median.
    """
    fn()
    samples = []
    gc.collect()
    for _ in range(repeats):
        t0 = time.thread_time()
        fn()
        samples.append(time.thread_time() - t0)
    return statistics.median(samples) * 1e6, min(samples) * 1e6


def run_case(name: str, view: SubscriptionView, as_of: dt.datetime, repeats: int) -> tuple[float, float, float]:
    def build():
        return build_target_state(
            as_of=as_of,
            view=view,
            customer_deleted_at=None,
            subscription_end_proration_mode="bill_actual_period",
            persisted=NO_PERSISTED_STATE,
        )

    count = len(build().items)
    assert count == len(baseline(view, as_of)), "the baseline must produce the same number of periods"
    build_us, build_best = timings_us(build, repeats)
    base_us, base_best = timings_us(lambda: baseline(view, as_of), repeats)
    ratio = build_us / base_us
    print(
        f"{name:<12} {count:>5} items  median {build_us:9.1f} µs/build (best {build_best:8.1f})  "
        f"{build_us / count:6.2f} µs/item  baseline median {base_us:8.1f} µs (best {base_best:8.1f})  "
        f"ratio {ratio:4.2f}×"
    )
    return build_us, build_us / count, ratio


def main() -> int:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    start = dt.datetime(2022, 1, 1, tzinfo=UTC)
    typical_kinds = ["advance"] * 4 + ["arrears"] * 2 + ["usage"] * 3 + ["one-time"]
    typical = make_view(typical_kinds, start)
    typical_as_of = dt.datetime(2022, 5, 10, 12, tzinfo=UTC)  # inside May: 4×6 + 5×5 + 1 = 50 items
    large = make_view(["arrears", "usage"] * 25, start)
    large_as_of = dt.datetime(2023, 12, 10, 12, tzinfo=UTC)  # inside month 24: 50 × 24 = 1 200 items

    print(f"python {sys.version.split()[0]}; thread CPU time, median (and best) of repeated builds")
    a_us, a_item, a_ratio = run_case("(a) typical", typical, typical_as_of, repeats=500)
    b_us, b_item, b_ratio = run_case("(b) large", large, large_as_of, repeats=60)
    print(f"cost per item (b)/(a): {b_item / a_item:.2f}  (≤ 1 means flat or falling)")
    verdict = "met" if a_us <= 500 and a_ratio <= 15 and b_item <= a_item * 1.2 else "NOT met"
    print(f"targets (a) ≤ 500 µs, ratio ≤ 15×, per-item cost flat: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
