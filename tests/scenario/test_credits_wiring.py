"""The runner's ``settings.credits`` / ``configure`` wiring of the charges backend (scenario-format §1, §2)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from subsync.scenario import run_scenario

SETUP = """\
name: credits wiring
clock: 2024-01-01T00:00:00Z
{settings}
plan:
  key: test-plan
  currency: USD
  billing_cadence: P1M
  {settlement}
  phases:
    - key: first-phase
      rate_cards:
        - {{key: fee, type: flat_fee, price: {{type: flat, amount: "6", payment_term: in_advance}}, billing_cadence: P1M}}
        - {{key: api, type: usage_based, feature: api-requests-total, price: {{type: unit, amount: "2"}}, billing_cadence: P1M}}
steps:
"""
FEE = "sub-1/first-phase/fee/v[0]/period[0]"
FEE_NEXT = "sub-1/first-phase/fee/v[0]/period[1]"
API = "sub-1/first-phase/api/v[0]/period[0]"


def run(tmp_path: Path, steps: str, *, settings: str = "", settlement: str = ""):
    path = tmp_path / "scenario.yaml"
    text = SETUP.format(settings=settings, settlement=settlement)
    path.write_text(text + textwrap.indent(textwrap.dedent(steps), "  "), encoding="utf-8")
    return run_scenario(path)


def engines(state) -> list[str]:
    return sorted(line["engine"] for invoice in state["invoices"] for line in invoice["lines"] if not line["deleted"])


def test_credits_on_routes_items_to_charges_that_own_their_gathering_lines(tmp_path):
    result = run(tmp_path, """
        - do: sync
          as_of: 2024-01-15T00:00:00Z
    """, settings="settings: {credits: true}")
    (state,) = result.states
    assert state["error"] is None
    assert sorted((c["type"], c["identity"], c["status"]) for c in state["charges"]) == [
        ("flat_fee", FEE, "created"), ("flat_fee", FEE_NEXT, "created"), ("usage_based", API, "created"),
    ]
    assert engines(state) == ["charge_flatfee", "charge_flatfee", "charge_usagebased"]
    assert {line["charge"] for line in state["invoices"][0]["lines"]} == {FEE, FEE_NEXT, API}


def test_configure_turns_credits_on_mid_scenario_and_old_lines_keep_their_backend(tmp_path):
    result = run(tmp_path, """
        - do: sync
          as_of: 2024-01-15T00:00:00Z
        - do: configure
          settings: {credits: true}
        - at: 2024-02-15T00:00:00Z
          do: sync
    """)
    first, _, last = result.states
    assert engines(first) == ["invoicing"] * 3 and first["charges"] == []
    assert [e for e in engines(last) if e != "invoicing"] == ["charge_flatfee", "charge_usagebased"]
    assert engines(last).count("invoicing") == 3  # what was synced before keeps its invoice lines
    assert sorted(c["identity"] for c in last["charges"]) == [
        "sub-1/first-phase/api/v[0]/period[1]", "sub-1/first-phase/fee/v[0]/period[2]"]


def test_credit_only_plan_with_credits_off_fails_its_sync_with_a_validation_error(tmp_path):
    result = run(tmp_path, """
        - do: sync
    """, settlement="settlement_mode: credit_only")
    (state,) = result.states
    assert state["error"]["type"] == "ValidationError"
    assert state["charges"] == [] and state["invoices"] == []


def test_advance_charges_advances_due_charges_of_the_customer(tmp_path):
    result = run(tmp_path, """
        - do: sync
          as_of: 2024-01-15T00:00:00Z
        - at: 2024-02-01T00:00:00Z
          do: advance_charges
    """, settings="settings: {credits: true}", settlement="settlement_mode: credit_only")
    synced, advanced = result.states
    status = {c["identity"]: c["status"] for c in synced["charges"]}
    assert status["sub-1/first-phase/fee/v[0]/period[1]"] == "created"
    status = {c["identity"]: c["status"] for c in advanced["charges"]}
    assert status["sub-1/first-phase/fee/v[0]/period[1]"] == "final"
    assert advanced["credits"] == {"balance": "-12.00", "available": "0.00"}
