"""How many examples each bad-input property runs.

``SUBSYNC_SCALE=ci`` (set by ``.ci/run``) runs the full budget: at least 10 000 malformed documents and
subscriptions in total, in about two minutes on the shared 2-core machine. Locally (no scale) a tenth
of it runs, so the suite stays quick while one works on it; ``SUBSYNC_SCALE=full`` runs three times the
CI budget.
"""

from __future__ import annotations

import os
from collections import Counter

from hypothesis import HealthCheck, settings

#: Examples run so far in this session, per property (printed at the end of the run by the conftest).
RUN: Counter[str] = Counter()

#: property → examples under SUBSYNC_SCALE=ci. Keep the sum at or above ``CI_TOTAL``.
CI_BUDGET: dict[str, int] = {
    "malformed_setup": 5_000,
    "arbitrary_mutation": 1_500,
    "huge_strings": 300,
    "malformed_yaml_text": 1_000,
    "file_readers": 400,
    "setups_list": 200,
    "edits": 1_200,
    "overlapping_edit": 400,
    "overlapping_view": 400,
    "store_import": 250,
    "free_text_round_trip": 60,
    "cli": 3,
}
CI_TOTAL = 10_000
_FACTOR = {"ci": 1.0, "full": 3.0}


def scale() -> str:
    return os.environ.get("SUBSYNC_SCALE", "")


def examples(name: str) -> int:
    """The number of examples of property ``name`` at the current scale (at least 2)."""
    factor = _FACTOR.get(scale(), 0.1)
    return max(2, int(CI_BUDGET[name] * factor))


def tally(name: str) -> None:
    """Count one example of property ``name``."""
    RUN[name] += 1


def budget(name: str, **overrides: object) -> settings:
    """Hypothesis settings for property ``name``: its example count, no deadline, no size health checks
    (the inputs are meant to be large)."""
    return settings(
        max_examples=examples(name),
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
            HealthCheck.filter_too_much,
        ],
        **overrides,  # type: ignore[arg-type]
    )
