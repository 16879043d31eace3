"""``subsync scenario run`` and ``subsync demo`` through the console script."""

from __future__ import annotations

import sqlite3

from tests.cli.conftest import one_error_line

SCENARIO = """
name: One in-advance fee, synced and invoiced
clock: 2024-01-01T00:00:00Z
plan:
  phases:
    - key: default
      rate_cards:
        - {key: fee, type: flat_fee, billing_cadence: P1M, price: {type: flat, amount: "5", payment_term: in_advance}}
steps:
  - do: sync
    expect:
      gathering: {lines: [{identity: "sub-1/default/fee/v[0]/period[0]", per_unit_amount: "%s"}]}
  - at: 2024-01-02T00:00:00Z
    do: invoice_pending
    expect:
      invoice_count: {standard: 1}
"""


def test_scenario_run_text_json_and_step(cli):
    path = cli.write("scenario.yaml", SCENARIO % "5.00")
    text = cli.ok("scenario", "run", path)
    assert text.stdout.splitlines()[0] == f"scenario: One in-advance fee, synced and invoiced ({path})"
    assert "+ create invoice.line sub-1/default/fee/v[0]/period[0]" in text.stdout
    assert text.stdout.strip().splitlines()[-1].startswith("result: ok")

    document = cli.ok("scenario", "run", path, "--format", "json").json()
    assert document["name"] == "One in-advance fee, synced and invoiced"
    assert [step["do"] for step in document["steps"]] == ["sync", "invoice_pending"]
    assert document["steps"][1]["invoice_count"] == {"gathering": 0, "standard": 1}
    assert document["expectations"]["failed"] == [] and document["expectations"]["passed"] >= 2

    first = cli.ok("scenario", "run", path, "--step", "0", "--format", "json").json()
    assert [step["step"] for step in first["steps"]] == [0]


def test_scenario_run_exit_codes_for_failed_expectations_and_malformed_files(cli):
    failing = cli("scenario", "run", cli.write("wrong.yaml", SCENARIO % "6.00"), "--format", "json")
    assert failing.returncode == 1
    [failure] = failing.json()["expectations"]["failed"]
    assert (failure["step"], failure["expected"], failure["actual"]) == (0, "6.00", "5.00")

    malformed = cli.write("malformed.yaml", SCENARIO.replace("do: invoice_pending", "do: explode") % "5.00")
    run = cli("scenario", "run", malformed)
    assert run.returncode == 2 and run.stdout == ""
    line = one_error_line(run)
    assert line.startswith(f"error: ValidationError: {malformed}: steps[1]: do: unknown operation 'explode'")
    too_far = cli("scenario", "run", cli.write("ok.yaml", SCENARIO % "5.00"), "--step", "5")
    assert too_far.returncode == 2 and "--step 5" in one_error_line(too_far)


def test_demo_creates_subsync_db_reconciles_and_is_safe_to_rerun(cli):
    env = {"SUBSYNC_DATABASE_URL": ""}  # the embedded default: subsync.db in the working directory
    first = cli.ok("demo", env=env, timeout=300)
    assert (cli.workdir / "subsync.db").exists()
    out = first.stdout
    for expected in (
        "imported hooli-pro for hooli (plan pro)",
        "$ subsync reconcile --invoice --as-of 2024-01-01T00:00:00Z -c hooli -c globex -c initech",
        "3 synced, 0 unchanged, 0 skipped, 0 failed (3 listed, 0 not due)",
        "hooli: 2 api-requests event(s), 15500 in total",               # usage with events
        "price flat(20.00, in_arrears)",                                     # an in-arrears fee
        "price flat(49.00, in_advance)",                                     # an in-advance fee
        "hooli-pro: platform fee 49 → 99 USD a month from 2024-02-15",       # a mid-period edit
        "hooli-pro/default/platform-fee/v[1]/period[0]",
        "initech-starter: cancelled with effect from 2024-02-20",            # a cancellation
        "$ subsync apply --subscription globex-gpu --as-of 2024-02-14T00:00:00Z",  # progressive billing
        "billing invoices Globex's pending lines now; its profile bills usage progressively",
        "invoiced globex: invoice draft.waiting_auto_approval, 1 line(s), total 120.00 USD",
        "== Billing now holds",
    ):
        assert expected in out, expected
    with sqlite3.connect(cli.workdir / "subsync.db") as connection:
        groups = connection.execute("SELECT count(*) FROM split_line_groups").fetchone()[0]
        invoices = connection.execute("SELECT count(*) FROM invoices WHERE kind = 'standard'").fetchone()[0]
    # Progressive billing split February's usage line on 02-14 (a sync's own invoicing never splits).
    assert groups == 1 and invoices == 9

    again = cli.ok("demo", env=env, timeout=300)
    assert "0 synced, 2 unchanged, 0 skipped, 0 failed" in again.stdout
    assert "Nothing needed changing: re-running the demo (or the job) is safe." in again.stdout
    with sqlite3.connect(cli.workdir / "subsync.db") as connection:
        assert connection.execute("SELECT count(*) FROM invoices WHERE kind = 'standard'").fetchone()[0] == invoices
    assert cli("check", "--as-of", "2024-03-02T00:00:00Z", env=env).returncode == 0
