"""The credit operations of the scenario format (scenario-format §2: ``grant_credits``,
``purchase_credits`` with each settlement, ``external_payment``, ``advance_charges``) and the
``credit_purchases`` / ``credits`` keys of the STATE (§3), through ``subsync.scenario.run_scenario``."""

from __future__ import annotations

import textwrap

from subsync.scenario.runner import run_scenario

SETUP = """\
name: credit purchases
clock: 2024-01-01T00:00:00Z
payment_app: {payment_app}
plan:
  key: test-plan
  currency: USD
  billing_cadence: P1M
  phases:
    - key: default
      rate_cards:
        - {{key: fee, type: flat_fee, price: null}}
steps:
"""


def run(tmp_path, steps: str, payment_app: str = "manual"):  # type: ignore[no-untyped-def]
    path = tmp_path / "scenario.yaml"
    path.write_text(SETUP.format(payment_app=payment_app) + textwrap.indent(textwrap.dedent(steps), "  "))
    result = run_scenario(path)
    assert result.ok, [failure.as_dict() for failure in result.failures]
    return result.states


def test_grant_credits_is_a_final_promotional_purchase_and_raises_the_balance(tmp_path):
    states = run(tmp_path, """
        - do: grant_credits
          amount: "25"
          expect:
            credits: {balance: "25.00", available: "25.00"}
            credit_purchases: [{key: null, status: final, settlement: promotional, amount: "25", invoice: null}]
            invoice_count: {gathering: 0, standard: 0}
        - do: grant_credits
          amount: "5"
          effective_at: 2024-02-01T00:00:00Z
          expect:
            credits: {balance: "25.00"}
        - at: 2024-02-01T00:00:00Z
          do: advance_charges
          expect:
            credits: {balance: "30.00"}
    """)
    assert states[0]["error"] is None and len(states[1]["credit_purchases"]) == 2


def test_an_invoice_purchase_is_invoiced_at_once_and_settles_with_its_invoice(tmp_path):
    states = run(tmp_path, """
        - do: purchase_credits
          key: topup-1
          amount: "100"
          settlement: invoice
          cost_basis: "0.5"
          expect:
            credit_purchases: [{key: topup-1, status: active.payment.pending, settlement: invoice, amount: "100",
                                invoice: "standard[0]"}]
            credits: {balance: "100.00"}
            invoices:
              "standard[0]":
                status: draft.waiting_auto_approval
                totals: {total: "50.00"}
                lines: [{ref: credit-purchase/topup-1, name: "Credit Purchase (100 USD credits)", engine: charge_creditpurchase,
                         managed_by: manual, price: {type: flat, amount: "50"}, totals: {amount: "50.00", total: "50.00"},
                         annotations: {"openmeter.io/reason": credit-purchase, "openmeter.io/taxable": "false"}}]
        - do: approve_invoice
          invoice: latest
          expect:
            credit_purchases: [{key: topup-1, status: active.payment.pending}]
        - do: payment
          invoice: latest
          event: authorized
          expect:
            credit_purchases: [{key: topup-1, status: active.payment.authorized}]
        - do: payment
          invoice: latest
          event: paid
          expect:
            credit_purchases: [{key: topup-1, status: final}]
            invoices: {"standard[0]": {status: paid}}
            credits: {balance: "100.00"}
    """)
    assert [state["error"] for state in states] == [None] * 4


def test_a_deferred_invoice_purchase_waits_on_gathering_until_the_advance_pass(tmp_path):
    run(tmp_path, """
        - do: purchase_credits
          key: later
          amount: "10"
          settlement: invoice
          effective_at: 2024-02-01T00:00:00Z
          expect:
            credit_purchases: [{key: later, status: created, invoice: gathering}]
            gathering: {lines: [{ref: credit-purchase/later, invoice_at: "2024-02-01T00:00:00Z"}]}
            credits: {balance: "0.00"}
        - at: 2024-02-01T00:00:00Z
          do: advance_charges
          expect:
            credit_purchases: [{key: later, status: active.payment.pending, invoice: "standard[0]"}]
            invoice_count: {gathering: 0, standard: 1}
            credits: {balance: "10.00"}
    """)


def test_an_auto_payment_app_pays_the_purchase_invoice_on_approval(tmp_path):
    run(tmp_path, """
        - do: purchase_credits
          key: topup
          amount: "20"
          settlement: invoice
        - do: approve_invoice
          invoice: latest
          expect:
            credit_purchases: [{key: topup, status: final}]
            invoices: {"standard[0]": {status: paid}}
    """, payment_app="auto")


def test_external_purchase_events_by_key(tmp_path):
    run(tmp_path, """
        - do: purchase_credits
          key: ext-1
          amount: "40"
          settlement: external
          expect:
            credit_purchases: [{key: ext-1, status: active.payment.pending, settlement: external, invoice: null}]
            credits: {balance: "40.00"}
            invoice_count: {gathering: 0, standard: 0}
        - do: external_payment
          purchase: ext-1
          event: authorized
          expect:
            credit_purchases: [{key: ext-1, status: active.payment.authorized}]
        - do: external_payment
          purchase: ext-1
          event: settled
          expect:
            credit_purchases: [{key: ext-1, status: final}]
        - do: external_payment
          purchase: ext-1
          event: settled
          expect:
            error: null
            credit_purchases: [{key: ext-1, status: final}]
    """)


def test_credit_operation_errors_carry_their_category_and_change_nothing(tmp_path):
    states = run(tmp_path, """
        - do: purchase_credits
          key: p-1
          amount: "10"
          settlement: promotional
        - do: purchase_credits
          key: p-1
          amount: "10"
          settlement: promotional
          expect:
            error: {type: ConflictError}
            credits: {balance: "10.00"}
        - do: external_payment
          purchase: p-1
          event: authorized
          expect:
            error: {type: ValidationError, message_contains: external}
        - do: external_payment
          purchase: nobody
          event: authorized
          expect:
            error: {type: NotFoundError}
        - do: purchase_credits
          key: zero
          amount: "0"
          settlement: invoice
          expect:
            error: {type: ValidationError, message_contains: credit_amount}
            invoice_count: {gathering: 0, standard: 0}
    """)
    assert len(states[-1]["credit_purchases"]) == 1
