"""``subsync targets`` run as the installed console script (scenario-format §5).

Expected amounts are computed by hand from targetstate §8.3: the paid phase of the example fixture
starts 2024-01-15 on a 2024-01-01 anchor, so its first month is prorated by 17/31 days
(0.5483870967741935): 49 → 26.87 and 20 → 10.97.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "fixtures" / "example-subscription.yaml"
SUBSYNC = Path(sys.executable).parent / "subsync"


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    if not SUBSYNC.exists():
        pytest.fail(f"the console script {SUBSYNC} is not installed (pip install -e '.[test]')")
    return subprocess.run([str(SUBSYNC), *map(str, args)], capture_output=True, text=True, timeout=60, cwd=ROOT)


def targets_json(*args: str | Path) -> dict:
    result = run("targets", *args, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def write(tmp_path: Path, text: str, name: str = "setup.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_json_of_the_example_mid_february():
    doc = targets_json(FIXTURE, "--as-of", "2024-02-10T00:00:00Z")
    items = {item["identity"]: item for item in doc["items"]}
    amounts = {identity: item["amount"] for identity, item in items.items()}
    assert amounts == {
        "acme-pro/paid/onboarding/v[0]": "99.00",
        "acme-pro/paid/platform-fee/v[0]/period[0]": "26.87",
        "acme-pro/paid/platform-fee/v[0]/period[1]": "49.00",
        "acme-pro/paid/platform-fee/v[0]/period[2]": "49.00",  # in advance, due at the horizon 03-01
        "acme-pro/paid/support/v[0]/period[0]": "10.97",
        "acme-pro/paid/support/v[0]/period[1]": "20.00",
        "acme-pro/paid/api-requests/v[0]/period[0]": None,
        "acme-pro/paid/api-requests/v[0]/period[1]": None,
    }
    first = items["acme-pro/paid/platform-fee/v[0]/period[0]"]
    assert first["service_period"] == ["2024-01-15T00:00:00Z", "2024-02-01T00:00:00Z"]
    assert first["full_service_period"] == ["2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z"]
    assert first["billing_period"] == ["2024-01-15T00:00:00Z", "2024-02-01T00:00:00Z"]
    assert first["invoice_at"] == "2024-01-15T00:00:00Z"
    assert first["price"] == {"type": "flat", "amount": "49", "payment_term": "in_advance"}
    support = items["acme-pro/paid/support/v[0]/period[0]"]
    assert support["invoice_at"] == "2024-02-01T00:00:00Z"
    onboarding = items["acme-pro/paid/onboarding/v[0]"]
    assert onboarding["service_period"] == ["2024-01-15T00:00:00Z", "2024-01-15T00:00:00Z"]
    usage = items["acme-pro/paid/api-requests/v[0]/period[1]"]
    assert usage["invoice_at"] == "2024-03-01T00:00:00Z"
    assert usage["price"]["type"] == "tiered"
    assert doc["next_sync_after"] == "2024-03-01T00:00:00Z"


def test_default_as_of_is_the_clock_and_the_free_trial_lets_the_paid_phase_pre_provision():
    doc = targets_json(FIXTURE)
    assert {i["identity"]: i["amount"] for i in doc["items"]} == {
        "acme-pro/paid/onboarding/v[0]": "99.00",
        "acme-pro/paid/platform-fee/v[0]/period[0]": "26.87",
    }
    assert doc["next_sync_after"] == "2024-01-15T00:00:00Z"


def test_table_shows_identities_periods_and_amounts():
    result = run("targets", FIXTURE, "--as-of", "2024-02-10T00:00:00Z")
    assert result.returncode == 0, result.stderr
    rows = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if line.startswith("│")}
    assert len(rows) == 8
    platform = rows["acme-pro/paid/platform-fee/v[0]/period[0]"]
    assert "2024-01-15T00:00:00Z → 2024-02-01T00:00:00Z" in platform
    assert "2024-01-01T00:00:00Z → 2024-02-01T00:00:00Z" in platform
    assert "26.87 USD" in platform
    assert "usage" in rows["acme-pro/paid/api-requests/v[0]/period[0]"]
    assert "acme-pro" in result.stdout and "as of 2024-02-10T00:00:00Z" in result.stdout
    assert "next sync after: 2024-03-01T00:00:00Z" in result.stdout


SMALL = """
clock: 2024-01-01T00:00:00Z
customer:
  billing_profile: {{invoicing: {{subscription_end_proration_mode: {mode}}}}}
