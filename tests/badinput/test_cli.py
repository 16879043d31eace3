"""Bad input through the installed console script: exit 2, one error line, no traceback, nothing written.

A bounded subset (a few dozen runs; each starts a Python process) of hostile files goes through
``subsync subscriptions import``, ``subsync targets`` and ``subsync scenario run`` as a user would run
them: hand-picked shapes (10 MB strings, unicode and SQL ids, nesting 100 000 deep, an alias bomb,
bytes that are not UTF-8, …) and a few hypothesis-generated malformed setups. Each command must exit 2
with a single ``error:`` line on stderr, print no traceback, and leave the database as it was. Lookups by
SQL-looking ids find nothing and drop nothing.
"""

from __future__ import annotations

import atexit
import copy
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import assume, given

from billing.clock import FrozenClock
from billing.store import Store
from tests.badinput.checks import MAX_MESSAGE, PYDANTIC_INTERNALS
from tests.badinput.documents import base_setup, to_yaml, without_megabytes
from tests.badinput.scale import budget, tally
from tests.badinput.stores import NOW, populate
from tests.badinput.strategies import Mutation, malformed
from tests.badinput.values import TEN_MB
from tests.badinput.test_yaml_files import HOSTILE_FILES

SUBSYNC = Path(sys.executable).parent / "subsync"
READERS = (("targets",), ("subscriptions", "import"), ("scenario", "run"))


@dataclass
class Run:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


class Workspace:
    """A directory with a migrated SQLite database holding the example subscription."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="badinput-cli-"))
        atexit.register(shutil.rmtree, self.dir, ignore_errors=True)
        self.db = self.dir / "billing.db"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SUBSYNC_")}
        self.env.update({"SUBSYNC_DATABASE_URL": f"sqlite:///{self.db}", "NO_COLOR": "1"})

    def run(self, *args: str | Path) -> Run:
        if not SUBSYNC.exists():
            pytest.fail(f"the console script {SUBSYNC} is not installed (pip install -e '.[test]')")
        done = subprocess.run([str(SUBSYNC), *map(str, args)], capture_output=True, text=True, timeout=120,
                              cwd=self.dir, env=self.env, errors="replace")
        return Run(tuple(map(str, args)), done.returncode, done.stdout, done.stderr)

    def run_all(self, commands: list[tuple[str | Path, ...]]) -> list[Run]:
        with ThreadPoolExecutor(max_workers=2) as pool:
            return list(pool.map(lambda args: self.run(*args), commands))

    def write(self, data: bytes) -> Path:
        handle, name = tempfile.mkstemp(suffix=".yaml", dir=self.dir)
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        return Path(name)

    def dump(self) -> dict[str, list[tuple]]:
        with sqlite3.connect(self.db) as connection:
            names = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {name: sorted(connection.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr) for name in names}


@pytest.fixture(scope="module")
def workspace() -> Workspace:
    """Migrated with alembic and populated in-process (cheaper than three more processes)."""
    space = Workspace()
    store = Store(f"sqlite:///{space.db}", clock=FrozenClock(NOW))
    try:
        store.upgrade()
        populate(store)
    finally:
        store.dispose()
    assert space.dump()["invoice_lines"], "the example was synced"
    return space


def assert_refused(run: Run, code: int = 2) -> str:
    """Exit ``code``, one ``error:`` line on stderr, no traceback, no pydantic internals, short."""
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.returncode == code, f"{run.args}: exit {run.returncode}\n{run.stderr[:2000]}"
    assert "Traceback" not in run.stderr, run.stderr[:2000]
    assert len(lines) == 1 and lines[0].startswith("error: "), f"{run.args}: {run.stderr[:2000]}"
    assert len(lines[0]) <= MAX_MESSAGE + 400, f"{run.args}: a {len(lines[0])}-character error line"
    assert not any(internal in lines[0] for internal in PYDANTIC_INTERNALS), lines[0]
    return lines[0]


def _document(**changes: object) -> bytes:
    document = copy.deepcopy(base_setup("example-subscription.yaml"))
    for path, value in changes.items():
        section, _, field = path.partition("__")
        document[section] = {**document[section], field: value} if field else value
    return to_yaml(document) or b""


T, I, S = ("targets",), ("subscriptions", "import"), ("scenario", "run")
#: name → (file, words of the error, the commands that read it). ``targets`` starts fast and reads every
#: file; ``import`` and ``scenario run`` import most of subsync (seconds of start-up each) and read a part.
CLI_FILES = {
    "a 10 MB subscription id": (_document(subscription__id=TEN_MB), "must be at most 64 characters", (T, I, S)),
    "a 10 MB description": (_document(description=TEN_MB), "must be at most 10000 characters", (T, I)),
    "a unicode subscription id": (_document(subscription__id="süb-1"), "a key must match", (T, I)),
    "an SQL customer key": (_document(customer__key="'; DROP TABLE invoices; --"), "a key must match", (T, I)),
    "a naive start": (_document(subscription__start="2024-01-01T00:00:00"), "timezone-aware", (T, S)),
    "an end before the start": (_document(subscription__end="2023-12-31T00:00:00Z"), "ends before it starts", (T,)),
    "nesting 100 000 deep": (HOSTILE_FILES["nesting 100 000 deep"][0], "nested more than", (T, I, S)),
    "a billion laughs": (HOSTILE_FILES["a billion laughs"][0], "aliases expanded", (T,)),
    "latin-1 bytes": (HOSTILE_FILES["latin-1 bytes"][0], "not UTF-8", (T, S)),
    "a list": (HOSTILE_FILES["a list"][0], "mapping", (T,)),
}


@pytest.mark.parametrize("name", CLI_FILES)
def test_a_hostile_file_is_refused_by_every_command(workspace: Workspace, name: str):
    data, expected, readers = CLI_FILES[name]
    before = workspace.dump()
    path = workspace.write(data)
    for run in workspace.run_all([(*reader, path) for reader in readers]):
        line = assert_refused(run)
        assert expected in line, f"{run.args}: {line[:500]}"
        assert run.stdout == "", f"{run.args} printed {run.stdout[:500]!r}"
    assert workspace.dump() == before


@budget("cli")
@given(mutation=malformed)
def test_a_generated_malformed_file_is_refused_by_every_command(workspace: Workspace, mutation: Mutation):
    data = to_yaml(without_megabytes(mutation.document))
    assume(data is not None)
    tally("cli")
    before = workspace.dump()
    path = workspace.write(data)
    for run in workspace.run_all([(*reader, path) for reader in READERS]):
        assert_refused(run)
    assert workspace.dump() == before


def test_an_sql_looking_id_on_the_command_line_finds_nothing(workspace: Workspace):
    before = workspace.dump()
    run = workspace.run("plan", "--subscription", "'; DROP TABLE invoices; --", "--as-of", "2024-02-10T00:00:00Z")
    assert "NotFoundError" in assert_refused(run, code=1)
    assert workspace.dump() == before
    assert {"invoices", "customers", "subscriptions", "invoice_lines"} <= set(before)
