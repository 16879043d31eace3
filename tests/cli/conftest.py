"""Running the installed console script (``.venv/bin/subsync``) in a subprocess, as a user would.

Each test gets its own working directory and SQLite database (``SUBSYNC_DATABASE_URL``); stdout and
stderr are captured separately, so piped output is plain (no colours, no progress bar).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUBSYNC = Path(sys.executable).parent / "subsync"
EXAMPLE = ROOT / "fixtures" / "example-subscription.yaml"
# The example's paid phase starts 2024-01-15; at this time its first periods are due.
MID_FEBRUARY = "2024-02-10T00:00:00Z"


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def log_events(self) -> list[dict[str, Any]]:
        """The structlog JSON lines on stderr."""
        return [json.loads(line) for line in self.stderr.splitlines() if line.startswith("{")]


class Cli:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.db = workdir / "billing.db"
        self.url = f"sqlite:///{self.db}"

    def __call__(self, *args: str | Path, env: dict[str, str] | None = None, timeout: int = 120) -> Run:
        if not SUBSYNC.exists():
            pytest.fail(f"the console script {SUBSYNC} is not installed (pip install -e '.[test]')")
        environment = {k: v for k, v in os.environ.items() if not k.startswith("SUBSYNC_")}
        environment.update({"SUBSYNC_DATABASE_URL": self.url, "NO_COLOR": "1"})
        environment.update(env or {})
        result = subprocess.run([str(SUBSYNC), *map(str, args)], capture_output=True, text=True, timeout=timeout,
                                cwd=self.workdir, env=environment)
        return Run(result.returncode, result.stdout, result.stderr)

    def ok(self, *args: str | Path, **kwargs: Any) -> Run:
        run = self(*args, **kwargs)
        assert run.returncode == 0, f"exit {run.returncode}\nstdout:\n{run.stdout}\nstderr:\n{run.stderr}"
        return run

    def write(self, name: str, text: str) -> Path:
        path = self.workdir / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path


def one_error_line(run: Run) -> str:
    """The single ``error: …`` line a failed command prints (never a traceback)."""
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, run.stderr
    return lines[0]


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


@pytest.fixture
def example(cli: Cli) -> Cli:
    """A migrated database holding the example subscription ``acme-pro`` (not yet synced)."""
    cli.ok("db", "upgrade")
    cli.ok("subscriptions", "import", EXAMPLE)
    return cli
