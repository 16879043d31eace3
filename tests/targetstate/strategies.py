"""Hypothesis strategies for subscription views and builder inputs (targetstate spec §11.3).

Reusable by later suites (reconciler, sync). ``build_inputs()`` draws a ``BuildInputs``: a view built
from the models (phase cadences and item ranges through ``subscriptions.timeline``) plus ``as_of``,
a customer deletion and an end-proration mode. The draws cover:

- anchors with sub-second parts and month-end days, before, at or after the subscription start;
- subscription cadences PT1H…P1Y and item cadences aligned with them (§3.5), one-time flat fees;
- one to three phases (shared starts and sort hints included), item versions that change
  mid-period (sub-second boundaries included), unpriced, flat (both terms) and usage prices;
- cancellations, customer deletions and ``as_of`` values before, inside, on a boundary and after.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from hypothesis import strategies as st

from subscriptions.duration import Duration
from subscriptions.models import RateCard, Subscription, SubscriptionView
from subscriptions.prices import FlatPrice, Price, UnitPrice
from tests.targetstate.harness import PhaseSpec, VersionSpec, make_subscription, make_view

UTC = dt.timezone.utc

CADENCES = [Duration.parse(c) for c in ("PT1H", "PT12H", "P1D", "P1W", "P2W", "P1M", "P3M", "P1Y")]
#: At most this many item periods per subscription period (keeps examples small; PT1H in P1Y is not drawn).
MAX_PERIODS_PER_BILLING_PERIOD = 31


def _ratio(a: Duration, b: Duration) -> Decimal:
    return a.nominal_seconds() / b.nominal_seconds()


def aligned_cadences(subscription_cadence: Duration) -> list[Duration]:
    """Item cadences aligned with the subscription cadence (§3.5), within the size bound."""
    return [
        c
        for c in CADENCES
        if c.aligned_with(subscription_cadence)
        and _ratio(subscription_cadence, c) <= MAX_PERIODS_PER_BILLING_PERIOD
        and _ratio(c, subscription_cadence) <= 12
    ]


@st.composite
def instants(draw, min_year: int = 2019, max_year: int = 2030) -> dt.datetime:
    """Instants with sub-second parts, often on a month-end day (28–31) or a whole second."""
    base = draw(st.datetimes(min_value=dt.datetime(min_year, 1, 1), max_value=dt.datetime(max_year, 12, 31)))
    day = draw(st.sampled_from([None, None, 28, 29, 30, 31]))
    if day is not None:
        try:
            base = base.replace(day=day)
        except ValueError:
            pass
    if draw(st.booleans()):
        base = base.replace(microsecond=0)
    return base.replace(tzinfo=UTC)


@st.composite
def offsets(draw, unit: Duration, max_units: int = 2) -> Duration:
    """A non-negative offset: whole units of ``unit`` plus hours and (sub-)seconds, or exactly zero."""
    if draw(st.integers(0, 5)) == 5:
        return Duration()
    units = draw(st.integers(0, max_units))
    extra_hours = draw(st.integers(0, 30))
    extra_micros = draw(st.sampled_from([0, 0, 400_000, 999_999, 1_500_000]))
    seconds = Decimal(extra_micros) / Decimal(1_000_000)
    return unit * units + Duration(hours=extra_hours, seconds=seconds)


@st.composite
def prices(draw) -> Price | None:
    kind = draw(st.sampled_from(["advance", "arrears", "unit", "none"]))
    if kind == "none":
        return None
    amount = Decimal(draw(st.integers(0, 1_000_000))).scaleb(-draw(st.integers(0, 4)))
    if kind == "unit":
        return UnitPrice(amount=amount)
    return FlatPrice(amount=amount, payment_term="in_advance" if kind == "advance" else "in_arrears")


@st.composite
def rate_cards(draw, key: str, subscription_cadence: Duration) -> RateCard:
    price = draw(prices())
    cadence: Duration | None = draw(st.sampled_from(aligned_cadences(subscription_cadence)))
    if not isinstance(price, UnitPrice) and draw(st.integers(0, 4)) == 4:
        cadence = None  # one-time flat fee (or unpriced)
    card_type = "usage_based" if isinstance(price, UnitPrice) or (cadence is not None and draw(st.booleans())) else "flat_fee"
    return RateCard(key=key, type=card_type, price=price, billing_cadence=cadence)


@st.composite
def item_versions(draw, key: str, subscription_cadence: Duration) -> list[VersionSpec]:
    """Versions of one key with non-overlapping overrides; only the last may be open-ended."""
    count = draw(st.integers(1, 3))
    versions: list[VersionSpec] = []
    cursor: Duration | None = None if draw(st.booleans()) else draw(offsets(subscription_cadence, 1))
    for index in range(count):
        start = cursor
        last = index == count - 1
        if last and draw(st.booleans()):
            end = None
        else:
            end = (start or Duration()) + draw(offsets(subscription_cadence, 2))
        versions.append(VersionSpec(draw(rate_cards(key, subscription_cadence)), start, end))
        if end is None:
            break
        cursor = end + (draw(offsets(subscription_cadence, 1)) if draw(st.integers(0, 3)) == 3 else Duration())
    return versions


@st.composite
def phase_specs(draw, subscription_cadence: Duration) -> list[PhaseSpec]:
    count = draw(st.integers(1, 3))
    specs: list[PhaseSpec] = []
    start_after = Duration()
    for index in range(count):
        if index > 0:
            start_after = start_after + draw(offsets(subscription_cadence, 2))
        keys = draw(st.lists(st.sampled_from(["alpha", "beta", "gamma"]), min_size=1, max_size=3, unique=True))
        items = {key: draw(item_versions(key, subscription_cadence)) for key in keys}
        sort_hint = draw(st.one_of(st.none(), st.integers(0, 3)))
        specs.append(PhaseSpec(f"phase-{index}", start_after, items, sort_hint))
    return specs


@dataclass(frozen=True)
class BuildInputs:
    view: SubscriptionView
    as_of: dt.datetime
    customer_deleted_at: dt.datetime | None
    subscription_end_proration_mode: str

    @property
    def subscription(self) -> Subscription:
        return self.view.subscription


@st.composite
def anchors(draw, start: dt.datetime) -> dt.datetime:
    choice = draw(st.sampled_from(["start", "shifted", "month-end"]))
    if choice == "start":
        return start
    if choice == "shifted":
        shift = dt.timedelta(seconds=draw(st.integers(-40 * 86_400, 40 * 86_400)), microseconds=draw(st.integers(0, 999_999)))
        return start + shift
    month_end = draw(instants(start.year - 1 if start.year > 2019 else 2019, start.year))
    return month_end


@st.composite
def build_inputs(draw) -> BuildInputs:
    cadence = draw(st.sampled_from(CADENCES))
    start = draw(instants())
    anchor = draw(anchors(start))
    phases = draw(phase_specs(cadence))
    span = cadence * 6
    active_to = None
    if draw(st.booleans()):
        active_to = draw(offsets(cadence, 6)).add_to(start)
    deleted_at = None
    if draw(st.integers(0, 3)) == 3:
        deleted_at = draw(offsets(cadence, 6)).add_to(start) + dt.timedelta(seconds=1)
    as_of_kind = draw(st.sampled_from(["inside", "inside", "boundary", "after", "before"]))
    if as_of_kind == "before":
        as_of = start - dt.timedelta(hours=draw(st.integers(1, 24 * 40)))
    elif as_of_kind == "after":
        as_of = span.add_to(start) + dt.timedelta(days=draw(st.integers(0, 30)))
    else:
        as_of = draw(offsets(cadence, 5)).add_to(start)
        if as_of_kind == "boundary":
            n = draw(st.integers(0, 5))
            as_of = max(start, (cadence * n).add_to(anchor))
    subscription = make_subscription(
        start=start,
        billing_cadence=cadence,
        anchor=anchor,
        active_to=active_to,
        currency=draw(st.sampled_from(["USD", "USD", "JPY", "KWD"])),
        pro_rating=draw(st.booleans()),
    )
    mode = draw(st.sampled_from(["bill_actual_period", "bill_full_period", ""]))
    return BuildInputs(make_view(subscription, phases), as_of, deleted_at, mode)
