"""The scenario runner: test clocks for subscription sync (scenario-format.md).

``run_scenario(path, step=None)`` runs a scenario file on a fresh in-memory store and returns a
``ScenarioResult`` (one STATE per step and the outcome of every ``expect``); ``render_text`` and
``render_json`` draw it; ``exit_code`` maps a result (or a ``ScenarioFormatError``) to 0 / 1 / 2, and
``run_for_cli`` does all three for ``subsync scenario run``.
"""

from subsync.scenario.errors import ScenarioFormatError
from subsync.scenario.render import render_json, render_text
from subsync.scenario.runner import (
    EXIT_FAILED,
    EXIT_MALFORMED,
    EXIT_OK,
    ScenarioResult,
    StepResult,
    exit_code,
    run_for_cli,
    run_scenario,
)

__all__ = [
    "EXIT_FAILED",
    "EXIT_MALFORMED",
    "EXIT_OK",
    "ScenarioFormatError",
    "ScenarioResult",
    "StepResult",
    "exit_code",
    "render_json",
    "render_text",
    "run_for_cli",
    "run_scenario",
]
