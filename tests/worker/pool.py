"""A real Celery worker pool in a subprocess, for the integration tests: start, watch, kill, stop.

``WorkerPool`` runs ``celery -A subsync.worker.app worker --concurrency N`` (the prefork pool) in its own
session with the given broker, database and queue, writes its output to a log file, and reads back the
structlog JSON events the tasks emit (``worker.task_started`` …) from that log. Only processes it
started are ever signalled.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).parent / "celery"
SUBSYNC = Path(sys.executable).parent / "subsync"


PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the worker's process, before exec: SIGTERM it (a warm shutdown) when the test process dies,
    so a test session that is killed leaves no worker pool behind."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _ppid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident set (VmHWM), in MB; None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class WorkerPool:
    def __init__(self, *, broker_url: str, database_url: str, queue: str, log_path: Path, concurrency: int = 2,
                 extra_env: dict[str, str] | None = None, via_cli: bool = False) -> None:
        self.broker_url = broker_url
        self.database_url = database_url
        self.queue = queue
        self.log_path = log_path
        self.concurrency = concurrency
        self.extra_env = extra_env or {}
        self.via_cli = via_cli  # ``subsync worker`` instead of ``celery -A subsync.worker.app worker``
        self.process: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    # -- life cycle ---------------------------------------------------------------------------------
    def start(self, timeout: float = 90) -> "WorkerPool":
        env = {key: value for key, value in os.environ.items() if not key.startswith("SUBSYNC_")}
        env.update({"SUBSYNC_BROKER_URL": self.broker_url, "SUBSYNC_DATABASE_URL": self.database_url,
                    "SUBSYNC_QUEUE": self.queue, "PYTHONUNBUFFERED": "1", **self.extra_env})
        self._log = self.log_path.open("ab")
        if self.via_cli:
            argv = [str(SUBSYNC), "worker", "--concurrency", str(self.concurrency), "--queue", self.queue,
                    "--loglevel", "INFO", "--hostname", f"{self.queue}@%h"]
        else:
            argv = [str(CELERY), "-A", "subsync.worker.app", "worker", "--concurrency", str(self.concurrency),
                    "--pool", "prefork", "--queues", self.queue, "--loglevel", "INFO", "--hostname",
                    f"{self.queue}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"]
        self.process = subprocess.Popen(
            argv,
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
            # The death signal follows the thread that started the child: only tie it to the main thread.
            preexec_fn=_die_with_parent if threading.current_thread() is threading.main_thread() else None,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the worker exited with {self.process.returncode}:\n{self.tail()}")
            if " ready." in self.text() and len(self.children()) >= self.concurrency:
                return self
            time.sleep(0.2)
        raise TimeoutError(f"the worker was not ready after {timeout}s:\n{self.tail()}")

    def stop(self, timeout: float = 60) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL of its process group if it lingers."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # forked children left behind, if any
        except ProcessLookupError:
            pass
        if self._log is not None:
            self._log.close()

    def __enter__(self) -> "WorkerPool":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- processes ----------------------------------------------------------------------------------
    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def children(self) -> list[int]:
        """The pool's worker processes (children of the main process)."""
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and _ppid(int(entry.name)) == self.pid:
                pids.append(int(entry.name))
        return sorted(pids)

    def kill(self, pid: int) -> None:
        if pid not in self.children():
            raise ValueError(f"{pid} is not a process of this pool")
        os.kill(pid, signal.SIGKILL)

    # -- the log ------------------------------------------------------------------------------------
    def text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.text().splitlines()[-lines:])

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        """The structlog events in the log (optionally only those called ``name``), in order."""
        found = []
        for line in self.text().splitlines():
            if not line.startswith("{"):
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a line cut by a killed process
            if name is None or event.get("event") == name:
                found.append(event)
        return found

    def busy_process(self) -> tuple[int, str] | None:
        """(pid, task id) of a pool process that has started a task and not finished it."""
        open_tasks: dict[str, int] = {}
        for event in self.events():
            if event.get("event") == "worker.task_started":
                open_tasks[event["task_id"]] = event["pid"]
            elif event.get("event") == "worker.task_finished":
                open_tasks.pop(event["task_id"], None)
        alive = set(self.children())
        for task_id, pid in reversed(list(open_tasks.items())):
            if pid in alive:
                return pid, task_id
        return None


__all__ = ["CELERY", "ROOT", "SUBSYNC", "WorkerPool", "peak_rss_mb"]
