"""``subsync credits purchase|balance|ledger`` and ``subsync charges advance`` through the console script:
JSON parsed back, the ledger in booking order with balanced groups, deferred invoicing picked up by
``charges advance`` and by ``reconcile``, and bad input as one error line (exit 2) with no traceback."""

from __future__ import annotations

import os
import pty
import re
import subprocess
from decimal import Decimal

from tests.cli.conftest import SUBSYNC, one_error_line

JAN_5 = "2024-01-05T00:00:00Z"
JAN_20 = "2024-01-20T00:00:00Z"
JAN_21 = "2024-01-21T00:00:00Z"


def buy(cli, *args: str):  # type: ignore[no-untyped-def]
    return cli.ok("credits", "purchase", "--customer", "acme-corp", "--format", "json", *args).json()


def balance(cli, as_of: str) -> tuple[Decimal, Decimal]:  # type: ignore[no-untyped-def]
    shown = cli.ok("credits", "balance", "--customer", "acme-corp", "--as-of", as_of, "--format", "json").json()
    assert (shown["customer_id"], shown["currency"], shown["as_of"]) == ("acme-corp", "USD", as_of)
    return Decimal(shown["balance"]), Decimal(shown["available"])


def test_immediate_invoice_purchase_grants_credits_shown_by_balance_and_ledger(example):
    bought = buy(example, "--key", "order-1", "--amount", "100", "--settlement", "invoice", "--cost-basis", "0.5",
                 "--as-of", JAN_5)
    assert (bought["key"], bought["settlement"], bought["cost_basis"]) == ("order-1", "invoice", "0.5")
    assert bought["status"] == "active.payment.pending" and bought["invoice_id"]
    promo = buy(example, "--key", "promo-1", "--amount", "25", "--settlement", "promotional", "--as-of", JAN_20)
    assert promo["status"] == "final" and promo["invoice_id"] is None

    amount, extra = Decimal(bought["credit_amount"]), Decimal(promo["credit_amount"])
    assert balance(example, JAN_5) == (amount, amount)  # the promotion is not booked yet
    assert balance(example, JAN_21) == (amount + extra, amount + extra)

    groups = example.ok("credits", "ledger", "--customer", "acme-corp", "--format", "json").json()
    assert [g["booked_at"] for g in groups] == sorted(g["booked_at"] for g in groups)
    assert {g["charge_id"] for g in groups} == {bought["id"], promo["id"]}
    for group in groups:
        assert group["postings"], group
        assert sum(Decimal(p["amount"]) for p in group["postings"]) == 0  # every group balances
    fbo = sum(Decimal(p["amount"]) for g in groups for p in g["postings"] if p["account"] == "fbo")
    assert fbo == amount + extra
    assert example.ok("credits", "ledger", "--customer", "acme-corp", "--currency", "EUR", "--format",
                      "json").json() == []

    text = example.ok("credits", "ledger", "--customer", "acme-corp").stdout
    assert bought["id"] in text and promo["id"] in text and "fbo" in text
    assert "━" not in text and "│" not in text  # piped: plain lines, the rich table is for terminals
    line = example.ok("credits", "balance", "--customer", "acme-corp", "--as-of", JAN_21).stdout.strip()
    assert line == f"acme-corp USD as of {JAN_21}: balance {amount + extra}, available {amount + extra}"


def test_deferred_purchase_is_invoiced_by_charges_advance_after_its_effective_time(example):
    bought = buy(example, "--key", "later", "--amount", "40", "--settlement", "invoice", "--cost-basis", "1",
                 "--effective-at", JAN_20, "--as-of", JAN_5)
    assert (bought["status"], bought["invoice_id"], bought["effective_at"]) == ("created", None, JAN_20)

    early = example.ok("charges", "advance", "--as-of", "2024-01-19T23:59:59Z", "--format", "json").json()
    assert (early["customers"], early["purchases"], early["failed"]) == (0, 0, 0)
    assert balance(example, JAN_21) == (0, 0)

    done = example.ok("charges", "advance", "--customer", "acme-corp", "--as-of", JAN_21)
    assert done.stdout.strip() == "0 charge(s) and 1 credit purchase(s) advanced for 1 customer(s), 0 failed"
    assert balance(example, JAN_21) == (Decimal(bought["credit_amount"]),) * 2
    again = example.ok("charges", "advance", "--as-of", JAN_21, "--format", "json").json()
    assert (again["customers"], again["purchases"]) == (0, 0)
    assert balance(example, JAN_21) == (Decimal(bought["credit_amount"]),) * 2  # never granted twice


