"""Reports how many bad-input examples ran (``scale.RUN``), so a CI log shows the suite's real size.

Under pytest-xdist each worker counts its own examples and hands them to the controller, which prints
the total.
"""

from __future__ import annotations

import pytest

from tests.badinput.scale import RUN, scale

_KEY = "badinput_examples"


def pytest_sessionfinish(session) -> None:  # type: ignore[no-untyped-def]
    output = getattr(session.config, "workeroutput", None)
    if output is not None:  # an xdist worker
        output[_KEY] = dict(RUN)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:  # type: ignore[no-untyped-def]
    RUN.update(getattr(node, "workeroutput", {}).get(_KEY, {}))


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if not RUN:
        return
    parts = ", ".join(f"{name} {count}" for name, count in sorted(RUN.items()))
    terminalreporter.write_line(
        f"bad-input examples run: {sum(RUN.values())} (SUBSYNC_SCALE={scale() or 'unset'}: {parts})"
    )
