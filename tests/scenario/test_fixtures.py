"""Every scenario file under ``fixtures/`` runs, meets every ``expect`` and keeps its snapshot.

The snapshot holds the STATE after each step (plan text included) as compact JSON: one invoice line,
charge or validation issue per text line, so that a changed value shows as a one-line diff. Update with
``pytest tests/scenario --snapshot-update`` after checking the change is intended.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from subsync.scenario import render_text, run_scenario

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
FILES = sorted(FIXTURES.rglob("*.yaml"))


def compact_state(state: dict[str, Any]) -> str:
    """The STATE as JSON with every list entry of lines, charges and issues on one line."""

    def one_line(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    out = ["{"]
    keys = list(state)
    for position, key in enumerate(keys):
        value = state[key]
        comma = "," if position < len(keys) - 1 else ""
        if key == "invoices" and value:
            out.append('  "invoices": [')
            for index, invoice in enumerate(value):
                out.append("    {")
                fields = list(invoice)
                for f_index, field in enumerate(fields):
                    f_comma = "," if f_index < len(fields) - 1 else ""
                    entries = invoice[field]
                    if field in ("lines", "validation_issues") and entries:
                        out.append(f'      "{field}": [')
                        out += [f"        {one_line(e)}{',' if i < len(entries) - 1 else ''}" for i, e in enumerate(entries)]
                        out.append(f"      ]{f_comma}")
                    else:
                        out.append(f'      "{field}": {one_line(entries)}{f_comma}')
                out.append("    }" + ("," if index < len(value) - 1 else ""))
            out.append(f"  ]{comma}")
        elif key in ("charges", "credit_purchases") and value:
            out.append(f'  "{key}": [')
            out += [f"    {one_line(e)}{',' if i < len(value) - 1 else ''}" for i, e in enumerate(value)]
            out.append(f"  ]{comma}")
        elif key == "plan" and value is not None:
            plan_lines = value.splitlines()
            out.append('  "plan": [')
            out += [f"    {one_line(line)}{',' if i < len(plan_lines) - 1 else ''}" for i, line in enumerate(plan_lines)]
            out.append(f"  ]{comma}")
        else:
            out.append(f'  "{key}": {one_line(value)}{comma}')
    out.append("}")
    return "\n".join(out)


@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
def test_fixture(path: Path, snapshot) -> None:
    result = run_scenario(path)
    if result.failures:
        pytest.fail(f"{len(result.failures)} expectation(s) failed:\n{render_text(result)}", pytrace=False)
    for state in result.states:
        json.loads(compact_state(state))  # the snapshot form is valid JSON
    assert [compact_state(state) for state in result.states] == snapshot


def test_every_sync_catalogue_scenario_has_a_fixture() -> None:
    """The public catalogue minus S-035 (skipped upstream) and S-046/47 (two views of one subscription:
    tests/scenario/test_custom_currency_views.py); S-038, S-040 and S-041 run on the charges backend
    (credits: true)."""
    public = {1, 2, 4, 5, 7, 8, 10, 11, 13, 14, 16, 17, 19, 20, 22, 23, 25, 26, 28, 29, 31, 32, 34, 37, 38, 40, 41, 43, 44, 49}
    ported = {int(path.name[2:5]) for path in (FIXTURES / "sync").glob("S-0*.yaml")}
    assert ported == public


def test_every_credits_catalogue_scenario_through_sync_has_a_fixture() -> None:
    """The public credits catalogue up to C-056 (subscriptions synced onto charges); the credit-purchase
    service cases C-058 … C-065 are pytest tests of billing.credit_purchases."""
    public = {1, 2, 4, 5, 7, 8, 10, 11, 13, 14, 16, 17, 19, 20, 22, 23, 25, 26, 28, 29, 31, 32, 34, 35, 37, 38,
              40, 41, 43, 44, 46, 47, 49, 50, 52, 53, 55, 56}
    ported = {int(path.name[2:5]) for path in (FIXTURES / "credits").glob("C-0*.yaml")}
    assert ported == public
