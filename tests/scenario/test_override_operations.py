"""The customer charge API steps of the runner: ``set_override`` / ``clear_override`` by charge identity or
``manual/<key>``, their refusals, and the manual flat-fee route of ``create_line`` (scenario-format §2,
charges.md §1.3, §3.6)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from subsync.scenario import run_scenario

SETUP = """\
name: override operations
clock: 2024-01-01T00:00:00Z
settings: {{credits: {credits}}}
plan:
  key: test-plan
  currency: USD
  billing_cadence: P1M
  pro_rating: {{enabled: true, mode: prorate_prices}}
  settlement_mode: credit_then_invoice
  phases:
    - key: first-phase
      rate_cards:
        - {{key: fee, type: flat_fee, price: {{type: flat, amount: "6", payment_term: in_advance}}, billing_cadence: P1M}}
steps:
  - do: sync
    as_of: 2024-01-05T00:00:00Z
"""
FEE = "sub-1/first-phase/fee/v[0]/period[0]"


def run(tmp_path: Path, steps: str, *, credits: bool = True):  # type: ignore[no-untyped-def]
    path = tmp_path / "scenario.yaml"
    path.write_text(SETUP.format(credits=str(credits).lower()) + textwrap.indent(textwrap.dedent(steps), "  "),
                    encoding="utf-8")
    return run_scenario(path)


def charge(state, name: str):  # type: ignore[no-untyped-def]
    return next(c for c in state["charges"] if name in (c["identity"], c["ref"]))


def gathering_line(state, name: str):  # type: ignore[no-untyped-def]
    return next(li for li in state["invoices"][0]["lines"] if name in (li["identity"], li["ref"]))


def test_set_then_clear_override_by_identity(tmp_path):
    result = run(tmp_path, f"""
        - do: set_override
          charge: "{FEE}"
          set: {{amount_before_proration: "9", name: discounted fee}}
        - do: clear_override
          charge: "{FEE}"
    """)
    overridden, cleared = result.states[1], result.states[2]
    assert overridden["error"] is None
    assert charge(overridden, FEE)["override"]["amount_before_proration"] == "9"
    assert charge(overridden, FEE)["amount_before_proration"] == "9.00"
    line = gathering_line(overridden, FEE)
    assert (line["per_unit_amount"], line["managed_by"], line["name"]) == ("9.00", "manual", "discounted fee")
    assert cleared["error"] is None and charge(cleared, FEE)["override"] is None
    line = gathering_line(cleared, FEE)
    assert (line["per_unit_amount"], line["managed_by"]) == ("6.00", "subscription")


def test_a_manual_line_charge_is_named_by_its_key(tmp_path):
    result = run(tmp_path, """
        - do: create_line
          invoice: gathering
          key: setup
          line: {name: setup, service_period: ["2024-01-10T00:00:00Z", "2024-01-20T00:00:00Z"], price: {type: flat, amount: "3"}}
        - do: set_override
          charge: manual/setup
          set: {amount_before_proration: "4"}
    """)
    created, overridden = result.states[1], result.states[2]
    assert created["error"] is None and charge(created, "manual/setup")["identity"] is None
    assert overridden["error"] is None
    line = gathering_line(overridden, "manual/setup")
    assert (line["engine"], line["per_unit_amount"]) == ("charge_flatfee", "4.00")


def test_override_refusals_name_the_problem_and_change_nothing(tmp_path):
    result = run(tmp_path, f"""
        - do: set_override
          charge: "sub-1/first-phase/nope/v[0]/period[0]"
          set: {{name: x}}
        - do: set_override
          charge: "{FEE}"
          set: {{colour: blue}}
        - do: set_override
          charge: "{FEE}"
          set: {{intent_deleted_at: "2024-01-02T00:00:00Z"}}
    """)
    missing, unknown, deleting = result.states[1:]
    assert missing["error"]["type"] == "NotFoundError"
    assert unknown["error"]["type"] == "ValidationError" and "colour" in unknown["error"]["message"]
    assert deleting["error"]["type"] == "ValidationError" and "intent_deleted_at" in deleting["error"]["message"]
    for state in (missing, unknown, deleting):
        assert state["charges"] == result.states[0]["charges"] and state["invoices"] == result.states[0]["invoices"]


def test_override_steps_need_the_credits_backend(tmp_path):
    result = run(tmp_path, f"""
        - do: clear_override
          charge: "{FEE}"
    """, credits=False)
    assert result.states[1]["error"]["type"] == "ValidationError"
    assert "credits backend" in result.states[1]["error"]["message"]


def test_without_credits_an_api_line_stays_a_plain_line(tmp_path):
    result = run(tmp_path, """
        - do: create_line
          invoice: gathering
          key: setup
          line: {name: setup, service_period: ["2024-01-10T00:00:00Z", "2024-01-20T00:00:00Z"], price: {type: flat, amount: "3"}}
    """, credits=False)
    line = gathering_line(result.states[1], "manual/setup")
    assert (line["engine"], line["charge"], result.states[1]["charges"]) == ("invoicing", None, [])
