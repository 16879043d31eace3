"""``subsync reconcile`` through the console script: listing, the summary (text and JSON), not-due and
forced runs, ``--invoice``, ``--limit``, durations, a failing subscription (exit 1, reported, logged as
JSON with its ids bound), and the progress bar only on a terminal."""

from __future__ import annotations

import os
import pty
import subprocess

from tests.cli.conftest import SUBSYNC, one_error_line

MARCH = "2024-03-02T00:00:00Z"
TWO = """
clock: 2024-01-01T00:00:00Z
customer: {key: globex}
setups:
  - subscription: {id: gpu}
    plan: {phases: [{key: main, rate_cards: [{key: fee, type: flat_fee, billing_cadence: P1M,
           price: {type: flat, amount: "250", payment_term: in_advance}}]}]}
  - subscription: {id: storage}
    plan: {phases: [{key: main, rate_cards: [{key: fee, type: flat_fee, billing_cadence: P1M,
           price: {type: flat, amount: "40", payment_term: in_arrears}}]}]}
"""


def test_list_then_reconcile_then_nothing_due_then_forced(example):
    example.ok("subscriptions", "import", example.write("two.yaml", TWO))
    listed = example.ok("reconcile", "--list", "--as-of", MARCH)
    assert [line.split() for line in listed.stdout.splitlines()] == [
        ["acme-pro", "acme-corp", "2024-01-01T00:00:00Z"],
        ["gpu", "globex", "2024-01-01T00:00:00Z"],
        ["storage", "globex", "2024-01-01T00:00:00Z"],
    ]
    as_json = example.ok("reconcile", "--list", "--as-of", MARCH, "--customer", "globex", "--format", "json").json()
    assert [(s["id"], s["customer_id"], s["active_to"]) for s in as_json] == [("gpu", "globex", None),
                                                                            ("storage", "globex", None)]

    first = example.ok("reconcile", "--as-of", MARCH)
    assert first.stdout.strip().startswith("3 synced, 0 unchanged, 0 skipped, 0 failed (3 listed, 0 not due) in ")

    second = example.ok("reconcile", "--as-of", MARCH, "--format", "json").json()
    assert (second["synced"], second["not_due"], second["failed"], second["failures"]) == (0, 3, 0, [])
    assert example.ok("reconcile", "--list", "--as-of", MARCH).stdout == ""

    forced = example.ok("reconcile", "--as-of", MARCH, "--force", "--format", "json").json()
    assert (forced["synced"], forced["unchanged"], forced["force"]) == (0, 3, True)
    assert example("check", "--as-of", MARCH).returncode == 0


def test_invoice_and_limit(example):
    example.ok("subscriptions", "import", example.write("two.yaml", TWO))
    limited = example.ok("reconcile", "--as-of", MARCH, "--limit", "2", "--invoice", "--format", "json").json()
    assert (limited["synced"], limited["deferred"]) == (2, 1)
    assert len(limited["invoices"]) == 2  # acme-corp and globex each had lines due
    rest = example.ok("reconcile", "--as-of", MARCH, "--invoice")
    assert "left for the next run" not in rest.stdout
    assert rest.stdout.strip().splitlines()[-1].startswith("1 synced, 0 unchanged")


