"""The runner on small scenario files: the clock, per-step transactions, references, the operations of
the step table, error categories in the STATE, the outputs and the exit codes."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from subsync.scenario import EXIT_FAILED, EXIT_OK, exit_code, render_json, render_text, run_for_cli, run_scenario

SETUP = """\
name: runner check
clock: 2024-01-01T00:00:00Z
{extra}
plan:
  key: test-plan
  currency: USD
  billing_cadence: P1M
  pro_rating: {{enabled: true, mode: prorate_prices}}
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
HEX_ID = re.compile(r"\b[0-9a-f]{32}\b")


def scenario(tmp_path: Path, steps: str, extra: str = "") -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(SETUP.format(extra=extra) + textwrap.indent(textwrap.dedent(steps), "  "), encoding="utf-8")
    return path


def run(tmp_path: Path, steps: str, extra: str = ""):
    return run_scenario(scenario(tmp_path, steps, extra))


def invoice(state, ref):
    return next(i for i in state["invoices"] if i["ref"] == ref)


def live_identities(state, ref):
    return sorted(line["identity"] or line["ref"] for line in invoice(state, ref)["lines"] if not line["deleted"])


# -- the clock --------------------------------------------------------------------------------------------


def test_at_moves_the_clock_and_operations_default_to_it(tmp_path):
    result = run(tmp_path, """
        - do: sync
          as_of: 2024-01-15T00:00:00Z
        - at: 2024-01-01T12:00:00Z
          do: invoice_pending
        - do: usage
          events: [{time: 2024-01-03T00:00:00Z, value: 4}]
        - at: 2024-02-01T00:00:00Z
          do: invoice_pending
    """)
    states = result.states
    assert [s["at"] for s in states] == [
        "2024-01-01T00:00:00Z", "2024-01-01T12:00:00Z", "2024-01-01T12:00:00Z", "2024-02-01T00:00:00Z",
    ]
    assert states[0]["sync_state"]["synced_at"] == "2024-01-01T00:00:00Z"
    # invoice_pending's as_of defaults to the clock: at 12:00 only the in-advance fee is due …
    assert live_identities(states[1], "standard[0]") == [FEE]
    # … and at 02-01 the usage line (quantity metered at collection) and the next fee are.
    assert live_identities(states[3], "standard[1]") == sorted([API, FEE_NEXT])
    api_line = next(l for l in invoice(states[3], "standard[1]")["lines"] if l["identity"] == API)
    assert (api_line["quantity"], api_line["totals"]["total"]) == ("4", "8.00")


# -- failing steps ------------------------------------------------------------------------------------------


def test_a_failing_step_rolls_back_everything_it_wrote(tmp_path):
    """The usage step ingests the first meter's events, then fails on an unknown meter: nothing stays."""
    result = run(tmp_path, """
        - do: sync
          as_of: 2024-01-15T00:00:00Z
        - do: usage
          events:
            - {time: 2024-01-03T00:00:00Z, value: 4}
            - {time: 2024-01-03T00:00:00Z, value: 5, meter: no-such-meter}
          expect:
            error: {type: NotFoundError, message_contains: no-such-meter}
        - at: 2024-02-01T00:00:00Z
          do: invoice_pending
          expect:
            invoices:
              "standard[0]":
                lines_contain: [{identity: "sub-1/first-phase/api/v[0]/period[0]", quantity: "0"}]
    """)
    assert result.ok, render_text(result)
    failed = result.states[1]
    assert failed["error"]["type"] == "NotFoundError"
    assert {k: v for k, v in failed.items() if k not in ("step", "do", "error")} == {
        k: v for k, v in result.states[0].items() if k not in ("step", "do", "error", "plan")
    } | {"plan": None}