def test_reconcile_picks_up_deferred_purchase_invoicing_and_reports_it(example):
    bought = buy(example, "--key", "later", "--amount", "40", "--settlement", "invoice", "--cost-basis", "1",
                 "--effective-at", JAN_20, "--as-of", JAN_5)
    run = example.ok("reconcile", "--as-of", JAN_21, "--format", "json").json()
    assert run["charge_advance"]["purchases"] == 1 and run["failed"] == 0
    assert balance(example, JAN_21) == (Decimal(bought["credit_amount"]),) * 2
    second = example.ok("reconcile", "--as-of", JAN_21, "--force")
    assert "charge advance" not in second.stdout  # credits off and nothing due: the pass does not run


def test_bad_input_is_one_error_line_with_the_exit_code_of_its_category(example):
    cases = [
        (["--amount", "abc", "--settlement", "promotional"], 2, "ValidationError: --amount"),
        (["--amount", "NaN", "--settlement", "promotional"], 2, "ValidationError: --amount"),
        (["--amount", "10", "--settlement", "promotional", "--cost-basis", "x"], 2, "ValidationError: --cost-basis"),
        (["--amount", "10", "--settlement", "invoice"], 2, "ValidationError: payment-backed credit purchase "
                                                           "requires a cost basis"),
        (["--amount", "0", "--settlement", "promotional"], 2, "ValidationError"),
        (["--amount", "10", "--settlement", "promotional", "--effective-at", "tomorrow"], 2,
         "ValidationError: --effective-at"),
    ]
    for args, code, start in cases:
        run = example("credits", "purchase", "--customer", "acme-corp", *args)
        assert run.returncode == code, (args, run.stderr)
        assert one_error_line(run).startswith(f"error: {start}"), (args, run.stderr)
        assert run.stdout == ""

    buy(example, "--key", "k", "--amount", "10", "--settlement", "promotional")
    duplicate = example("credits", "purchase", "--customer", "acme-corp", "--key", "k", "--amount", "10",
                        "--settlement", "promotional")
    assert duplicate.returncode == 1
    assert one_error_line(duplicate).startswith("error: ConflictError: ")
    stranger = example("credits", "purchase", "--customer", "nobody", "--amount", "10", "--settlement", "promotional")
    assert stranger.returncode == 1 and "nobody" in one_error_line(stranger)
    for command in (["credits", "balance"], ["credits", "ledger"], ["charges", "advance"]):
        missing = example(*command, "--customer", "nobody")
        assert missing.returncode == 1 and one_error_line(missing).startswith("error: NotFound"), missing.stderr
    unknown = example("credits", "purchase", "--customer", "acme-corp", "--amount", "10", "--settlement", "cash")
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr


def test_ledger_on_a_terminal_is_a_table_with_one_row_per_posting(example):
    bought = buy(example, "--key", "t", "--amount", "30", "--settlement", "invoice", "--cost-basis", "1",
                 "--as-of", JAN_5)
    primary, secondary = pty.openpty()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SUBSYNC_") and k != "NO_COLOR"},
           "SUBSYNC_DATABASE_URL": example.url, "TERM": "xterm", "COLUMNS": "160"}
    process = subprocess.run([str(SUBSYNC), "credits", "ledger", "--customer", "acme-corp"], stdout=secondary,
                             stderr=subprocess.PIPE, env=env, cwd=example.workdir, timeout=120, text=True)
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    assert process.returncode == 0, process.stderr
    screen = re.sub(r"\x1b\[[0-9;]*m", "", b"".join(chunks).decode(errors="replace"))
    assert "credit ledger of acme-corp" in screen and "┃ booked at" in screen
    assert bought["id"] in screen
    rows = [line for line in screen.splitlines() if line.startswith("│")]
    assert len(rows) == 2  # the grant's two postings: fbo +30, receivable −30
