"""render_text of the worked examples of reconciler.md §9.1: the exact spec texts, plus snapshots
(§11 item 6) of those and of the empty plan."""

from __future__ import annotations

import pytest

from patches.render import render_text
from tests.patches.builders import plan
from tests.patches.examples import EXAMPLE_B_TEXT, EXAMPLES, example_b


@pytest.mark.parametrize(("name", "build", "expected"), EXAMPLES, ids=[name for name, _, _ in EXAMPLES])
def test_worked_example_renders_the_spec_text(name, build, expected):
    lines = render_text(build()).splitlines()
    assert lines[1:] == expected


def test_example_b_is_the_rendering_example_of_4_9_header_included():
    assert render_text(example_b()) == EXAMPLE_B_TEXT


@pytest.mark.parametrize(("name", "build", "expected"), EXAMPLES, ids=[name for name, _, _ in EXAMPLES])
def test_worked_example_snapshot(name, build, expected, snapshot):
    assert render_text(build()) == snapshot


def test_empty_plan_snapshot(snapshot):
    empty = plan(subscription_id="sub-0", customer_id="cus-0", as_of="2025-01-01", max_generation_time_limit=None)
    assert empty.is_empty
    assert render_text(empty) == snapshot


def test_worked_example_with_scenario_names_snapshot(snapshot):
    """The scenario runner names standard invoices ``standard[N]``; ``gathering`` keeps its default."""
    names = {"inv-5": "standard[0]", "inv-7": "standard[1]"}
    assert render_text(example_b(), names) == snapshot