def test_a_failing_subscription_edit_keeps_the_previous_view(tmp_path):
    result = run(tmp_path, """
        - do: edit_subscription
          ops:
            - remove_item: {phase: first-phase, item: fee}
            - remove_item: {phase: first-phase, item: no-such-item}
          expect:
            error: {type: ValidationError, message_contains: "no-such-item"}
        - do: sync
          as_of: 2024-01-15T00:00:00Z
          expect:
            gathering:
              lines_contain: [{identity: "sub-1/first-phase/fee/v[0]/period[0]", per_unit_amount: "6.00"}]
    """)
    assert result.ok, render_text(result)


def test_an_unexpected_error_fails_the_step_and_the_run(tmp_path):
    result = run(tmp_path, """
        - do: approve_invoice
          invoice: latest
    """)
    assert not result.ok and exit_code(result) == EXIT_FAILED
    (failure,) = result.failures
    assert (failure.step, failure.path, failure.expected) == (0, "error", None)
    assert failure.actual["type"] == "NotFoundError"
    assert "no standard invoice" in failure.actual["message"]


@pytest.mark.parametrize(
    ("steps", "category"),
    [
        ('- do: grant_credits\n  amount: "0"', "ValidationError"),
        ('- do: purchase_credits\n  key: topup\n  amount: "0"\n  settlement: promotional', "ValidationError"),
        ("- do: external_payment\n  purchase: nobody\n  event: authorized", "NotFoundError"),
        ("- do: void_invoice\n  invoice: standard[3]", "NotFoundError"),
        ('- do: edit_line\n  invoice: gathering\n  line: "x"\n  set: {name: y}', "NotFoundError"),
        ("- do: continue", "ValidationError"),
        ("- do: sync\n  as_of: 2024-01-15T00:00:00Z\n- do: invoice_pending\n- do: approve_invoice\n  invoice: latest\n"
         "- do: approve_invoice\n  invoice: latest", "IllegalTransitionError"),
        ("- do: sync\n  as_of: 2024-01-15T00:00:00Z\n- do: invoice_pending\n- do: approve_invoice\n  invoice: latest\n"
         f'- do: edit_line\n  invoice: latest\n  line: "{FEE}"\n  set: {{name: renamed}}', "ConflictError"),
        ("- do: sync\n  as_of: 2024-01-15T00:00:00Z\n- do: invoice_pending\n- do: invoice_pending", "ValidationError"),
    ],
    ids=["grant-nothing", "purchase-nothing", "unknown-purchase", "no-such-invoice", "no-such-line",
         "continue-without-cancel", "approve-twice", "edit-paid-line", "nothing-to-invoice"],
)
def test_failed_steps_show_their_error_category(tmp_path, steps, category):
    result = run(tmp_path, textwrap.indent(steps, ""))
    last = result.states[-1]
    assert last["error"] is not None and last["error"]["type"] == category, last["error"]
    assert all(s["error"] is None for s in result.states[:-1])
    assert not HEX_ID.search(last["error"]["message"]), "no database ids in error messages"


# -- references and lines ------------------------------------------------------------------------------------


def test_invoice_references_and_manual_lines(tmp_path):
    result = run(tmp_path, """
        - do: sync
          as_of: 2024-01-15T00:00:00Z
        - do: create_line
          invoice: gathering
          key: setup-fee
          line: {name: Setup, service_period: [2024-01-01T00:00:00Z, 2024-01-01T00:00:00Z], price: {type: flat, amount: "1.5"}}
        - do: invoice_pending
          expect:
            invoices:
              latest: {lines: [{identity: "sub-1/first-phase/fee/v[0]/period[0]"}, {ref: manual/setup-fee, managed_by: manual, per_unit_amount: "1.50"}]}
        - do: edit_line
          invoice: {containing: "sub-1/first-phase/fee/v[0]/period[0]"}
          line: manual/setup-fee
          set: {per_unit_amount: "2.5", name: Setup v2}
          expect:
            invoices:
              "standard[0]":
                totals: {total: "8.50"}
                lines_contain: [{ref: manual/setup-fee, name: Setup v2, per_unit_amount: "2.50"}]
        - do: delete_line
          invoice: standard[0]
          line: manual/setup-fee
          expect:
            invoices:
              "standard[0]":
                totals: {total: "6.00"}
                lines: [{identity: "sub-1/first-phase/fee/v[0]/period[0]"}]
                lines_contain: [{ref: manual/setup-fee, deleted: true}]
        - do: create_line
          invoice: standard[0]
          key: setup-fee
          line: {name: Again, service_period: [2024-01-01T00:00:00Z, 2024-01-02T00:00:00Z], price: {type: flat, amount: "1"}}
          expect:
            error: {type: ValidationError, message_contains: "already used"}
    """)
    assert result.ok, render_text(result)


