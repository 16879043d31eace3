"""The expect matcher (scenario-format §4), on hand-written STATE documents (no store)."""

from __future__ import annotations

import copy

import pytest

from subsync.scenario.compare import scalar_matches
from subsync.scenario.expect import check_expect_shape, match_expectations

A = "sub-1/p/a/v[0]/period[0]"
B = "sub-1/p/a/v[0]/period[1]"


def line(identity: str | None, **fields):
    base = {
        "identity": identity,
        "ref": None,
        "service_period": ["2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z"],
        "invoice_at": "2024-01-01T00:00:00Z",
        "per_unit_amount": "5.00",
        "quantity": "1",
        "price": {"type": "flat", "amount": "5", "payment_term": "in_advance"},
        "managed_by": "subscription",
        "deleted": False,
    }
    base.update(fields)
    return base


def state(**overrides):
    document = {
        "step": 0,
        "at": "2024-01-01T00:00:00Z",
        "do": "sync",
        "error": None,
        "invoice_count": {"gathering": 1, "standard": 1},
        "plan": "plan default/sub-1 …\n+ create invoice.line sub-1/p/a/v[0]/period[0]: …",
        "invoices": [
            {"ref": "gathering", "kind": "gathering", "status": "gathering", "lines": [
                line(A), line(B, service_period=["2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"]),
                line(B, deleted=True, per_unit_amount="6.00"),
            ]},
            {"ref": "standard[0]", "kind": "standard", "status": "paid", "validation_issues": [], "lines": [
                line(None, ref="manual/extra", managed_by="manual"),
            ]},
            {"ref": "standard[1]", "kind": "standard", "status": "deleted", "lines": []},
        ],
        "charges": [],
        "sync_state": {"has_billables": True, "synced_at": "2024-01-01T00:00:00Z", "next_sync_after": None},
    }
    document.update(overrides)
    return document


def failures(expect, actual=None, previous=None):
    return match_expectations(expect, actual or state(), step=3, previous=previous)[1]


def paths(expect, actual=None, previous=None):
    return [f.path for f in failures(expect, actual, previous)]


# -- mappings and scalars ------------------------------------------------------------------------------


def test_a_partial_mapping_matches_and_counts_its_checks():
    passed, problems = match_expectations(
        {"invoice_count": {"standard": 1}, "sync_state": {"has_billables": True}}, state(), step=0, previous=None
    )
    assert problems == [] and passed == 2


def test_a_wrong_value_names_the_path_with_expected_and_actual():
    (failure,) = failures({"sync_state": {"next_sync_after": "2024-02-01T00:00:00Z"}})
    assert (failure.step, failure.path, failure.expected, failure.actual) == (
        3, "sync_state.next_sync_after", "2024-02-01T00:00:00Z", None,
    )


@pytest.mark.parametrize(
    ("expected", "actual", "matches"),
    [
        ("5", "5.00", True),  # decimals numerically
        (5, "5.00", True),
        ("0.19", "0.190", True),
        ("6.51", "6.50", False),
        ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00+00:00", True),  # instants as instants
        ("2024-01-01T01:00:00+01:00", "2024-01-01T00:00:00Z", True),
        ("2024-01-01T00:00:00Z", "2024-01-01T00:00:01Z", False),
        ("*", "anything", True),
        ("*", None, False),
        (None, None, True),
        (None, "x", False),
        (True, True, True),
        (True, 1, False),  # booleans are not numbers
        ("in_advance", "in_arrears", False),
        ("sub-1/p/a/v[0]", "sub-1/p/a/v[0]", True),
    ],
)
def test_scalar_normalisation(expected, actual, matches):
    assert scalar_matches(expected, actual) is matches


def test_a_key_missing_from_the_state_fails():
    assert paths({"sync_state": {"nonexistent": 1}}) == ["sync_state.nonexistent"]


