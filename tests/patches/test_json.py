"""The stored form of a plan (reconciler.md §4.10): render_json, load_plan, PlanFormatError."""

from __future__ import annotations

import json

import pytest

from patches.errors import PlanFormatError
from patches.model import Plan
from patches.render import load_plan, render_json, render_text
from tests.patches.examples import EXAMPLES, example_b
from tests.patches.plans import PLANS_BY_SHAPE, line_plan

ALL_PLANS = [build for _, build, _ in EXAMPLES] + list(PLANS_BY_SHAPE.values())


@pytest.mark.parametrize("shape", list(PLANS_BY_SHAPE))
def test_render_json_snapshot(shape, snapshot):
    """One JSON snapshot per shape, pretty-printed for review (key order and values as rendered)."""
    text = render_json(PLANS_BY_SHAPE[shape]())
    assert json.dumps(json.loads(text), indent=2, ensure_ascii=False) == snapshot


@pytest.mark.parametrize("build", ALL_PLANS)
def test_round_trip_gives_an_equal_plan_and_the_same_texts(build):
    plan = build()
    loaded = load_plan(render_json(plan))
    assert loaded == plan
    assert hash(loaded) == hash(plan)
    assert render_json(loaded) == render_json(plan)
    assert render_text(loaded) == render_text(plan)
    assert Plan.model_validate_json(render_json(plan)) == plan


def test_render_json_is_model_dump_json():
    plan = example_b()
    assert render_json(plan) == plan.model_dump_json()


def test_json_values_decimals_as_strings_instants_with_z_enums_as_values_declared_key_order():
    document = json.loads(render_json(line_plan()))
    assert list(document) == list(Plan.model_fields)
    assert document["format_version"] == 1
    assert document["as_of"] == "2024-01-02T00:00:00Z"
    prorate = document["patches"][2]
    assert prorate["operation"] == "prorate" and prorate["shape"] == "invoice.line"
    step = prorate["steps"][0]
    assert step["kind"] == "line_update" and step["change_source"] == "system"
    assert step["changes"]["per_unit_amount"] == {"old": "6", "new": "0.19"}
    assert step["changes"]["invoice_at"]["new"] == "2024-01-01T12:00:00Z"
    assert list(step["changes"]) == [
        "service_period", "invoice_at", "per_unit_amount", "price", "rate_card_discounts", "name", "tax_config", "deleted_at"
    ]


def _document(**changes):
    document = json.loads(render_json(example_b()))
    document.update(changes)
    return json.dumps(document)


def _mangled_step():
    document = json.loads(render_json(example_b()))
    document["patches"][1]["steps"] = []
    return json.dumps(document)


BAD_DOCUMENTS = [
    ("not JSON", "{plan", "not valid JSON"),
    ("not an object", "[1, 2]", "must be a JSON object"),
    ("no format_version", json.dumps({"namespace": "ns"}), "format_version None"),
    ("format_version 2", _document(format_version=2), "format_version 2"),
    ("format_version true", _document(format_version=True), "format_version True"),
    ("format_version as string", _document(format_version="1"), "format_version '1'"),
    ("an invalid patch", _mangled_step(), "at least one step"),
    ("an unknown field", _document(extra="x"), "Extra inputs"),
    ("a float amount", render_json(line_plan()).replace('"new":"0.19"', '"new":0.19'), "not floats"),
]


@pytest.mark.parametrize(("case", "text", "message"), BAD_DOCUMENTS, ids=[case for case, _, _ in BAD_DOCUMENTS])
def test_unreadable_plans_raise_plan_format_error(case, text, message):
    with pytest.raises(PlanFormatError, match=message):
        load_plan(text)


def test_plan_format_error_names_the_subscription_when_it_can():
    with pytest.raises(PlanFormatError) as caught:
        load_plan(_mangled_step())
    assert caught.value.subscription_id == "sub-2"
    assert caught.value.customer_id == "cus-2"
    assert "subscription sub-2" in str(caught.value)


def test_load_plan_accepts_bytes():
    assert load_plan(render_json(example_b()).encode()) == example_b()
