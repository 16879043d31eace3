"""Plan value properties over generated plans (reconciler.md §4.10, §11 item 7)."""

from __future__ import annotations

from hypothesis import given

from patches.render import load_plan, render_json, render_text
from tests.patches.strategies import plans


@given(plans())
def test_json_round_trip_gives_an_equal_plan_with_the_same_texts(plan):
    loaded = load_plan(render_json(plan))
    assert loaded == plan
    assert hash(loaded) == hash(plan)
    assert render_json(loaded) == render_json(plan)
    assert render_text(loaded) == render_text(plan)


@given(plans())
def test_text_has_one_line_per_entry_and_no_ids(plan):
    lines = render_text(plan).splitlines()
    entries = len(plan.reference_repairs) + len(plan.patches) + sum(len(u.add) + len(u.remove) for u in plan.issue_updates)
    assert len(lines) == 1 + max(entries, 1)
    assert lines[1:] == ["(no changes)"] if plan.is_empty else all(line[:1] in "*+-~!" for line in lines[1:])
    text = "\n".join(lines)
    assert "LINE-" not in text and "GROUP-" not in text and "CH-" not in text