def test_an_ambiguous_containing_reference_is_refused(tmp_path):
    """Progressive billing leaves a split child on the draft and one on the gathering invoice."""
    result = run(tmp_path, """
        - do: sync
          as_of: 2024-01-15T00:00:00Z
        - at: 2024-01-10T00:00:00Z
          do: invoice_pending
          progressive: true
          expect:
            invoices:
              "standard[0]": {lines_contain: [{identity: "sub-1/first-phase/api/v[0]/period[0]", service_period: ["2024-01-01T00:00:00Z", "2024-01-10T00:00:00Z"]}]}
              gathering: {lines_contain: [{identity: "sub-1/first-phase/api/v[0]/period[0]", service_period: ["2024-01-10T00:00:00Z", "2024-02-01T00:00:00Z"]}]}
        - do: approve_invoice
          invoice: {containing: "sub-1/first-phase/api/v[0]/period[0]"}
          expect:
            error: {type: ValidationError, message_contains: "several invoices"}
    """)
    assert result.ok, render_text(result)


def test_lifecycle_operations_with_a_manual_payment_app(tmp_path):
    result = run(tmp_path, """
        - do: sync
          as_of: 2024-01-15T00:00:00Z
        - do: invoice_pending
        - do: approve_invoice
          invoice: latest
          expect: {invoices: {latest: {status: payment_processing.pending}}}
        - do: payment
          invoice: latest
          event: authorized
          expect: {invoices: {latest: {status: payment_processing.authorized}}}
        - do: payment
          invoice: latest
          event: paid
          expect: {invoices: {latest: {status: paid}}}
    """, extra="payment_app: manual")
    assert result.ok, render_text(result)


def test_advance_void_and_delete_invoices(tmp_path):
    result = run(tmp_path, """
        - do: sync
          as_of: 2024-01-15T00:00:00Z
        - do: invoice_pending
          expect: {invoice_count: {standard: 1}, invoices: {"standard[0]": {status: draft.waiting_auto_approval}}}
        - do: delete_invoice
          invoice: standard[0]
          expect: {invoice_count: {standard: 0}, invoices: {"standard[0]": {status: deleted}}}
        - at: 2024-02-01T00:00:00Z
          do: invoice_pending
          expect: {invoice_count: {standard: 1}}
        - at: 2024-02-03T00:00:00Z
          do: advance_invoice
          invoice: standard[1]
          expect: {invoices: {"standard[1]": {status: payment_processing.pending}}}
        - do: void_invoice
          invoice: standard[1]
          expect: {invoices: {"standard[1]": {status: voided}}}
    """, extra="payment_app: manual")
    assert result.ok, render_text(result)


# -- subscription operations and sync -------------------------------------------------------------------------