def test_lookback_durations(example):
    # The example ended nowhere; a subscription that ended 3 days before the run needs a 7d lookback.
    example.ok("subscriptions", "import", example.write("ended.yaml", """
        clock: 2024-01-01T00:00:00Z
        customer: {key: initech}
        subscription: {id: ended, end: 2024-02-27T00:00:00Z}
        plan: {phases: [{key: main, rate_cards: [{key: fee, type: flat_fee, billing_cadence: P1M,
               price: {type: flat, amount: "29"}}]}]}
        """))
    ids = lambda run: [line.split()[0] for line in run.stdout.splitlines()]  # noqa: E731
    assert ids(example.ok("reconcile", "--list", "--as-of", MARCH)) == ["acme-pro"]
    for window in ("7d", "PT168H", "100h", "604800s"):
        assert ids(example.ok("reconcile", "--list", "--as-of", MARCH, "-l", window)) == ["acme-pro", "ended"]
    ended = example.ok("reconcile", "--list", "--as-of", MARCH, "--lookback", "7d").stdout.splitlines()[1].split()
    assert ended == ["ended", "initech", "2024-01-01T00:00:00Z", "2024-02-27T00:00:00Z"]
    env = {"SUBSYNC_RECONCILE_DEFAULT_LOOKBACK": "7d"}
    assert ids(example.ok("reconcile", "--list", "--as-of", MARCH, env=env)) == ["acme-pro", "ended"]
    for bad, message in (("0", "--lookback: must be positive"), ("soon", "--lookback: expected a duration"),
                         ("P1M", "months or years")):
        run = example("reconcile", "--as-of", MARCH, "--lookback", bad)
        assert run.returncode == 2 and message in one_error_line(run)
    broken_env = example("reconcile", "--as-of", MARCH, env={"SUBSYNC_RECONCILE_PAGE_SIZE": "0"})
    assert broken_env.returncode == 2 and "SUBSYNC_RECONCILE_PAGE_SIZE" in one_error_line(broken_env)


def test_a_failing_subscription_is_reported_logged_and_exits_1_while_the_rest_syncs(example):
    example.ok("subscriptions", "import", example.write("two.yaml", TWO))
    import sqlite3

    with sqlite3.connect(example.db) as connection:  # a corrupt stored row
        connection.execute("UPDATE subscriptions SET view = '{\"phases\": 3}' WHERE id = 'gpu'")

    run = example("reconcile", "--as-of", MARCH)

    assert run.returncode == 1
    lines = run.stdout.strip().splitlines()
    assert lines[0].startswith("failed: default/gpu (sync): ValidationError: SubscriptionView is invalid")
    assert lines[-1].startswith("2 synced, 0 unchanged, 0 skipped, 1 failed (3 listed, 0 not due)")
    [event] = [e for e in run.log_events if e["event"] == "reconcile.subscription_failed"]
    assert (event["subscription_id"], event["customer_id"], event["namespace"]) == ("gpu", "globex", "default")
    assert (event["level"], event["error_type"]) == ("error", "ValidationError")
    assert "Traceback" not in run.stderr
    # Retried next run (still due), the others are not due.
    again = example("reconcile", "--as-of", MARCH, "--format", "json")
    assert again.returncode == 1
    assert (again.json()["failed"], again.json()["not_due"]) == (1, 2)


def test_json_logs_bind_subscription_and_customer(example):
    run = example.ok("--log-level", "INFO", "reconcile", "--as-of", MARCH)
    done = [e for e in run.log_events if e["event"] == "reconcile.subscription_done"]
    assert [(e["subscription_id"], e["customer_id"], e["outcome"]) for e in done] == [("acme-pro", "acme-corp",
                                                                                       "synced")]
    assert any(e["event"] == "reconcile.finished" and e["synced"] == 1 for e in run.log_events)


def test_progress_bar_only_on_a_terminal(example):
    assert "reconciling" not in example.ok("reconcile", "--as-of", MARCH, "--force").stderr
    primary, secondary = pty.openpty()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SUBSYNC_")},
           "SUBSYNC_DATABASE_URL": example.url, "TERM": "xterm", "COLUMNS": "100"}
    process = subprocess.run([str(SUBSYNC), "reconcile", "--as-of", MARCH, "--force"], stdout=subprocess.PIPE,
                             stderr=secondary, env=env, cwd=example.workdir, timeout=120, text=True)
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
    assert process.returncode == 0
    assert "reconciling" in b"".join(chunks).decode(errors="replace")
    assert process.stdout.strip().startswith("0 synced, 1 unchanged")

