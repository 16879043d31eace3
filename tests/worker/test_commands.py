"""``subsync worker`` and ``subsync enqueue`` through the installed console script, as an operator runs them.

Without a broker both refuse with one error line (exit 2) and ``subsync reconcile`` stays the way to run
the job; an unreachable broker is named (exit 1). With Redis: a worker started by ``subsync worker``
syncs what ``subsync enqueue`` sends, after which ``subsync check`` finds nothing to do.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.worker.pool import ROOT, SUBSYNC, WorkerPool

EXAMPLE = ROOT / "fixtures" / "example-subscription.yaml"
AS_OF = "2024-02-10T00:00:00Z"


def run(*args: str | Path, env: dict[str, str], timeout: int = 120) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("SUBSYNC_")}
    environment.update({"NO_COLOR": "1", **env})
    return subprocess.run([str(SUBSYNC), *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          env=environment, cwd=ROOT)


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def database(tmp_path: Path) -> dict[str, str]:
    """A migrated SQLite database holding the example subscription (not yet synced)."""
    env = {"SUBSYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'billing.db'}"}
    for command in (("db", "upgrade"), ("subscriptions", "import", EXAMPLE)):
        result = run(*command, env=env)
        assert result.returncode == 0, result.stderr
    return env


@pytest.mark.parametrize("command", [("enqueue",), ("worker", "--concurrency", "1")], ids=["enqueue", "worker"])
def test_without_a_broker_the_commands_refuse_and_point_to_reconcile(database, command):
    result = run(*command, env=database)
    assert result.returncode == 2
    line = one_error_line(result)
    assert "SUBSYNC_BROKER_URL" in line and "subsync reconcile" in line


def test_an_unreachable_broker_is_named(database):
    result = run("enqueue", env={**database, "SUBSYNC_BROKER_URL": "redis://127.0.0.1:1/0"})
    assert result.returncode == 1
    assert "cannot reach the broker redis://127.0.0.1:1/0" in one_error_line(result)


def test_a_worker_started_by_the_cli_syncs_what_enqueue_sends(database, broker_url, queue, tmp_path):
    env = {**database, "SUBSYNC_BROKER_URL": broker_url, "SUBSYNC_QUEUE": queue}
    listed = run("enqueue", "--as-of", AS_OF, "--format", "json", env=env)
    assert listed.returncode == 0, listed.stderr
    sent = json.loads(listed.stdout)
    assert (sent["tasks"], sent["customers"], sent["subscriptions"], len(sent["task_ids"])) == (1, 1, 1, 1)
    assert run("check", "--as-of", AS_OF, env=env).returncode == 1  # nothing synced yet: pending changes

    with WorkerPool(broker_url=broker_url, database_url=database["SUBSYNC_DATABASE_URL"], queue=queue,
                    log_path=tmp_path / "worker.log", concurrency=1, via_cli=True) as pool:
        deadline = time.monotonic() + 300
        while not pool.events("worker.task_finished") and time.monotonic() < deadline:
            time.sleep(0.2)
        finished = pool.events("worker.task_finished")
        assert finished, f"no task finished within 300 s; events: {[e['event'] for e in pool.events()][-10:]}"
        assert finished[0]["synced"] == 1 and finished[0]["failed"] == 0, finished

    checked = run("check", "--as-of", AS_OF, env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    again = run("enqueue", "--as-of", AS_OF, env=env)  # nothing is due any more
    assert again.returncode == 0 and again.stdout.startswith("enqueued 0 task(s) for 0 subscription(s)")