def test_lists_of_scalars_compare_element_by_element():
    assert paths({"invoices": {"gathering": {"lines_contain": [
        {"identity": A, "service_period": ["2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z"]}]}}}) == []
    assert paths({"invoices": {"gathering": {"lines_contain": [
        {"identity": A, "service_period": ["2024-02-01T00:00:00Z", "2024-01-01T00:00:00Z"]}]}}}) == [
        f"invoices.gathering.lines[{A}].service_period[0]", f"invoices.gathering.lines[{A}].service_period[1]"
    ]


def test_lists_of_mappings_match_as_multisets():
    issues = [{"path": "lines/x", "message": "m1"}, {"path": "lines/y", "message": "m2"}]
    document = state()
    document["invoices"][1]["validation_issues"] = issues
    assert paths({"invoices": {"standard[0]": {"validation_issues": list(reversed(issues))}}}, document) == []
    assert paths({"invoices": {"standard[0]": {"validation_issues": [issues[0]]}}}, document) == [
        "invoices.standard[0].validation_issues (count)"
    ]
    assert paths({"invoices": {"standard[0]": {"validation_issues": []}}}, document) == [
        "invoices.standard[0].validation_issues"
    ]


# -- invoices and line sets ----------------------------------------------------------------------------


def test_lines_are_an_exact_set_of_live_lines():
    assert paths({"gathering": {"lines": [{"identity": A}, {"identity": B}]}}) == []
    # a missing live line is reported …
    assert paths({"gathering": {"lines": [{"identity": A}]}}) == [f"gathering.lines[{B}]"]
    # … and so is a listed line that is not there
    assert paths({"gathering": {"lines": [{"identity": A}, {"identity": B}, {"identity": "sub-1/x"}]}}) == [
        "gathering.lines[sub-1/x]"
    ]


def test_deleted_lines_take_part_only_when_included():
    live_b = {"identity": B, "deleted": False}
    deleted_b = {"identity": B, "deleted": True, "per_unit_amount": "6"}
    assert paths({"gathering": {"lines": [{"identity": A}, live_b, deleted_b], "lines_include_deleted": True}}) == []
    # without the flag the deleted twin is invisible to the exact set …
    assert paths({"gathering": {"lines": [{"identity": A}, deleted_b]}}) == [
        f"gathering.lines[{B}].deleted", f"gathering.lines[{B}].per_unit_amount"
    ]
    # … and an identity that only has deleted lines is not in it at all
    only_deleted = state()
    only_deleted["invoices"][0]["lines"] = [line(A), line(B, deleted=True)]
    assert paths({"gathering": {"lines": [{"identity": A}]}}, only_deleted) == []
    assert paths({"gathering": {"lines": [{"identity": A}], "lines_include_deleted": True}}, only_deleted) == [
        f"gathering.lines[{B}]"
    ]


def test_entries_sharing_an_identity_each_need_their_own_match():
    twins = [{"identity": B, "per_unit_amount": "5"}, {"identity": B, "per_unit_amount": "6"}]
    assert paths({"gathering": {"lines_contain": twins}}) == []
    assert paths({"gathering": {"lines_contain": [{"identity": B, "per_unit_amount": "6"}] * 2}}) == [
        f"gathering.lines[{B}]"
    ]


def test_lines_contain_counts_deleted_entries_and_allows_others():
    assert paths({"gathering": {"lines_contain": [{"identity": B, "deleted": True}]}}) == []
    assert paths({"gathering": {"lines_contain": [{"identity": A, "per_unit_amount": "9.99"}]}}) == [
        f"gathering.lines[{A}].per_unit_amount"
    ]


def test_lines_absent_looks_at_live_lines_only():
    assert paths({"gathering": {"lines_absent": ["sub-1/none"]}}) == []
    assert paths({"gathering": {"lines_absent": [A]}}) == [f"gathering.lines[{A}]"]
    document = state()
    document["invoices"][0]["lines"] = [line(B, deleted=True)]
    assert paths({"gathering": {"lines_absent": [B]}}, document) == []


