"""The demo's data: three customers, their subscriptions, usage and the changes made over two months.

- **Hooli** (``hooli-pro``): a platform fee billed in advance, a support retainer billed in arrears
  and API requests priced in graduated tiers; upgrades its platform fee mid-February.
- **Globex** (``globex-gpu``): seats billed in advance and metered GPU hours, with **progressive
  billing**: billing invoices the usage accrued so far in the middle of February.
- **Initech** (``initech-starter``): a starter plan, cancelled with effect from 20 February.

All three start on 2024-01-01; the demo's clock walks from there to 2024-03-02.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

UTC = dt.timezone.utc
NAMESPACE = "default"


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


START = at("2024-01-01T00:00:00")
LAST = at("2024-03-02T00:00:00")

SETUPS: dict[str, Any] = {
    "clock": "2024-01-01T00:00:00Z",
    "meters": [{"key": "api-requests", "aggregation": "sum"}, {"key": "gpu-hours", "aggregation": "sum"}],
    "setups": [
        {
            "customer": {"key": "hooli", "name": "Hooli"},
            "plan": {"key": "pro", "currency": "USD", "billing_cadence": "P1M", "phases": [{"key": "default", "rate_cards": [
                {"key": "platform-fee", "name": "Platform fee", "type": "flat_fee", "billing_cadence": "P1M",
                 "price": {"type": "flat", "amount": "49", "payment_term": "in_advance"}},
                {"key": "support", "name": "Support retainer", "type": "flat_fee", "billing_cadence": "P1M",
                 "price": {"type": "flat", "amount": "20", "payment_term": "in_arrears"}},
                {"key": "api-requests", "name": "API requests", "type": "usage_based", "feature": "api-requests",
                 "billing_cadence": "P1M", "price": {"type": "tiered", "mode": "graduated", "tiers": [
                     {"up_to": "10000", "unit_price": "0"}, {"up_to": None, "unit_price": "0.001"}]}},
            ]}]},
            "subscription": {"id": "hooli-pro", "name": "Hooli Pro"},
        },
        {
            "customer": {"key": "globex", "name": "Globex",
                         "billing_profile": {"invoicing": {"progressive_billing": True}}},
            "plan": {"key": "gpu-cloud", "currency": "USD", "billing_cadence": "P1M", "phases": [{"key": "default", "rate_cards": [
                {"key": "seats", "name": "Seats (5)", "type": "flat_fee", "billing_cadence": "P1M",
                 "price": {"type": "flat", "amount": "250", "payment_term": "in_advance"}},
                {"key": "gpu-hours", "name": "GPU hours", "type": "usage_based", "feature": "gpu-hours",
                 "billing_cadence": "P1M", "price": {"type": "unit", "amount": "2.5"}},
            ]}]},
            "subscription": {"id": "globex-gpu", "name": "Globex GPU cloud"},
        },
        {
            "customer": {"key": "initech", "name": "Initech"},
            "plan": {"key": "starter", "currency": "USD", "billing_cadence": "P1M", "phases": [{"key": "default", "rate_cards": [
                {"key": "starter-fee", "name": "Starter plan", "type": "flat_fee", "billing_cadence": "P1M",
                 "price": {"type": "flat", "amount": "29", "payment_term": "in_advance"}},
            ]}]},
            "subscription": {"id": "initech-starter", "name": "Initech starter"},
        },
    ],
}

#: (customer, meter, [(time, value)]): usage ingested by the demo.
JANUARY_USAGE = [
    ("hooli", "api-requests", [("2024-01-08T10:00:00", "6000"), ("2024-01-19T16:30:00", "9500")]),
    ("globex", "gpu-hours", [("2024-01-12T00:00:00", "40"), ("2024-01-26T00:00:00", "22")]),
]
FEBRUARY_USAGE = [
    ("hooli", "api-requests", [("2024-02-06T09:00:00", "12000")]),
    ("globex", "gpu-hours", [("2024-02-04T00:00:00", "30"), ("2024-02-13T00:00:00", "18"),
                             ("2024-02-22T00:00:00", "25")]),
]

#: Hooli's upgrade: from 15 February the platform fee is 99 instead of 49.
UPGRADED_PLATFORM_FEE = {"key": "platform-fee", "name": "Platform fee (Business)", "type": "flat_fee",
                         "billing_cadence": "P1M", "price": {"type": "flat", "amount": "99", "payment_term": "in_advance"}}


__all__ = ["FEBRUARY_USAGE", "JANUARY_USAGE", "LAST", "NAMESPACE", "SETUPS", "START", "UPGRADED_PLATFORM_FEE", "at"]
