"""``subsync plan``, ``apply`` and ``check`` through the console script: readable and JSON plans, stored
plans applied or refused as stale (exit 3), ``check`` failing on drift (exit 1) and passing after
``apply``, and one-line errors with the exit codes of reconciler.md §7.4."""

from __future__ import annotations

import json

from patches.render import load_plan
from tests.cli.conftest import MID_FEBRUARY, one_error_line

EXPECTED_CREATES = {
    "acme-pro/paid/onboarding/v[0]",
    "acme-pro/paid/platform-fee/v[0]/period[0]",
    "acme-pro/paid/platform-fee/v[0]/period[1]",
    "acme-pro/paid/platform-fee/v[0]/period[2]",
    "acme-pro/paid/support/v[0]/period[0]",
    "acme-pro/paid/support/v[0]/period[1]",
    "acme-pro/paid/api-requests/v[0]/period[0]",
    "acme-pro/paid/api-requests/v[0]/period[1]",
}


def test_plan_prints_a_readable_diff_and_writes_nothing(example):
    first = example.ok("plan", "--subscription", "acme-pro", "--as-of", MID_FEBRUARY)
    lines = first.stdout.splitlines()
    assert lines[0].startswith("plan default/acme-pro customer=acme-corp currency=USD as_of=2024-02-10T00:00:00Z")
    creates = [line for line in lines[1:] if line.startswith("+ create invoice.line ")]
    assert {line.split()[3].rstrip(":") for line in creates} == EXPECTED_CREATES
    assert "\x1b[" not in first.stdout  # piped: no colours
    assert "flat(26.87, in_advance)" in first.stdout  # the prorated first month, 17/31 of 49
    # A dry run: planning again finds the same basis and the same entries.
    assert example.ok("plan", "--subscription", "acme-pro", "--as-of", MID_FEBRUARY).stdout == first.stdout


def test_plan_json_is_the_stored_plan_format(example, tmp_path):
    out = tmp_path / "plan.json"
    run = example.ok("plan", "--subscription", "acme-pro", "--as-of", MID_FEBRUARY, "--format", "json",
                     "--out", out)
    document = run.json()
    assert (document["format_version"], document["subscription_id"], document["customer_id"]) == (1, "acme-pro",
                                                                                                   "acme-corp")
    assert document["as_of"] == "2024-02-10T00:00:00Z" and document["has_billables"] is True
    assert {patch["identity"] for patch in document["patches"]} == EXPECTED_CREATES
    assert json.loads(out.read_text()) == document
    plan = load_plan(out.read_text())
    assert plan.basis == document["basis"] and len(plan.patches) == 8
    assert f"apply it with `subsync apply {out}`" in run.stderr


def test_check_fails_on_drift_and_passes_after_apply_of_a_stored_plan(example, tmp_path):
    drift = example("check", "--as-of", MID_FEBRUARY)
    assert drift.returncode == 1
    assert drift.stdout.splitlines()[0].startswith("plan default/acme-pro ")
    assert drift.stdout.strip().endswith("1 of 1 subscription(s) have pending changes")
    out = tmp_path / "plan.json"
    example.ok("plan", "--subscription", "acme-pro", "--as-of", MID_FEBRUARY, "--out", out)

    applied = example.ok("apply", out, "--as-of", MID_FEBRUARY)
    assert applied.stdout.strip().endswith("applied 8 change(s) to default/acme-pro")

    clean = example("check", "--as-of", MID_FEBRUARY)
    assert clean.returncode == 0, clean.stdout
    assert clean.stdout.strip() == "all 1 subscription(s) are in sync"
    assert example.ok("plan", "--subscription", "acme-pro", "--as-of", MID_FEBRUARY).stdout.endswith("(no changes)\n")


def test_check_json_lists_pending_plans_and_selects_by_id_and_customer(example):
    run = example("check", "--as-of", MID_FEBRUARY, "--format", "json")
    assert run.returncode == 1
    document = run.json()
    assert (document["checked"], document["in_sync"], document["failed"]) == (1, 0, [])
    assert [plan["subscription_id"] for plan in document["pending"]] == ["acme-pro"]
    nobody = example("check", "--as-of", MID_FEBRUARY, "--customer", "someone-else", "--format", "json")
    assert nobody.returncode == 0 and nobody.json()["checked"] == 0
    missing = example("check", "nope", "--as-of", MID_FEBRUARY, "--format", "json")
    assert missing.returncode == 1
    [failure] = missing.json()["failed"]
    assert (failure["subscription_id"], failure["error_type"]) == ("nope", "NotFoundError")


def test_a_stale_plan_is_refused_with_exit_3_and_nothing_written(example, tmp_path):
    out = tmp_path / "plan.json"
    example.ok("plan", "--subscription", "acme-pro", "--as-of", MID_FEBRUARY, "--out", out)
    # Billing moves on before the stored plan is applied: a direct apply of the subscription.
    direct = example.ok("apply", "--subscription", "acme-pro", "--as-of", MID_FEBRUARY)
    assert "applied 8 change(s)" in direct.stdout

    stale = example("apply", out, "--as-of", MID_FEBRUARY)

    assert stale.returncode == 3
    assert stale.stdout == ""
    line = one_error_line(stale)
    assert line.startswith("error: StalePlanError: ") and "plan again" in line and "acme-pro" in line
    assert example("check", "--as-of", MID_FEBRUARY).returncode == 0  # nothing of the stale plan applied


def test_apply_subscription_with_invoice_invoices_what_is_due(example):
    run = example.ok("apply", "--subscription", "acme-pro", "--as-of", MID_FEBRUARY, "--invoice")
    invoiced = [line for line in run.stdout.splitlines() if line.startswith("invoiced: ")]
    assert len(invoiced) == 1 and invoiced[0] != "invoiced: nothing was due"
    again = example.ok("apply", "--subscription", "acme-pro", "--as-of", MID_FEBRUARY, "--invoice")
    assert "nothing to apply: default/acme-pro is in sync" in again.stdout
    assert "invoiced: nothing was due" in again.stdout


def test_malformed_input_exits_2_with_one_line(example, tmp_path):
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    wrong_version = tmp_path / "v2.json"
    wrong_version.write_text('{"format_version": 2}')
    cases = [
        (("apply",), "give either a PLAN_FILE or --subscription ID"),
        (("apply", garbage, "--subscription", "acme-pro"), "give either a PLAN_FILE or --subscription ID"),
        (("apply", garbage), "ValidationError: stored plan is not valid JSON"),
        (("apply", wrong_version), "ValidationError: stored plan has format_version 2"),
        (("apply", tmp_path / "missing.json"), "ValidationError: cannot read"),
        (("plan", "--subscription", "acme-pro", "--as-of", "2024-02-10"), "must be a timezone-aware instant"),
    ]
    for args, message in cases:
        run = example(*args)
        assert run.returncode == 2, (args, run.stderr)
        assert message in one_error_line(run), (args, run.stderr)


def test_unknown_subscription_and_missing_database(example, cli):
    unknown = example("plan", "--subscription", "nope")
    assert unknown.returncode == 1
    assert one_error_line(unknown).startswith("error: NotFoundError: subscription 'nope' not found")
    elsewhere = cli("plan", "--subscription", "acme-pro", "--db", f"sqlite:///{cli.workdir / 'absent.db'}")
    assert elsewhere.returncode == 1
    assert "run `subsync db upgrade`" in one_error_line(elsewhere)
    assert not (cli.workdir / "absent.db").exists()
