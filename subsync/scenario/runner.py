"""Running a scenario file: a fresh store, the frozen clock, each step in its own unit of work.

``run_scenario(path)`` validates the whole file first (``ScenarioFormatError``, exit code 2), then
runs the steps in order. A step first moves the clock to its ``at``, then runs its operation inside
one transaction: when the operation raises a project error the transaction rolls back, the state is
left as it was and the STATE records ``error: {type, message}`` with the error's category
(``subsync.errors``). Any other exception is a bug and propagates. After every step the STATE is
projected from the store and the step's ``expect`` block is matched against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from subsync.errors import describe_error
from subsync.scenario.document import Scenario, load_scenario
from subsync.scenario.errors import ScenarioFormatError
from subsync.scenario.expect import Failure, match_expectations
from subsync.scenario.operations import OPERATIONS
from subsync.scenario.references import scrub_ids
from subsync.scenario.state import STATE_KEYS, Projector, iso
from subsync.scenario.steps import StepBase
from subsync.scenario.world import create_world

log = structlog.get_logger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_MALFORMED = 2


@dataclass(frozen=True)
class StepResult:
    index: int
    step: StepBase
    state: dict[str, Any]
    passed: int
    failures: tuple[Failure, ...]

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    file: str
    description: str | None
    steps: tuple[StepResult, ...]

    @property
    def passed(self) -> int:
        return sum(step.passed for step in self.steps)

    @property
    def failures(self) -> tuple[Failure, ...]:
        return tuple(failure for step in self.steps for failure in step.failures)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def states(self) -> list[dict[str, Any]]:
        return [step.state for step in self.steps]

    def document(self) -> dict[str, Any]:
        """The JSON document of scenario-format §3."""
        return {
            "name": self.name,
            "steps": self.states,
            "expectations": {"passed": self.passed, "failed": [f.as_dict() for f in self.failures]},
        }


def run_scenario(path: str | Path, *, step: int | None = None) -> ScenarioResult:
    """Run the scenario file ``path`` on a fresh in-memory store; with ``step``, stop after that step.

    Raises ``ScenarioFormatError`` when the file is malformed (nothing runs then).
    """
    scenario = load_scenario(path)
    if step is not None and not 0 <= step < len(scenario.steps):
        raise ScenarioFormatError(
            f"--step {step}: the file has {len(scenario.steps)} step(s), numbered from 0", file=path, field="--step"
        )
    steps = scenario.steps if step is None else scenario.steps[: step + 1]
    return _run(scenario, steps)


def _run(scenario: Scenario, steps: tuple[StepBase, ...]) -> ScenarioResult:
    try:
        world = create_world(scenario)
    except Exception as exc:
        # The setup itself is refused (e.g. a customer currency billing does not know): a malformed file.
        if describe_error(exc) is None:
            raise
        raise ScenarioFormatError(f"the setup cannot be created: {exc}", file=scenario.file, field="customer") from exc
    results: list[StepResult] = []
    try:
        projector = Projector(world)
        previous = projector.body()
        for index, step in enumerate(steps):
            if step.at is not None:
                world.clock.move_to(step.at)
            error: dict[str, str] | None = None
            plan: str | None = None
            bound = log.bind(scenario=scenario.name, step=index, do=step.do, at=iso(world.clock.now()))
            try:
                with world.store.unit_of_work():
                    outcome = OPERATIONS[step.do](world, step)
            except Exception as exc:
                error = describe_error(exc)
                if error is None:
                    raise
                error["message"] = scrub_ids(error["message"], world)
                bound.info("scenario.step_failed", error_type=error["type"], error=error["message"])
            else:
                plan = outcome.plan
                if outcome.view is not None:
                    world.view = outcome.view
                if outcome.settings is not None:
                    world.settings = outcome.settings
            body = projector.body()
            state = {
                "step": index, "at": iso(world.clock.now()), "do": step.do, "error": error, "plan": plan, **body,
            }
            state = {key: state[key] for key in STATE_KEYS}
            if step.expect is not None:
                passed, failures = match_expectations(step.expect, state, step=index, previous=previous)
            else:
                passed, failures = 0, ([] if error is None else [Failure(index, "error", None, error)])
            results.append(StepResult(index, step, state, passed, tuple(failures)))
            previous = body
    finally:
        world.close()
    return ScenarioResult(
        name=scenario.name, file=str(scenario.file), description=scenario.description, steps=tuple(results)
    )


def exit_code(outcome: ScenarioResult | ScenarioFormatError) -> int:
    """0 when every expectation held, 1 when any failed, 2 for a malformed file."""
    if isinstance(outcome, ScenarioFormatError):
        return EXIT_MALFORMED
    return EXIT_OK if outcome.ok else EXIT_FAILED


def run_for_cli(path: str | Path, *, step: int | None = None, output: str = "text") -> tuple[str, int]:
    """What ``subsync scenario run FILE [--step N] [--format text|json]`` prints, and its exit code.

    A malformed file gives its error message (for stderr) and exit code 2.
    """
    from subsync.scenario.render import render_json, render_text

    if output not in ("text", "json"):
        raise ValueError(f"--format must be text or json, got {output!r}")
    try:
        result = run_scenario(path, step=step)
    except ScenarioFormatError as exc:
        return f"error: {exc}", exit_code(exc)
    text = render_json(result) if output == "json" else render_text(result)
    return text, exit_code(result)
