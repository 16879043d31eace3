"""§10.1: phase generation (``generate_phase``, without horizon or continuity correction)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from subscriptions.models import Phase, Subscription, SubscriptionItem, SubscriptionView
from targetstate import generate_phase
from tests.targetstate.harness import dur, flat, rate_card, ts, unit

#: The harness start: 2021-01-01T00:00:00.1234Z.
S = ts("2021-01-01T00:00:00.123400Z")


def d(text: str) -> dt.datetime:
    """Short dates of the tables: ``01-02`` and ``01-02T20:00`` are in 2021; full dates pass through."""
    return ts(text if text.count("-") == 2 else f"2021-{text}")


@dataclass(frozen=True)
class Item:
    key: str
    kind: str  # unit | flat | none | default
    cadence: str | None
    start_after: str | None = None
    end_after: str | None = None


def _card(item: Item):
    if item.kind == "unit":
        return rate_card(item.key, unit(), item.cadence, type="usage_based")
    if item.kind == "flat":
        return rate_card(item.key, flat(1, "in_advance"), item.cadence, type="flat_fee")
    if item.kind == "none":
        return rate_card(item.key, None, item.cadence, type="flat_fee")
    return rate_card(item.key, unit(), item.cadence, type="flat_fee")  # default: flat-fee card, unit price


def harness_view(
    items: list[Item],
    billing_cadence: str | None,
    phase_end: str | None = None,
    subscription_end: str | None = None,
    anchor_offset: str | None = None,
) -> SubscriptionView:
    end = d(phase_end) if phase_end else d(subscription_end) if subscription_end else None
    anchor = dur(anchor_offset).add_to(S) if anchor_offset else S
    sub = Subscription(
        id="subid",  # the spec's "subID"; our keys are lower-case ([a-z0-9][a-z0-9_-]*)
        customer_id="customer",
        active_from=S,
        active_to=end,
        billing_cadence=dur(billing_cadence or "P1D"),  # case 1: any positive cadence, nothing reads it
        billing_anchor=anchor,
        invoice_currency="USD",
    )
    versions: dict[str, list[SubscriptionItem]] = {}
    for item in items:
        start = dur(item.start_after).add_to(S) if item.start_after else S
        stop = dur(item.end_after).add_to(S) if item.end_after else None
        if end is not None:
            stop = end
            if stop < start:
                start = stop  # the persisted form [end, end] of §3.4 (case 16)
        key_versions = versions.setdefault(item.key, [])
        key_versions.append(
            SubscriptionItem(
                id=f"{item.key}-{len(key_versions)}", key=item.key, active_from=start, active_to=stop, rate_card=_card(item)
            )
        )
    phase = Phase(
        id="phase-id",
        key="phase-test",
        active_from=S,
        items_by_key={key: tuple(vs) for key, vs in versions.items()},
    )
    return SubscriptionView(subscription=sub, phases=(phase,))


def row(suffix: str, service: str, full: str, billing: str, invoice_at: str):
    return (
        f"subid/phase-test/{suffix}",
        tuple(d(x) for x in service.split(" → ")),
        tuple(d(x) for x in full.split(" → ")),
        tuple(d(x) for x in billing.split(" → ")),
        d(invoice_at),
    )


CASE3 = [
    row("item-key/v[0]/period[0]", "01-01 → 01-02", "01-01 → 01-02", "01-01 → 01-02", "01-02"),
    row("item-key/v[0]/period[1]", "01-02 → 01-03", "01-02 → 01-03", "01-02 → 01-03", "01-03"),
]

CASES = [
    ("unaligned empty", [], None, "01-01", {}, []),
    ("aligned empty", [], "P1M", "01-01", {}, []),
    ("sanity", [Item("item-key", "default", "P1D")], "P1D", "01-03", {}, CASE3),
    (
        "sanity-non-billable-filtering",
        [Item("item-key", "default", "P1D"), Item("item-key-no-price", "none", None)],
        "P1D",
        "01-03",
        {},
        CASE3,
    ),
    (
        "sanity-phase-end",
        [Item("item-key", "default", "P1D")],
        "P1D",
        "01-03",
        {"phase_end": "01-02T15:00"},
        [
            row("item-key/v[0]/period[0]", "01-01 → 01-02", "01-01 → 01-02", "01-01 → 01-02", "01-02"),
            row("item-key/v[0]/period[1]", "01-02 → 01-02T15:00", "01-02 → 01-03", "01-02 → 01-02T15:00", "01-02T15:00"),
        ],
    ),
    (
        "different cadence",
        [Item("item-key-1d", "default", "P1D"), Item("item-key-2d", "default", "P2D")],
        "P1D",
        "01-04",
        {},
        [
            row("item-key-1d/v[0]/period[0]", "01-01 → 01-02", "01-01 → 01-02", "01-01 → 01-02", "01-02"),
            row("item-key-1d/v[0]/period[1]", "01-02 → 01-03", "01-02 → 01-03", "01-02 → 01-03", "01-03"),
            row("item-key-1d/v[0]/period[2]", "01-03 → 01-04", "01-03 → 01-04", "01-03 → 01-04", "01-04"),
            row("item-key-2d/v[0]/period[0]", "01-01 → 01-03", "01-01 → 01-03", "01-01 → 01-02", "01-03"),
        ],
    ),
    (
        "new-version-split-aligned-with-regular-cadence",
        [Item("item-key", "default", "P1D", end_after="P1D"), Item("item-key", "default", "P1D", start_after="P1D")],
        "P1D",
        "01-03",
        {},
        [
            row("item-key/v[0]/period[0]", "01-01 → 01-02", "01-01 → 01-02", "01-01 → 01-02", "01-02"),
            row("item-key/v[1]/period[0]", "01-02 → 01-03", "01-02 → 01-03", "01-02 → 01-03", "01-03"),
        ],
    ),
    (
        "active-from-to-missmatching-period",
        [
            Item("item-key", "default", "P1D", end_after="P1DT20H"),
            Item("item-key", "default", "P1D", start_after="P1DT20H"),
        ],
        "P1D",
        "01-03",
        {},
        [
            row("item-key/v[0]/period[0]", "01-01 → 01-02", "01-01 → 01-02", "01-01 → 01-02", "01-02"),
            row("item-key/v[0]/period[1]", "01-02 → 01-02T20:00", "01-02 → 01-03", "01-02 → 01-03", "01-03"),
            row("item-key/v[1]/period[0]", "01-02T20:00 → 01-03", "01-02 → 01-03", "01-02 → 01-03", "01-03"),
        ],
    ),
    (
        "ubp-time truncated",
        [
            Item("item-key", "unit", "P1D", end_after="P1DT20H2S"),
            Item("item-key", "unit", "P1D", start_after="P1DT20H2S", end_after="P1DT20H2S"),
            Item("item-key", "unit", "P1D", start_after="P1DT20H2S", end_after="P1DT20H4S"),
            Item("item-key", "unit", "P1D", start_after="P1DT20H4S"),
        ],
        "P1D",
        "01-03",
        {},
        [
            row("item-key/v[0]/period[0]", "01-01 → 01-02", "01-01 → 01-02", "01-01 → 01-02", "01-02"),
            row("item-key/v[0]/period[1]", "01-02 → 01-02T20:00:02", "01-02 → 01-03", "01-02 → 01-03", "01-03"),
            row("item-key/v[2]/period[0]", "01-02T20:00:02 → 01-02T20:00:04", "01-02 → 01-03", "01-02 → 01-03", "01-03"),
            row("item-key/v[3]/period[0]", "01-02T20:00:04 → 01-03", "01-02 → 01-03", "01-02 → 01-03", "01-03"),
        ],
    ),
    (
        "flat-fee recurring",
        [Item("item-key", "flat", "P1D")],
        "P1D",
        "01-03",
        {},
        [
            row("item-key/v[0]/period[0]", "01-01 → 01-02", "01-01 → 01-02", "01-01 → 01-02", "01-01"),
            row("item-key/v[0]/period[1]", "01-02 → 01-03", "01-02 → 01-03", "01-02 → 01-03", "01-02"),
            row("item-key/v[0]/period[2]", "01-03 → 01-04", "01-03 → 01-04", "01-03 → 01-04", "01-03"),
        ],
    ),
    (
        "flat-fee one-time",
        [Item("item-key", "flat", None)],
        "P1M",
        "01-03",
        {"phase_end": "01-05"},
        [row("item-key/v[0]", "01-01 → 01-05", "01-01 → 01-05", "01-01 → 01-05", "01-01")],
    ),
    (
        "aligned in-advance and in-arrears recurring when billing cadence is same as service cadence",
        [
            Item("item-key", "flat", "P1D", end_after="P1DT20H"),
            Item("item-key", "flat", "P1D", start_after="P1DT20H"),
            Item("arrears-key", "unit", "P1D"),
        ],
        "P1D",
        "01-03",
        {},
        [
            row("item-key/v[0]/period[0]", "01-01 → 01-02", "01-01 → 01-02", "01-01 → 01-02", "01-01"),
            row("item-key/v[0]/period[1]", "01-02 → 01-02T20:00", "01-02 → 01-03", "01-02 → 01-03", "01-02"),
            row("item-key/v[1]/period[0]", "01-02T20:00 → 01-03", "01-02 → 01-03", "01-02 → 01-03", "01-02"),
            row("item-key/v[1]/period[1]", "01-03 → 01-04", "01-03 → 01-04", "01-03 → 01-04", "01-03"),
            row("arrears-key/v[0]/period[0]", "01-01 → 01-02", "01-01 → 01-02", "01-01 → 01-02", "01-02"),
            row("arrears-key/v[0]/period[1]", "01-02 → 01-03", "01-02 → 01-03", "01-02 → 01-03", "01-03"),
        ],
    ),
    (
        "aligned one-time no phase end",
        [Item("item-key", "flat", None)],
        "P1M",
        "01-03",
        {},
        [row("item-key/v[0]", "01-01 → 01-01", "01-01 → 01-01", "01-01 → 02-01", "01-01")],
    ),
    (
        "aligned one-time with phase end",
        [Item("item-key", "flat", None)],
        "P1M",
        "01-03",
        {"phase_end": "02-05"},
        [row("item-key/v[0]", "01-01 → 02-05", "01-01 → 02-05", "01-01 → 02-01", "01-01")],
    ),
    (
        "aligned in-advance and in-arrears recurring with billing cadence different than service cadence",
        [Item("item-key", "flat", "P1D"), Item("arrears-key", "unit", "P1D")],
        "P3D",
        "01-04",
        {},
        [
            row("item-key/v[0]/period[0]", "01-01 → 01-02", "01-01 → 01-02", "01-01 → 01-04", "01-01"),
            row("item-key/v[0]/period[1]", "01-02 → 01-03", "01-02 → 01-03", "01-01 → 01-04", "01-01"),
            row("item-key/v[0]/period[2]", "01-03 → 01-04", "01-03 → 01-04", "01-01 → 01-04", "01-01"),
            row("item-key/v[0]/period[3]", "01-04 → 01-05", "01-04 → 01-05", "01-04 → 01-07", "01-04"),
            row("item-key/v[0]/period[4]", "01-05 → 01-06", "01-05 → 01-06", "01-04 → 01-07", "01-04"),
            row("item-key/v[0]/period[5]", "01-06 → 01-07", "01-06 → 01-07", "01-04 → 01-07", "01-04"),
            row("arrears-key/v[0]/period[0]", "01-01 → 01-02", "01-01 → 01-02", "01-01 → 01-04", "01-04"),
            row("arrears-key/v[0]/period[1]", "01-02 → 01-03", "01-02 → 01-03", "01-01 → 01-04", "01-04"),
            row("arrears-key/v[0]/period[2]", "01-03 → 01-04", "01-03 → 01-04", "01-01 → 01-04", "01-04"),
        ],
    ),
    (
        "aligned subscription item is outside of subscription",
        [Item("item-key", "flat", "P1D", start_after="P30D")],
        "P1D",
        "01-03",
        {"subscription_end": "01-03"},
        [],
    ),
    (
        "aligned subscription item crosses subs cancellation date (also phase end date)",
        [Item("item-key", "flat", "P1M")],
        "P1M",
        "01-03",
        {"subscription_end": "01-03"},
        [row("item-key/v[0]/period[0]", "01-01 → 01-03", "01-01 → 02-01", "01-01 → 01-03", "01-01")],
    ),
    (
        "aligned flat-fee recurring when billing cadence is same as service cadence",
        [
            Item("item-key", "flat", "P1D", end_after="P1DT20H"),
            Item("item-key", "flat", "P1D", start_after="P1DT20H"),
        ],
        "P1D",
        "01-03",
        {"anchor_offset": "-PT1H"},
        [
            row("item-key/v[0]/period[0]", "01-01 → 01-01T23:00", "2020-12-31T23:00 → 01-01T23:00", "01-01 → 01-01T23:00", "01-01"),
            row("item-key/v[0]/period[1]", "01-01T23:00 → 01-02T20:00", "01-01T23:00 → 01-02T23:00", "01-01T23:00 → 01-02T23:00", "01-01T23:00"),
            row("item-key/v[1]/period[0]", "01-02T20:00 → 01-02T23:00", "01-01T23:00 → 01-02T23:00", "01-01T23:00 → 01-02T23:00", "01-01T23:00"),
            row("item-key/v[1]/period[1]", "01-02T23:00 → 01-03T23:00", "01-02T23:00 → 01-03T23:00", "01-02T23:00 → 01-03T23:00", "01-02T23:00"),
        ],
    ),
]


@pytest.mark.parametrize(
    "items, billing_cadence, end, options, expected",
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_phase_generation(items, billing_cadence, end, options, expected):
    view = harness_view(items, billing_cadence, **options)
    generated = generate_phase(view, view.phases[0], limit=d(end))

    got = {
        (
            item.unique_id,
            (item.service_period.start, item.service_period.end),
            (item.full_service_period.start, item.full_service_period.end),
            (item.billing_period.start, item.billing_period.end),
        )
        for item in generated
    }
    assert got == {exp[:4] for exp in expected}
    assert len(generated) == len(expected)
    assert {item.unique_id: item.invoice_at for item in generated} == {exp[0]: exp[4] for exp in expected}


def test_unpriced_versions_consume_version_numbers_and_are_skipped():
    """Q11: in ``[free, paid]`` the paid version is ``v[1]``."""
    view = harness_view(
        [Item("item-key", "none", "P1D", end_after="P1D"), Item("item-key", "default", "P1D", start_after="P1D")],
        "P1D",
    )
    generated = generate_phase(view, "phase-test", limit=d("01-03"))
    assert [item.unique_id for item in generated] == ["subid/phase-test/item-key/v[1]/period[0]"]


def test_generation_is_ordered_by_key_version_and_period():
    view = harness_view([Item("b-key", "unit", "P1D"), Item("a-key", "unit", "P1D")], "P1D")
    generated = generate_phase(view, "phase-test", limit=d("01-04"))
    assert [(i.item_key, i.period_index) for i in generated] == sorted((i.item_key, i.period_index) for i in generated)
    assert generated[0].item_key == "a-key"