plan:
  phases:
    - key: default
      rate_cards:
        - {{key: fee, type: flat_fee, price: {{type: flat, amount: "31"}}, billing_cadence: P1M}}
        - {{key: free, type: flat_fee, price: {{type: flat, amount: "0"}}, billing_cadence: P1M}}
        - {{key: unpriced, type: flat_fee, price: null, billing_cadence: P1M}}
        - {{key: closing, type: flat_fee, price: {{type: flat, amount: "5", payment_term: in_arrears}}}}
subscription:
  end: {end}
"""


def test_non_billable_and_zero_amount_items_are_left_out(tmp_path):
    # Open-ended, the one-time in-arrears fee is not billable; the zero fee rounds to zero.
    doc = targets_json(write(tmp_path, SMALL.format(mode="bill_actual_period", end="null")))
    assert [i["identity"] for i in doc["items"]] == ["sub-1/default/fee/v[0]/period[0]"]
    assert doc["items"][0]["amount"] == "31.00"


@pytest.mark.parametrize("mode, amount", [("bill_actual_period", "19.00"), ("bill_full_period", "31.00")])
def test_end_proration_mode_comes_from_the_customer_billing_profile(tmp_path, mode, amount):
    # Cancelled on 01-20: 19 of 31 days, unless the profile bills the last period in full.
    doc = targets_json(write(tmp_path, SMALL.format(mode=mode, end="2024-01-20T00:00:00Z")))
    amounts = {i["identity"]: i["amount"] for i in doc["items"]}
    assert amounts["sub-1/default/fee/v[0]/period[0]"] == amount
    assert amounts["sub-1/default/closing/v[0]"] == "5.00"  # billable once the subscription has an end
    # as_of (the clock) is a billing-period start, so the horizon stays at as_of (targetstate §5.3).
    assert doc["next_sync_after"] == "2024-01-01T00:00:00Z"


def test_a_file_with_several_setups_prints_one_document_each(tmp_path):
    path = write(
        tmp_path,
        """
        clock: 2024-01-01T00:00:00Z
        setups:
          - subscription: {id: one}
            plan: {phases: [{key: p, rate_cards: [{key: fee, type: flat_fee, price: {type: flat, amount: "1"}, billing_cadence: P1M}]}]}
          - subscription: {id: two}
            plan: {phases: [{key: p, rate_cards: [{key: fee, type: flat_fee, price: {type: flat, amount: "2"}, billing_cadence: P1M}]}]}
        """,
    )
    docs = targets_json(path)
    assert [[(i["identity"], i["amount"]) for i in d["items"]] for d in docs] == [
        [("one/p/fee/v[0]/period[0]", "1.00")],
        [("two/p/fee/v[0]/period[0]", "2.00")],
    ]


MALFORMED = [
    ("negative amount",
     """
     clock: 2024-01-01T00:00:00Z
     plan: {phases: [{key: trial, rate_cards: [{key: in-advance, type: flat_fee, price: {type: flat, amount: "-1"}}]}]}
     """,
     "phase 'trial', rate card 'in-advance': price.amount: must not be negative, got -1"),
    ("unknown price type",
     """
     clock: 2024-01-01T00:00:00Z
     plan: {phases: [{key: trial, rate_cards: [{key: api, type: usage_based, billing_cadence: P1M, price: {type: dynamic}}]}]}
     """,
     "phase 'trial', rate card 'api': price: unknown price type 'dynamic'"),
    ("naive clock",
     """
     clock: 2024-01-01T00:00:00
     plan: {phases: [{key: trial, rate_cards: []}]}
     """,
     "clock: must be a timezone-aware instant"),
    ("not YAML", "plan: [unclosed\n", "not valid YAML at line"),
]


@pytest.mark.parametrize("text, message", [(t, m) for _, t, m in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_malformed_file_exits_2_with_one_line_naming_file_and_object(tmp_path, text, message):
    path = write(tmp_path, text, name="broken.yaml")
    result = run("targets", path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {path}: ")
    assert message in lines[0]
    assert "Traceback" not in result.stderr


def test_missing_file_and_bad_as_of_exit_2(tmp_path):
    missing = run("targets", tmp_path / "nope.yaml")
    assert missing.returncode == 2 and "nope.yaml" in missing.stderr and "cannot read" in missing.stderr
    bad = run("targets", FIXTURE, "--as-of", "2024-02-10")
    assert bad.returncode == 2
    assert "--as-of: must be a timezone-aware instant" in bad.stderr


def test_help_and_version():
    top = run("--help")
    assert top.returncode == 0 and "targets" in top.stdout
    sub = run("targets", "--help")
    assert sub.returncode == 0
    assert "--as-of" in sub.stdout and "--format" in sub.stdout
    version = run("--version")
    assert version.returncode == 0
    from subsync import __version__

    assert version.stdout.strip() == f"subsync {__version__}"