def test_lines_without_identity_are_keyed_by_ref():
    assert paths({"invoices": {"standard[0]": {"lines": [{"ref": "manual/extra", "managed_by": "manual"}]}}}) == []
    assert paths({"invoices": {"standard[0]": {"lines": []}}}) == ["invoices.standard[0].lines[manual/extra]"]


def test_gathering_none_and_invoice_references():
    assert paths({"gathering": "none"}) == ["gathering"]
    no_gathering = state(invoices=[{"ref": "standard[0]", "kind": "standard", "status": "paid", "lines": []}])
    assert paths({"gathering": "none"}, no_gathering) == []
    assert paths({"gathering": {"status": "gathering"}}, no_gathering) == ["gathering"]
    assert paths({"invoices": {"latest": {"status": "deleted"}, "standard[0]": {"status": "paid"}}}) == []
    assert paths({"invoices": {"standard[7]": {"status": "paid"}}}) == ["invoices.standard[7]"]


def test_plan_null_and_plan_contains():
    assert paths({"plan": None}) == ["plan"]
    assert paths({"plan": "*"}) == []
    assert paths({"plan_contains": ["+ create invoice.line", A]}) == []
    assert paths({"plan_contains": "- delete"}) == ["plan"]
    assert paths({"plan": None}, state(plan=None)) == []


# -- errors --------------------------------------------------------------------------------------------


def test_an_unexpected_error_fails_even_without_an_error_key():
    failed = state(error={"type": "ConflictError", "message": "boom"})
    assert paths({"invoice_count": {"standard": 1}}, failed) == ["error"]


def test_error_expectations():
    failed = state(error={"type": "ConflictError", "message": "invoice standard[0] is immutable"})
    previous = {k: copy.deepcopy(v) for k, v in failed.items()}
    assert paths({"error": {}}, failed, previous) == []
    assert paths({"error": {"type": "ConflictError", "message_contains": "immutable"}}, failed, previous) == []
    assert paths({"error": {"type": "NotFoundError"}}, failed, previous) == ["error.type"]
    assert paths({"error": {"message_contains": "mutable draft"}}, failed, previous) == ["error.message"]
    assert paths({"error": None}, failed) == ["error"]
    assert paths({"error": {"type": "ConflictError"}}) == ["error"]  # expected to fail, but succeeded


def test_an_expected_error_also_asserts_the_state_is_unchanged():
    failed = state(error={"type": "ConflictError", "message": "x"})
    previous = copy.deepcopy(failed)
    previous["invoice_count"] = {"gathering": 1, "standard": 2}
    assert paths({"error": {"type": "ConflictError"}}, failed, previous) == [
        "invoice_count (a failed step leaves the state unchanged)"
    ]


# -- shape check ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expect", "field"),
    [
        ({"gatering": {}}, "gatering"),
        ({"error": {"type": "Boom"}}, "error.type"),
        ({"error": {"kind": "ConflictError"}}, "error"),
        ({"gathering": {"lines": [{"per_unit_amount": "5"}]}}, "gathering.lines[0]"),
        ({"gathering": {"lines": {"identity": A}}}, "gathering.lines"),
        ({"invoices": {"standard[0]": {"lines_absent": [{"identity": A}]}}}, "invoices.standard[0].lines_absent"),
        ({"charges_include_deleted": "yes"}, "charges_include_deleted"),
        ({"plan_contains": 3}, "plan_contains"),
        ({"invoices": "standard[0]"}, "invoices"),
    ],
)
def test_malformed_expect_blocks_name_the_field(expect, field):
    with pytest.raises(ValueError) as info:
        check_expect_shape(expect)
    assert str(info.value).startswith(f"{field}:")


def test_well_formed_expect_blocks_pass_the_shape_check():
    check_expect_shape({
        "error": None, "gathering": "none", "invoices": {"standard[0]": {"status": "paid", "lines": [{"identity": A}]}},
        "charges_contain": [{"identity": A}], "charges_absent": [B], "plan_contains": ["x"], "sync_state": None,
    })
