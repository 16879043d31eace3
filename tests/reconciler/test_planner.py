"""Preconditions and early exits (§3.4), matching order (§3.7), assembly (§3.15), operation labels per
collection (§4.6) and determinism (§4.8: the same inputs give equal plans)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patches.model import (
    ChargeCreate,
    ChargeDelete,
    ChargeExtend,
    ChargeShrink,
    GroupUpdate,
    LineDelete,
    LineUpdate,
    Operation,
    Plan,
    Shape,
)
from patches.render import render_json
from persistedstate.errors import DuplicateIdentityError
from persistedstate.state import PersistedState
from reconciler import plan, required_probes
from reconciler.errors import UnsupportedOperationError
from reconciler.settings import SyncSettings
from tests.reconciler.factories import Book, billing_flat, flat, ident, inputs, planning, scoped, t, target, unit

JAN = ("2025-01-01", "2025-02-01")
CREDITS = SyncSettings(credits_enabled=True)


# -- §3.4 ---------------------------------------------------------------------------------------------


def test_nothing_targeted_and_nothing_persisted_is_an_empty_plan_with_the_generation_limit() -> None:
    result = plan(inputs([], max_generation_time_limit="2025-02-01", as_of="2025-01-15", has_billables=False))
    assert result.is_empty and result.patches == () and result.issue_updates == ()
    assert result.max_generation_time_limit == t("2025-02-01")
    assert result.as_of == t("2025-01-15") and result.has_billables is False
    assert result.basis == PersistedState.empty().fingerprint


def test_nothing_in_scope_and_nothing_persisted_is_an_empty_plan() -> None:
    free = target(JAN, price=flat("0"))
    result = plan(inputs([free], max_generation_time_limit="2025-02-01"))
    assert result.is_empty and result.max_generation_time_limit == t("2025-02-01")


def test_two_in_scope_targets_with_one_identity_are_an_error() -> None:
    twin = target(JAN)
    with pytest.raises(DuplicateIdentityError, match="duplicate unique ids in the upcoming lines") as raised:
        plan(inputs([twin, twin]))
    assert raised.value.scope == "target" and raised.value.identity == twin.unique_id


# -- §3.7 and §3.15 ---------------------------------------------------------------------------------


def _mixed_book() -> Book:
    book = Book()
    book.gathering()
    book.standard("inv-b", "paid")
    book.standard("inv-a", "paid")
    book.line("l-z", "gathering", JAN, identity=ident("z"))  # deleted (no target)
    book.line("l-y", "gathering", JAN, identity=ident("y"))  # shrunk
    book.line("l-pa", "inv-a", JAN, identity=ident("pa"))  # immutable, deleted → issue on inv-a
    book.line("l-pb", "inv-b", JAN, identity=ident("pb"))  # immutable, deleted → issue on inv-b
    book.hierarchy(ident("h"), JAN, [("c1", "gathering", JAN)], group_id="grp-h", name="h")
    book.flat_fee_charge("ch-f", ident("f"), JAN)
    book.usage_charge("ch-u", ident("u"), JAN)
    return book


def _mixed_targets() -> list:  # type: ignore[type-arg]
    shorter = ("2025-01-01", "2025-01-20")
    return [
        target(shorter, item_key="y", name="api", full=JAN),
        target(shorter, item_key="h", full=JAN, billing=JAN),
        target(shorter, item_key="f", price=flat("10"), full=JAN),
        target(JAN, item_key="new-flat", price=flat("10")),
        target(JAN, item_key="a-new-usage", price=unit("1")),
    ]


def _mixed_plan() -> Plan:
    return plan(inputs(_mixed_targets(), _mixed_book(), settings=CREDITS, charges=True))


def test_patches_are_in_collection_order_deletes_first_then_sorted_identities() -> None:
    result = _mixed_plan()
    shapes = [p.shape.collection_rank for p in result.patches]
    assert shapes == sorted(shapes)
    lines = [(p.operation, p.identity) for p in result.patches if p.shape is Shape.LINE]
    assert lines == [(Operation.DELETE, ident("z")), (Operation.SHRINK, ident("y"))]
    usage = [(p.operation, p.identity) for p in result.patches if p.shape is Shape.USAGE_BASED_CHARGE]
    assert usage == [(Operation.DELETE, ident("u")), (Operation.CREATE, ident("a-new-usage"))]
    flat_fee = [(p.operation, p.identity) for p in result.patches if p.shape is Shape.FLAT_FEE_CHARGE]
    assert flat_fee == [(Operation.SHRINK, ident("f")), (Operation.CREATE, ident("new-flat"))]
    assert [p.identity for p in result.patches if p.shape is Shape.SPLIT_LINE_GROUP] == [ident("h")]


def test_plan_carries_the_issue_updates_in_invoice_order_and_every_invoice_header() -> None:
    result = _mixed_plan()
    assert [u.invoice_id for u in result.issue_updates] == ["inv-a", "inv-b"]
    headers = [(h.id, h.kind, h.status, h.invoice_class, h.currency) for h in result.invoices]
    assert headers == [
        ("gathering", "gathering", "gathering", "gathering", "USD"),
        ("inv-a", "standard", "paid", "immutable", "USD"),
        ("inv-b", "standard", "paid", "immutable", "USD"),
    ]


def test_plan_header_fields() -> None:
    book = _mixed_book()
    request = inputs(_mixed_targets(), book, settings=CREDITS, charges=True, as_of="2025-01-10",
                     max_generation_time_limit="2025-02-01")
    result = plan(request)
    assert (result.namespace, result.subscription_id, result.customer_id, result.currency) == ("ns", "sub-1", "cus-1", "USD")
    assert result.basis == request.persisted.fingerprint and result.as_of == t("2025-01-10")
    assert result.max_generation_time_limit == t("2025-02-01") and result.has_billables is True
    assert Plan.model_validate_json(render_json(result)) == result


# -- determinism --------------------------------------------------------------------------------------


def test_the_same_inputs_give_equal_plans() -> None:
    assert _mixed_plan() == _mixed_plan()
    request = inputs(_mixed_targets(), _mixed_book(), settings=CREDITS, charges=True)
    assert plan(request) == plan(request)
    assert required_probes(request) == required_probes(request)


@given(st.permutations(range(len(_mixed_targets()))), st.permutations(range(7)))
def test_plans_do_not_depend_on_the_order_of_targets_or_persisted_items(target_order, item_order) -> None:  # type: ignore[no-untyped-def]
    targets = _mixed_targets()
    book = _mixed_book()
    assert len(book.items) == 7
    book.items = [book.items[i] for i in item_order]
    shuffled = plan(inputs([targets[i] for i in target_order], book, settings=CREDITS, charges=True))
    assert shuffled == _mixed_plan()


# -- §4.6 operation labels per collection -------------------------------------------------------------


def _kinds(result) -> list[tuple[Operation, tuple[str, ...]]]:  # type: ignore[no-untyped-def]
    return [(p.operation, tuple(s.kind for s in p.steps)) for p in result.patches]


def _line_book(**fields) -> Book:  # type: ignore[no-untyped-def]
    book = Book()
    book.gathering()
    book.line("l1", "gathering", JAN, identity=ident(), **fields)
    return book


@pytest.mark.parametrize(
    ("targets", "fields", "expected"),
    [
        pytest.param([target(JAN)], None, [(Operation.CREATE, ("line_create",))], id="line create"),
        pytest.param([], {}, [(Operation.DELETE, ("line_delete",))], id="line delete"),
        pytest.param([target(("2025-01-01", "2025-01-20"), full=JAN)], {}, [(Operation.SHRINK, ("line_update",))], id="line shrink update"),
        pytest.param([target(("2025-01-20", "2025-01-20"), full=JAN)], {}, [(Operation.SHRINK, ("line_delete",))], id="line shrink delete"),
        pytest.param([target(("2025-01-01", "2025-02-10"), full=("2025-01-01", "2025-03-01"))], {}, [(Operation.EXTEND, ("line_update",))], id="line extend"),
        pytest.param([target(JAN, name="renamed")], {}, [(Operation.PRORATE, ("line_update",))], id="line prorate usage unchanged period"),
        pytest.param([target(("2025-01-01", "2025-02-10"), full=("2025-01-01", "2025-03-01"), price=flat("10"))],
                     {"price": billing_flat("10"), "invoice_at": "2025-01-01"}, [(Operation.PRORATE, ("line_update",))],
                     id="line prorate flat always"),
    ],
)
def test_line_collection_labels(targets, fields, expected) -> None:  # type: ignore[no-untyped-def]
    book = _line_book(**fields) if fields is not None else None
    assert _kinds(plan(inputs(targets, book))) == expected


def _group_book() -> Book:
    book = Book()
    book.gathering()
    book.standard("inv-d", "draft.waiting_for_collection")
    book.hierarchy(ident(), JAN, [("c1", "inv-d", ("2025-01-01", "2025-01-15")), ("c2", "gathering", ("2025-01-15", "2025-02-01"), {"invoice_at": "2025-02-01"})])
    return book


@pytest.mark.parametrize(
    ("service", "name", "expected"),
    [
        pytest.param(None, "api", [(Operation.DELETE, ("line_delete", "line_delete", "group_delete"))], id="hierarchy delete"),
        pytest.param(("2025-01-01", "2025-01-10"), "api", [(Operation.SHRINK, ("line_update", "line_delete", "group_update"))], id="hierarchy shrink"),
        pytest.param(("2025-01-01", "2025-02-10"), "api", [(Operation.EXTEND, ("line_update", "group_update"))], id="hierarchy extend"),
        pytest.param(JAN, "renamed", [(Operation.PRORATE, ("line_update", "line_update", "group_update"))], id="hierarchy prorate"),
    ],
)
def test_hierarchy_collection_labels(service, name, expected) -> None:  # type: ignore[no-untyped-def]
    targets = [] if service is None else [target(service, full=("2025-01-01", "2025-03-01"), billing=JAN, name=name)]
    assert _kinds(plan(inputs(targets, _group_book()))) == expected


def test_hierarchy_create_is_an_error() -> None:
    request = inputs([target(JAN)])
    ctx, collections = planning(request)
    with pytest.raises(UnsupportedOperationError):
        collections.hierarchy.add_create(scoped(ctx, request.target.items[0]))


@pytest.mark.parametrize("kind", ["flat", "usage"])
@pytest.mark.parametrize(
    ("service", "persisted", "expected"),
    [
        pytest.param(JAN, False, (Operation.CREATE, ChargeCreate), id="create"),
        pytest.param(None, True, (Operation.DELETE, ChargeDelete), id="delete"),
        pytest.param(("2025-01-01", "2025-01-15"), True, (Operation.SHRINK, ChargeShrink), id="shrink"),
        pytest.param(("2025-01-01", "2025-02-15"), True, (Operation.EXTEND, ChargeExtend), id="extend"),
    ],
)
def test_charge_collection_labels(kind, service, persisted, expected) -> None:  # type: ignore[no-untyped-def]
    book = Book()
    if persisted:
        (book.flat_fee_charge if kind == "flat" else book.usage_charge)("ch-1", ident(), JAN)
    price = flat("10") if kind == "flat" else unit("1")
    targets = [] if service is None else [target(service, price=price, full=("2025-01-01", "2025-03-01"))]
    (patch,) = plan(inputs(targets, book, settings=CREDITS, charges=True)).patches
    assert (patch.operation, type(patch.steps[0])) == expected
    assert patch.shape is (Shape.FLAT_FEE_CHARGE if kind == "flat" else Shape.USAGE_BASED_CHARGE)


def test_step_types_of_the_mixed_plan() -> None:
    """Every step kind the planner emits, in one plan, is one of the §4.4 payloads."""
    kinds = {type(step) for patch in _mixed_plan().patches for step in patch.steps}
    assert kinds == {LineUpdate, LineDelete, GroupUpdate, ChargeCreate, ChargeDelete, ChargeShrink}
