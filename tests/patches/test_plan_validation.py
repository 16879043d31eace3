"""Plan invariants (reconciler.md §3.13, §3.15, §4.7, §4.8) and the value behaviour of every model:
frozen, hashable, equal by content."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from billing.invoices import ValidationIssue
from patches.model import (
    Change,
    ChargeCreate,
    ChargeDelete,
    InvoiceHeader,
    IssueLine,
    IssueUpdate,
    LineChanges,
    LineDelete,
    LineUpdate,
    Patch,
    Plan,
    ReferenceRepair,
)
from tests.patches.builders import (
    GATHERING_ID,
    at,
    change,
    create_step,
    draft,
    drift_issue,
    flat_intent,
    gathering,
    new_line,
    paid,
    period,
    plan,
    standalone,
    unit,
)
from tests.patches.examples import example_b

ID_1, ID_2 = "sub-1/main/a/v[0]/period[0]", "sub-1/main/b/v[0]/period[0]"
INVOICES = (gathering(), draft("inv-2"), paid("inv-3"))


def line_delete(identity: str = ID_1, invoice_id: str = GATHERING_ID) -> Patch:
    return Patch(
        operation="delete",
        identity=identity,
        shape="invoice.line",
        subscription_id="sub-1",
        steps=(LineDelete(line=standalone("LINE-1", invoice_id, identity, "2025-01-01", "2025-02-01")),),
    )


def invoice_at_update(invoice_id: str) -> Patch:
    return Patch(
        operation="prorate",
        identity=ID_1,
        shape="invoice.line",
        subscription_id="sub-1",
        steps=(
            LineUpdate(
                line=standalone("LINE-1", invoice_id, ID_1, "2025-01-01", "2025-02-01"),
                changes=LineChanges(invoice_at=change(at("2025-02-01"), at("2025-01-01"))),
            ),
        ),
    )


def charge_delete(identity: str, charge_id: str, shape: str = "charge.flat_fee") -> Patch:
    return Patch(operation="delete", identity=identity, shape=shape, subscription_id="sub-1", steps=(ChargeDelete(charge_id=charge_id),))


def charge_create(identity: str = ID_1, **intent) -> Patch:
    return Patch(
        operation="create",
        identity=identity,
        shape="charge.flat_fee",
        subscription_id="sub-1",
        steps=(ChargeCreate(intent=flat_intent(identity, **intent)),),
    )


def issues(invoice_id: str = "inv-3", **fields) -> IssueUpdate:
    values = dict(
        add=(drift_issue("LINE-9", "line should be deleted, but the invoice is immutable"),),
        lines=(IssueLine(line_id="LINE-9", identity=ID_2),),
    )
    values.update(fields)
    return IssueUpdate(invoice_id=invoice_id, **values)


def repair(identity: str = ID_1, charge_id: str = "CH-1", shape: str = "charge.flat_fee", old: str = "ITEM-1", new: str = "ITEM-2") -> ReferenceRepair:
    return ReferenceRepair(identity=identity, shape=shape, charge_id=charge_id, item_id=Change(old=old, new=new))


def line_create_in(currency: str) -> Patch:
    line = new_line(identity=ID_1, service_period=period("2025-01-01", "2025-02-01"), invoice_at=at("2025-02-01"), price=unit("1"))
    return Patch(operation="create", identity=ID_1, shape="invoice.line", subscription_id="sub-1", steps=(create_step(line, currency),))


INVALID_PLANS = [
    ("two charge steps for one charge id", lambda: plan(patches=(charge_delete(ID_1, "CH-1"), charge_delete(ID_2, "CH-1"))), "second charge step for charge CH-1"),
    (
        "one charge id in both charge collections",
        lambda: plan(patches=(charge_delete(ID_1, "CH-1"), charge_delete(ID_2, "CH-1", "charge.usage_based"))),
        "second charge step for charge CH-1",
    ),
    ("two patches for one identity", lambda: plan(patches=(line_delete(), line_delete()), invoices=INVOICES), "second patch for the identity"),
    ("patches out of collection order", lambda: plan(patches=(charge_delete(ID_2, "CH-1"), line_delete()), invoices=INVOICES), "collection order"),
    ("patch of another subscription", lambda: plan(subscription_id="sub-9", patches=(line_delete(),), invoices=INVOICES), "belongs to subscription sub-1"),
    ("line step on an immutable invoice", lambda: plan(patches=(line_delete(invoice_id="inv-3"),), invoices=INVOICES), "on immutable invoice inv-3"),
    (
        "line step on a deleted gathering invoice",
        lambda: plan(patches=(line_delete(invoice_id="gat-0"),), invoices=(InvoiceHeader(id="gat-0", kind="gathering", status="gathering", invoice_class="gone", currency="USD"),)),
        "on gone invoice gat-0",
    ),
    ("line step on an unknown invoice", lambda: plan(patches=(line_delete(invoice_id="inv-7"),), invoices=INVOICES), "invoice inv-7 is not among"),
    ("invoice_at of a standard line", lambda: plan(patches=(invoice_at_update("inv-2"),), invoices=INVOICES), "invoice_at of a standard line"),
    ("new line in another currency", lambda: plan(patches=(line_create_in("EUR"),)), "new line in EUR"),
    ("intent for another customer", lambda: plan(patches=(charge_create(customer_id="cus-9"),)), "not the plan's customer"),
    ("intent in another currency", lambda: plan(patches=(charge_create(currency="EUR"),)), "not the plan's customer and currency"),
    ("intent of another subscription", lambda: plan(patches=(charge_create(subscription_id="sub-9"),)), "references subscription sub-9"),
    ("issues on a mutable invoice", lambda: plan(issue_updates=(issues("inv-2"),), invoices=INVOICES), "only for immutable invoices"),
    ("issues on an unknown invoice", lambda: plan(issue_updates=(issues("inv-8"),), invoices=INVOICES), "only for immutable invoices"),
    ("two issue updates for one invoice", lambda: plan(issue_updates=(issues(), issues()), invoices=INVOICES), "invoice-id order, one per invoice"),
    ("repairs out of identity order", lambda: plan(reference_repairs=(repair(ID_2, "CH-2"), repair(ID_1, "CH-1"))), "identity order"),
    ("two repairs of one charge", lambda: plan(reference_repairs=(repair(ID_1), repair(ID_2))), "more than one reference repair"),
    ("invoices out of id order", lambda: plan(invoices=(draft("inv-2"), gathering())), "invoices must be in id order"),
    ("an invoice twice", lambda: plan(invoices=(draft("inv-2"), draft("inv-2"))), "invoices must be in id order"),
    ("another format version", lambda: plan(format_version=2), "format_version"),
    ("basis that is no fingerprint", lambda: Plan(namespace="ns", subscription_id="s", customer_id="c", currency="USD", as_of=at("2025-01-01"), basis="abc", has_billables=True), "basis"),
    ("naive as_of", lambda: Plan(namespace="ns", subscription_id="s", customer_id="c", currency="USD", as_of=dt.datetime(2025, 1, 1), basis="0" * 64, has_billables=True), "timezone"),
    ("unknown field", lambda: plan(comment="hi"), "Extra inputs"),
]


@pytest.mark.parametrize(("case", "build", "message"), INVALID_PLANS, ids=[case for case, _, _ in INVALID_PLANS])
def test_invalid_plans_fail_validation(case, build, message):
    with pytest.raises(ValidationError, match=message):
        build()


INVALID_ENTRIES = [
    ("issue update with nothing", lambda: IssueUpdate(invoice_id="inv-3"), "add or remove must be non-empty"),
    (
        "issues out of (path, message) order",
        lambda: issues(
            add=(drift_issue("LINE-9", "line should be deleted, but the invoice is immutable"), drift_issue("LINE-8", "line should be deleted, but the invoice is immutable")),
            lines=(IssueLine(line_id="LINE-8", identity=ID_1), IssueLine(line_id="LINE-9", identity=ID_2)),
        ),
        "sorted by \\(path, message\\)",
    ),
    ("an issue added twice", lambda: issues(add=(drift_issue("LINE-9", "m"), drift_issue("LINE-9", "m"))), "the same issue twice"),
    ("an issue added and removed", lambda: issues(add=(drift_issue("LINE-9", "m"),), remove=(drift_issue("LINE-9", "m", "critical"),)), "both added and removed"),
    (
        "an issue sync does not own",
        lambda: issues(add=(ValidationIssue(severity="warning", code="x", message="m", component="charges.invoiceupdater", path="lines/LINE-9"),)),
        "only touches its own issues",
    ),
    ("a path naming no listed line", lambda: issues(lines=(IssueLine(line_id="LINE-1", identity=ID_1),)), "does not name a line"),
    ("a listed line no issue names", lambda: issues(lines=(IssueLine(line_id="LINE-9", identity=ID_2), IssueLine(line_id="LINE-1", identity=ID_1))), "named by no issue"),
    ("a line listed twice", lambda: issues(lines=(IssueLine(line_id="LINE-9", identity=ID_2), IssueLine(line_id="LINE-9", identity=ID_2))), "names a line twice"),
    ("repair with the same item", lambda: repair(new="ITEM-1"), "does not change"),
    ("repair of an invoice line", lambda: repair(shape="invoice.line"), "only charges are repaired"),
    ("gathering invoice of class mutable", lambda: InvoiceHeader(id="g", kind="gathering", status="gathering", invoice_class="mutable", currency="USD"), "cannot be of class mutable"),
    ("standard invoice of class gone", lambda: InvoiceHeader(id="s", kind="standard", status="voided", invoice_class="gone", currency="USD"), "cannot be of class gone"),
    ("deleted standard invoice that is mutable", lambda: InvoiceHeader(id="s", kind="standard", status="deleted", invoice_class="mutable", currency="USD"), "deleted standard invoice is immutable"),
]


@pytest.mark.parametrize(("case", "build", "message"), INVALID_ENTRIES, ids=[case for case, _, _ in INVALID_ENTRIES])
def test_invalid_plan_entries_fail_validation(case, build, message):
    with pytest.raises(ValidationError, match=message):
        build()


def test_a_plan_may_repair_and_patch_the_same_charge():
    """§3.3: the repaired charge is then planned against; its shrink or delete is a separate entry."""
    built = plan(reference_repairs=(repair(ID_1, "CH-1"),), patches=(charge_delete(ID_1, "CH-1"),))
    assert not built.is_empty


def test_is_empty_iff_no_repairs_patches_or_issue_updates():
    assert plan(invoices=INVOICES, max_generation_time_limit=at("2025-02-01")).is_empty
    assert not plan(reference_repairs=(repair(),)).is_empty
    assert not plan(patches=(line_delete(),), invoices=INVOICES).is_empty
    assert not plan(issue_updates=(issues(),), invoices=INVOICES).is_empty


def test_invoice_lookup():
    built = plan(invoices=INVOICES)
    assert built.invoice("inv-3").invoice_class == "immutable"
    assert set(built.invoices_by_id) == {GATHERING_ID, "inv-2", "inv-3"}
    with pytest.raises(KeyError, match="inv-4"):
        built.invoice("inv-4")


# --- values ----------------------------------------------------------------------------------------


def _mutations(value: Plan):
    patch = value.patches[1]
    step = patch.steps[0]
    update = value.issue_updates[0]
    return [
        (value, "namespace", "other"),
        (value, "patches", ()),
        (patch, "identity", "x"),
        (patch, "steps", ()),
        (step, "line", None),
        (step.line, "service_period", None),
        (patch.steps[-1].changes.service_period, "new", None),
        (value.patches[0].steps[0].line, "name", "renamed"),
        (update, "add", ()),
        (value.invoices[0], "invoice_class", "gone"),
    ]


@pytest.mark.parametrize("index", range(10))
def test_frozen_models_reject_mutation(index):
    target, field, new = _mutations(example_b())[index]
    with pytest.raises(ValidationError, match="frozen"):
        setattr(target, field, new)


def test_collections_inside_are_tuples():
    value = example_b()
    assert isinstance(value.patches, tuple) and isinstance(value.patches[1].steps, tuple)
    assert isinstance(value.issue_updates[0].add, tuple) and isinstance(value.invoices, tuple)


def test_plans_are_hashable_values():
    first, second = example_b(), example_b()
    assert first == second and first is not second
    assert hash(first) == hash(second)
    assert len({first, second}) == 1
    intent_plan = plan(patches=(charge_create(),))  # an intent carries dicts (annotations, metadata)
    assert hash(intent_plan) == hash(plan(patches=(charge_create(),)))


def test_different_plans_are_not_equal():
    assert example_b() != example_b().model_copy(update={"has_billables": False})
