"""Hostile values for the bad-input strategies: keys, amounts, durations, instants, enums, junk.

Each list holds values that are invalid wherever that kind of value goes (a few are added per field by
the strategies, such as a percentage over 100). ``TEN_MB`` is built once and drawn through
``st.builds(ten_mb)``, so hypothesis never prints it.
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import strategies as st

KEY_RE = re.compile(r"[a-z0-9][a-z0-9_-]*")
#: One 10 MB string, shared by every example that needs one (building it is the slow part).
TEN_MB = "x" * (10 * 1024 * 1024)


def ten_mb() -> str:
    """``TEN_MB``; strategies use ``st.builds(ten_mb)`` so that hypothesis never prints the value."""
    return TEN_MB


ten_mb_strings = st.builds(ten_mb)

#: Every field name a setup may hold: junk keys are drawn outside this set.
KNOWN_FIELDS = frozenset({
    "name", "description", "settings", "payment_app", "clock", "currencies", "meters", "steps", "customer", "plan",
    "subscription", "setups", "key", "currency", "billing_profile", "collection", "alignment", "interval",
    "invoicing", "auto_advance", "draft_period", "due_after", "progressive_billing", "subscription_end_proration_mode",
    "code", "precision", "aggregation", "version", "billing_cadence", "pro_rating", "enabled", "mode",
    "settlement_mode", "phases", "duration", "rate_cards", "type", "price", "amount", "payment_term", "tiers",
    "up_to", "unit_price", "flat_price", "quantity_per_package", "minimum_amount", "maximum_amount", "feature",
    "feature_key", "tax", "tax_config", "behavior", "discounts", "percentage", "usage", "unit_config", "id", "start",
    "billing_anchor", "end", "years", "months", "weeks", "days", "hours", "minutes", "seconds",
})


# -- hostile values ------------------------------------------------------------------------------------

HOSTILE_KEY_SAMPLES = [
    "", "-lead", "_lead", "Upper", "UPPER", "a/b", "sub-1/phase", "a.b", "a b", "a\n", "\na", "a\x00b", "tab\there",
    "'; DROP TABLE invoices; --", "\" OR 1=1 --", "x'); DELETE FROM customers; --", "Robert'); DROP TABLE students;--",
    "k" * 65, "0" * 200, "ü", "ключ", "キー", "emoji-\U0001F600", "a\u202eb", "ａｂｃ", "..", "%s", "{0}", "$(rm -rf /)",
    "${jndi:ldap://x}", "a\\b", "a:b", "a,b", "a*b", "é-accent", "\u0000", " ", "a ", "İ", "ß",
]


def _invalid_key(text: str) -> bool:
    return not KEY_RE.fullmatch(text) or len(text) > 64


hostile_keys = st.one_of(
    st.sampled_from(HOSTILE_KEY_SAMPLES),
    st.text(min_size=0, max_size=80).filter(_invalid_key),
    st.text(alphabet="abcxyz0189_-", min_size=65, max_size=300).filter(lambda s: s[0] not in "_-"),
    ten_mb_strings,
)

junk_scalars = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(alphabet="qjzQJZ#%&!?", min_size=1, max_size=20),
)
junk_keys = st.one_of(
    st.text(min_size=1, max_size=30),
    st.sampled_from(["colour", "amout", "billing-cadence", "Key", "TYPE", "phase", "rate_card", "prices", "'; DROP",
                     "ключ", "\U0001F600", "k" * 70]),
    ten_mb_strings,
).filter(lambda k: k not in KNOWN_FIELDS)


_junk_tree = st.recursive(
    st.one_of(junk_scalars, st.none()),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3),
        st.dictionaries(junk_keys, inner, min_size=1, max_size=3),
    ),
    max_leaves=6,
)
#: A non-empty list, or a dict whose keys are no field name, with junk inside.
junk_containers = st.one_of(
    st.lists(_junk_tree, min_size=1, max_size=3),
    st.dictionaries(junk_keys, _junk_tree, min_size=1, max_size=3),
)


def deep_junk(depth: int, kind: str) -> Any:
    """A list or dict nested ``depth`` levels deep (built without recursion)."""
    node: Any = 1
    for level in range(depth):
        node = [node] if kind == "list" else {f"junk-{level}": node}
    return node


BAD_AMOUNTS = [
    "-1", "-0.01", "-1e-18", "1e15", "1000000000000000", "1000000000000000.5", "1e999999999", "-1e999999999",
    "1e-19", "0.0000000000000000001", "1e-999999999", "NaN", "nan", "sNaN", "Infinity", "-Infinity", "inf",
    "five", "1,5", "", " ", "0x10", "1e", "--1", "1.2.3", "½", "١٢", "5 USD", "$5", "1" + "0" * 70,
    "0." + "0" * 70 + "1", 1.5, 0.1, 1e20, float("nan"), float("inf"), -3, -(10**40), 10**15, 10**5000, True, False,
    [], ["5"], {"amount": "5"}, TEN_MB,
]
BAD_DURATIONS = [
    "P1X", "1 month", "", "P", "PT", "month", "P1M1Y", "PT1H1D", "P-1M", "-P1M", "-PT1H", "-P1D", "P10001Y",
    "P120001M", "P999999999999D", "P99999999999999999999Y", "PT1.0000001S", "PT0.0000001S", "P1.5M", "P0.5Y",
    "P1M" * 30, 5, -1, 1.5, True, [], ["P1M"], {"months": 1, "colour": 2}, TEN_MB,
]
ZERO_DURATIONS = ["PT0S", "P0D", "P0M", "P0Y", "PT0H0M0S", "P0W"]
SHORT_CADENCES = ["PT1M", "PT30M", "PT59M59S", "PT1S", "PT0.5S"]
CADENCE_CANDIDATES = ["P1W", "P2W", "P10D", "P5W", "P1M", "P2M", "P5M", "P7D", "P2D", "PT5H", "P1Y", "P3M", "P4W",
                      "P1DT1H", "PT25H", "P45D", "P1M1D"]
BAD_INSTANTS = [
    "2024-01-01T00:00:00", "2024-01-01", "2024-01-01 00:00:00", "2024-01-01T00:00:00.0000001Z",
    "2024-01-01T00:00:00.123456789+00:00", "yesterday", "now", "", "1700000000", "1700000000.5", 1700000000, 0,
    -1, 1.5, True, "2024-13-01T00:00:00Z", "2024-02-30T00:00:00Z", "2024-01-01T25:00:00Z", "2024-01-01T00:00:00+25:00",
    "0001-01-01T00:00:00+01:00", "24-01-01T00:00:00Z", "2024/01/01T00:00:00Z", "2024-01-01T00:00:00ZZ",
    "2024-01-01T00:00:00Z; DROP TABLE invoices", [], {"year": 2024}, TEN_MB,
]
BAD_FIAT = ["CREDITS", "XXX", "XAU", "XTS", "usd", "US", "USDD", "", "€", "US D", "'; DROP TABLE x; --", TEN_MB]
BAD_CUSTOM_CODES = ["credits", "C", "X" * 40, "CR EDITS", "1ABC", "", "CRÉDITS", "CREDITS\n"]

BAD_PRICES = [
    ({"type": "tiered", "mode": "volume", "tiers": [{"up_to": "10", "unit_price": "1"}, {"up_to": "5", "unit_price": "1"}]},
     "ascending"),
    ({"type": "tiered", "mode": "volume", "tiers": [{"up_to": "10", "unit_price": "1"}, {"up_to": "10", "unit_price": "2"}]},
     "ascending"),
    ({"type": "tiered", "mode": "graduated", "tiers": [{"unit_price": "1"}, {"up_to": "5", "unit_price": "1"}]},
     "open-ended"),
    ({"type": "tiered", "mode": "graduated", "tiers": []}, "tiers"),
    ({"type": "tiered", "mode": "graduated", "tiers": [{"up_to": "5"}]}, "tier needs"),
    ({"type": "unit", "amount": "1", "minimum_amount": "10", "maximum_amount": "5"}, "minimum_amount"),
    ({"type": "package", "amount": "1", "quantity_per_package": "0"}, "quantity_per_package"),
    ({"type": "flat", "amount": "5", "minimum_amount": "1"}, "commitments"),
    ({"type": "dynamic", "multiplier": "1.2"}, "unknown price type"),
    ({"amount": "5"}, "needs a type"),
    ({"type": "flat", "amount": "5", "currency": "EUR"}, "currency"),
    ({"type": "flat", "amount": "5", "currency": "'; DROP TABLE prices; --"}, "currency"),
]
