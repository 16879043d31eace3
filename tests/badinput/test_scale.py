"""The bad-input suite's size under SUBSYNC_SCALE=ci: at least 10 000 generated examples in total."""

from __future__ import annotations

import re
from pathlib import Path

from tests.badinput import scale


def test_the_ci_budget_holds_at_least_ten_thousand_examples(monkeypatch):
    monkeypatch.setenv("SUBSYNC_SCALE", "ci")
    assert sum(scale.examples(name) for name in scale.CI_BUDGET) >= scale.CI_TOTAL >= 10_000


def test_every_budget_belongs_to_one_property():
    """A budget nobody uses would count towards the total without running."""
    sources = "".join(path.read_text() for path in Path(__file__).parent.glob("test_*.py"))
    used = re.findall(r'@budget\("([a-z_]+)"', sources)
    assert sorted(used) == sorted(scale.CI_BUDGET)
    assert all(sources.count(f'tally("{name}")') == 1 for name in scale.CI_BUDGET)


def test_locally_a_tenth_runs(monkeypatch):
    monkeypatch.delenv("SUBSYNC_SCALE", raising=False)
    assert scale.examples("malformed_setup") == scale.CI_BUDGET["malformed_setup"] // 10
    assert scale.examples("cli") == 2