def test_dry_run_plans_without_writing(tmp_path):
    result = run(tmp_path, """
        - do: sync
          as_of: 2024-01-15T00:00:00Z
          dry_run: true
          expect:
            plan_contains: ["+ create invoice.line sub-1/first-phase/fee/v[0]/period[0]: @ gathering"]
            invoice_count: {gathering: 0, standard: 0}
            sync_state: null
        - do: sync
          as_of: 2024-01-15T00:00:00Z
          expect:
            invoice_count: {gathering: 1}
        - do: sync
          as_of: 2024-01-15T00:00:00Z
          dry_run: true
          expect: {plan: null}
    """)
    assert result.ok, render_text(result)
    assert result.states[0]["plan"].splitlines()[1:] == result.states[1]["plan"].splitlines()[1:]
    assert "basis=" not in result.states[0]["plan"], "the basis hashes database ids: left out"


def test_cancel_continue_delete_and_deleted_customer(tmp_path):
    result = run(tmp_path, """
        - do: sync
          as_of: 2024-01-15T00:00:00Z
        - do: cancel
          effective_at: 2024-01-11T00:00:00Z
        - do: sync
          as_of: 2024-01-15T00:00:00Z
          expect:
            gathering:
              lines:
                - {identity: "sub-1/first-phase/fee/v[0]/period[0]", per_unit_amount: "1.94", service_period: ["2024-01-01T00:00:00Z", "2024-01-11T00:00:00Z"]}
                - {identity: "sub-1/first-phase/api/v[0]/period[0]", service_period: ["2024-01-01T00:00:00Z", "2024-01-11T00:00:00Z"]}
            sync_state: {has_billables: true}
        - do: continue
        - do: sync
          as_of: 2024-01-15T00:00:00Z
          expect:
            gathering:
              lines_contain: [{identity: "sub-1/first-phase/fee/v[0]/period[0]", per_unit_amount: "6.00"}]
        - do: delete_subscription
        - do: sync
          expect:
            gathering: none
            sync_state: {has_billables: false, next_sync_after: null}
        - do: delete_customer
          expect: {error: null}
    """)
    assert result.ok, render_text(result)


# -- outputs and exit codes ---------------------------------------------------------------------------------------


def test_json_document_and_text_report(tmp_path):
    path = scenario(tmp_path, """
        - do: sync
          as_of: 2024-01-15T00:00:00Z
          expect:
            gathering:
              lines_contain: [{identity: "sub-1/first-phase/fee/v[0]/period[0]", per_unit_amount: "7.00"}]
    """)
    result = run_scenario(path)
    document = json.loads(render_json(result))
    assert document["name"] == "runner check"
    assert [s["step"] for s in document["steps"]] == [0]
    assert list(document["steps"][0]) == [
        "step", "at", "do", "error", "invoice_count", "plan", "invoices", "charges", "credit_purchases", "credits",
        "sync_state",
    ]
    assert document["expectations"]["failed"] == [{
        "step": 0, "path": f"gathering.lines[{FEE}].per_unit_amount", "expected": "7.00", "actual": "6.00",
    }]
    assert not HEX_ID.search(render_json(result))

    text = render_text(result)
    assert "[0] 2024-01-01T00:00:00Z sync as_of=2024-01-15T00:00:00Z … FAILED (1)" in text
    assert f"+ create invoice.line {FEE}: @ gathering" in text
    assert f"expectation failed: gathering.lines[{FEE}].per_unit_amount" in text
    assert "expected: 7.00" in text and "actual:   6.00" in text

    for output, parse in (("json", json.loads), ("text", str)):
        printed, code = run_for_cli(path, output=output)
        assert code == EXIT_FAILED
        parse(printed)


def test_exit_code_zero_and_step_limit(tmp_path):
    path = scenario(tmp_path, """
        - do: sync
          as_of: 2024-01-15T00:00:00Z
          expect: {invoice_count: {gathering: 1}}
        - do: invoice_pending
          expect: {invoice_count: {standard: 2}}
    """)
    assert exit_code(run_scenario(path)) == EXIT_FAILED
    limited = run_scenario(path, step=0)
    assert len(limited.states) == 1 and exit_code(limited) == EXIT_OK
    assert run_for_cli(path, step=0)[1] == EXIT_OK
