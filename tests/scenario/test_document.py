"""Malformed scenario files: a ``ScenarioFormatError`` naming the file, the step and the field; exit 2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from subsync.scenario import EXIT_MALFORMED, ScenarioFormatError, exit_code, run_for_cli, run_scenario
from subsync.scenario.document import load_scenario

BASE: dict[str, Any] = {
    "name": "format check",
    "clock": "2024-01-01T00:00:00Z",
    "plan": {
        "phases": [
            {"key": "p", "rate_cards": [
                {"key": "fee", "type": "flat_fee", "price": {"type": "flat", "amount": "5"}, "billing_cadence": "P1M"}
            ]}
        ]
    },
}


def write(tmp_path: Path, document: dict[str, Any] | str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else yaml.safe_dump(document), encoding="utf-8")
    return path


def with_steps(*steps: dict[str, Any], **setup: Any) -> dict[str, Any]:
    return {**BASE, **setup, "steps": list(steps)}


def without(key: str) -> dict[str, Any]:
    return {k: v for k, v in BASE.items() if k != key}


SETUP_CASES = [
    ("missing name", without("name"), "name", "is required"),
    ("missing clock", without("clock"), "clock", "is required"),
    ("naive clock", {**BASE, "clock": "2024-01-01T00:00:00"}, "clock", "timezone-aware"),
    ("unknown top-level key", {**BASE, "stepz": []}, "stepz", "unknown field"),
    ("unknown setting", {**BASE, "settings": {"credit": True}}, "settings.credit", "unknown field"),
    ("bad payment app", {**BASE, "payment_app": "paypal"}, "payment_app", "auto"),
    ("fiat custom currency", {**BASE, "currencies": [{"code": "USD", "precision": 2}]}, "currencies[0].code", "ISO 4217"),
    (
        "negative price",
        {**BASE, "plan": {"phases": [{"key": "p", "rate_cards": [
            {"key": "fee", "type": "flat_fee", "price": {"type": "flat", "amount": "-5"}}]}]}},
        "phase 'p', rate card 'fee': price.amount",
        "must not be negative",
    ),
    (
        "undeclared meter",
        {**BASE, "meters": [{"key": "other"}], "plan": {"phases": [{"key": "p", "rate_cards": [
            {"key": "fee", "type": "usage_based", "feature": "api-requests-total", "billing_cadence": "P1M",
             "price": {"type": "unit", "amount": "1"}}]}]}},
        "phase 'p', rate card 'fee': feature",
        "no meter 'api-requests-total'",
    ),
]

STEP_CASES = [
    ("no do", [{"at": "2024-01-02T00:00:00Z"}], 0, "do", "is required"),
    ("unknown operation", [{"do": "sync"}, {"do": "synk"}], 1, "do", "unknown operation 'synk'"),
    ("bad instant", [{"do": "sync"}, {"do": "sync", "as_of": "yesterday"}], 1, "as_of", "not an RFC 3339 instant"),
    ("unknown argument", [{"do": "sync", "asof": "2024-01-01T00:00:00Z"}], 0, "asof", "unknown field"),
    ("bad trigger", [{"do": "sync", "trigger": "cron"}], 0, "trigger", "explicit"),
    ("clock backwards", [{"do": "sync", "at": "2024-01-02T00:00:00Z"}, {"do": "sync", "at": "2024-01-01T12:00:00Z"}],
     1, "at", "backwards"),
    ("clock before start", [{"do": "sync", "at": "2023-12-31T00:00:00Z"}], 0, "at", "backwards"),
    ("bad invoice reference", [{"do": "approve_invoice", "invoice": "standard[x]"}], 0, "invoice", "standard[N]"),
    ("bad containing reference", [{"do": "void_invoice", "invoice": {"holding": "x"}}], 0, "invoice", "containing"),
    ("payment event", [{"do": "payment", "invoice": "latest", "event": "refunded"}], 0, "event", "paid"),
    ("float usage", [{"do": "usage", "events": [{"time": "2024-01-01T00:00:00Z", "value": 1.5}]}], 0,
     "events[0].value", "not floats"),
    ("cancel without a time", [{"do": "cancel"}], 0, None, "effective_at or immediate"),
    ("edit without ops", [{"do": "edit_subscription", "ops": []}], 0, "ops", "must not be empty"),
    ("unknown edit", [{"do": "edit_subscription", "ops": [{"rename_item": {}}]}], 0, "ops[0]", "unknown edit"),
    (
        "bad rate card in an edit",
        [{"do": "edit_subscription", "ops": [{"add_item": {"phase": "p", "rate_card": {
            "key": "x", "type": "flat_fee", "price": {"type": "flat", "amount": "abc"}}}}]}],
        0, "ops[0].add_item.rate_card", "price.amount: not a decimal amount",
    ),
    ("line kind vs price", [{"do": "create_line", "invoice": "gathering", "key": "k", "line": {
        "kind": "usage_based", "name": "x", "service_period": ["2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z"],
        "price": {"type": "flat", "amount": "1"}}}], 0, "line", "does not fit"),
    ("edit_line without fields", [{"do": "edit_line", "invoice": "gathering", "line": "x", "set": {}}], 0, "set",
     "names no field"),
    ("unknown expect key", [{"do": "sync", "expect": {"gatering": "none"}}], 0, "expect.gatering", "unknown key"),
    ("line entry without identity", [{"do": "sync", "expect": {"gathering": {"lines": [{"quantity": "1"}]}}}], 0,
     "expect.gathering.lines[0]", "identity"),
    ("unknown error category", [{"do": "sync", "expect": {"error": {"type": "Oops"}}}], 0, "expect.error.type",
     "must be one of"),
]


@pytest.mark.parametrize(("document", "field", "reason"), [c[1:] for c in SETUP_CASES], ids=[c[0] for c in SETUP_CASES])
def test_a_malformed_setup_names_the_file_and_field(tmp_path, document, field, reason):
    path = write(tmp_path, document)
    with pytest.raises(ScenarioFormatError) as info:
        run_scenario(path)
    error = info.value
    assert (error.file, error.step, error.field) == (str(path), None, field)
    assert reason in error.reason
    assert str(error).startswith(f"{path}: {field}: ")
    assert exit_code(error) == EXIT_MALFORMED


@pytest.mark.parametrize(("steps", "index", "field", "reason"), [c[1:] for c in STEP_CASES], ids=[c[0] for c in STEP_CASES])
def test_a_malformed_step_names_the_file_step_and_field(tmp_path, steps, index, field, reason):
    path = write(tmp_path, with_steps(*steps))
    with pytest.raises(ScenarioFormatError) as info:
        load_scenario(path)
    error = info.value
    assert (error.file, error.step, error.field) == (str(path), index, field)
    assert reason in error.reason
    assert f"steps[{index}]" in str(error)


def test_invalid_yaml_and_non_mapping_documents(tmp_path):
    for text in ("name: [unclosed\n", "- just\n- a list\n"):
        path = write(tmp_path, text)
        with pytest.raises(ScenarioFormatError) as info:
            load_scenario(path)
        assert info.value.file == str(path) and info.value.step is None


def test_a_missing_file_is_malformed(tmp_path):
    with pytest.raises(ScenarioFormatError) as info:
        load_scenario(tmp_path / "nope.yaml")
    assert "cannot read the file" in str(info.value)


def test_nothing_runs_when_a_later_step_is_malformed(tmp_path):
    """The whole file is validated before the first step runs: no partial result."""
    path = write(tmp_path, with_steps({"do": "sync"}, {"do": "sync"}, {"do": "nope"}))
    text, code = run_for_cli(path)
    assert code == 2
    assert text.startswith("error: ") and "steps[2]: do: unknown operation" in text


def test_step_option_out_of_range(tmp_path):
    path = write(tmp_path, with_steps({"do": "sync"}))
    with pytest.raises(ScenarioFormatError) as info:
        run_scenario(path, step=1)
    assert info.value.field == "--step" and "1 step(s)" in info.value.reason


def test_a_well_formed_file_loads_with_defaults(tmp_path):
    scenario = load_scenario(write(tmp_path, with_steps({"do": "sync"}, {"do": "cancel", "immediate": True})))
    assert scenario.name == "format check"
    assert scenario.settings.credits is False and scenario.settings.credit_then_invoice is True
    assert scenario.payment_app == "auto"
    assert [m.key for m in scenario.meters] == ["api-requests-total"]
    assert (scenario.namespace, scenario.customer_id, scenario.subscription_id) == ("default", "test-customer", "sub-1")
    assert scenario.view.subscription.active_from == scenario.clock
    assert [step.do for step in scenario.steps] == ["sync", "cancel"]


def test_a_setup_billing_refuses_is_malformed(tmp_path):
    """The customer's currency is checked by billing when the store is set up: still exit code 2."""
    path = write(tmp_path, {**BASE, "customer": {"currency": "XYZ"}})
    with pytest.raises(ScenarioFormatError) as info:
        run_scenario(path)
    assert info.value.field == "customer" and "currency 'XYZ'" in info.value.reason
    assert run_for_cli(path)[1] == EXIT_MALFORMED
