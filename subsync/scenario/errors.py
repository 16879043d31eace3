"""Errors of the scenario runner. Their categories (scenario-format §3.1) are set in ``subsync.errors``."""

from __future__ import annotations

from pathlib import Path


class ScenarioError(Exception):
    """Base of the runner's own errors."""


class ScenarioFormatError(ScenarioError, ValueError):
    """A malformed scenario file (exit code 2). Names the file, the step (None: the setup) and the field."""

    def __init__(self, message: str, *, file: str | Path, step: int | None = None, field: str | None = None) -> None:
        self.file = str(file)
        self.step = step
        self.field = field
        self.reason = message
        where = [self.file]
        if step is not None:
            where.append(f"steps[{step}]")
        if field:
            where.append(field)
        super().__init__(f"{': '.join(where)}: {message}")


class CreditsBackendRequiredError(ScenarioError, ValueError):
    """A credit operation in a scenario, while the credits (charges) backend is not available."""

    def __init__(self, operation: str) -> None:
        self.operation = operation
        super().__init__(f"{operation} needs the credits backend, which this build does not have")


class ReferenceNotFoundError(ScenarioError, LookupError):
    """An invoice or line reference of a step names nothing in the store."""


class AmbiguousReferenceError(ScenarioError, ValueError):
    """A reference that names more than one invoice or line."""


class DuplicateLineKeyError(ScenarioError, ValueError):
    """``create_line`` with a key an earlier ``create_line`` already used."""
