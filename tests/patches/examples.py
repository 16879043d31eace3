"""The worked examples of reconciler.md §9.1 (A, B, F, G, I) as hand-built plans, with the texts the
spec gives for them (the contract ``render_text`` must meet)."""

from __future__ import annotations

from patches.model import GroupChanges, GroupUpdate, IssueLine, LineChanges, LineDelete, LineUpdate, Patch, Plan
from tests.patches.builders import (
    GATHERING_ID,
    at,
    change,
    child,
    create_step,
    draft,
    drift_issue,
    gathering,
    issue_update,
    new_line,
    paid,
    period,
    plan,
    standalone,
    unit,
)


def example_a() -> Plan:
    """Emptied split child on cancellation: the gathering child is deleted, the group shrinks."""
    identity = "sub-1/main/api-calls/v[0]/period[0]"
    return plan(
        subscription_id="sub-1",
        customer_id="cus-1",
        as_of="2025-03-10T00:00:00.400",
        patches=(
            Patch(
                operation="shrink",
                identity=identity,
                shape="invoice.split_line_group",
                subscription_id="sub-1",
                steps=(
                    LineDelete(line=child("LINE-A2", GATHERING_ID, "GROUP-A", "2025-03-10", "2025-04-01")),
                    GroupUpdate(
                        group_id="GROUP-A",
                        changes=GroupChanges(
                            service_period=change(period("2025-03-01", "2025-04-01"), period("2025-03-01", "2025-03-10"))
                        ),
                    ),
                ),
            ),
        ),
        invoices=(gathering(), draft("inv-1")),
    )


EXAMPLE_A = [
    "~ shrink invoice.split_line_group sub-1/main/api-calls/v[0]/period[0]: child [2025-03-10T00:00:00Z, 2025-04-01T00:00:00Z) @ gathering: delete; group service_period [2025-03-01T00:00:00Z, 2025-04-01T00:00:00Z) → [2025-03-01T00:00:00Z, 2025-03-10T00:00:00Z)",
]


def example_b() -> Plan:
    """Late phase insert over immutable, draft and gathering children; also the example of §4.9."""
    old, new = "sub-2/standard/storage/v[0]/period[0]", "sub-2/premium/storage/v[0]/period[0]"
    return plan(
        subscription_id="sub-2",
        customer_id="cus-2",
        as_of="2025-05-18",
        basis_prefix="3f9a0c1d2e4b",
        patches=(
            Patch(
                operation="create",
                identity=new,
                shape="invoice.line",
                subscription_id="sub-2",
                steps=(
                    create_step(
                        new_line(
                            identity=new,
                            service_period=period("2025-05-08", "2025-06-01"),
                            invoice_at=at("2025-06-01"),
                            price=unit("0.08"),
                            subscription_id="sub-2",
                            name="storage",
                        )
                    ),
                ),
            ),
            Patch(
                operation="shrink",
                identity=old,
                shape="invoice.split_line_group",
                subscription_id="sub-2",
                steps=(
                    LineDelete(line=child("LINE-B2", "inv-7", "GROUP-B", "2025-05-12", "2025-05-20")),
                    LineDelete(line=child("LINE-B3", GATHERING_ID, "GROUP-B", "2025-05-20", "2025-06-01")),
                    GroupUpdate(
                        group_id="GROUP-B",
                        changes=GroupChanges(
                            service_period=change(period("2025-05-01", "2025-06-01"), period("2025-05-01", "2025-05-08"))
                        ),
                    ),
                ),
            ),
        ),
        issue_updates=(
            issue_update(
                "inv-5",
                add=(
                    drift_issue(
                        "LINE-B1", "usage based line's quantity cannot be changed on immutable invoice (new qty: 25)"
                    ),
                ),
                lines=(IssueLine(line_id="LINE-B1", identity=old, child_period=period("2025-05-01", "2025-05-12")),),
            ),
        ),
        invoices=(gathering(), paid("inv-5"), draft("inv-7")),
    )


EXAMPLE_B_TEXT = """\
plan ns/sub-2 customer=cus-2 currency=USD as_of=2025-05-18T00:00:00Z basis=3f9a0c1d2e4b
+ create invoice.line sub-2/premium/storage/v[0]/period[0]: @ gathering: create service_period [2025-05-08T00:00:00Z, 2025-06-01T00:00:00Z), invoice_at 2025-06-01T00:00:00Z, price unit(0.08)
~ shrink invoice.split_line_group sub-2/standard/storage/v[0]/period[0]: child [2025-05-12T00:00:00Z, 2025-05-20T00:00:00Z) @ standard:inv-7: delete; child [2025-05-20T00:00:00Z, 2025-06-01T00:00:00Z) @ gathering: delete; group service_period [2025-05-01T00:00:00Z, 2025-06-01T00:00:00Z) → [2025-05-01T00:00:00Z, 2025-05-08T00:00:00Z)
! issue + standard:inv-5 warning lines/sub-2/standard/storage/v[0]/period[0] child [2025-05-01T00:00:00Z, 2025-05-12T00:00:00Z): "usage based line's quantity cannot be changed on immutable invoice (new qty: 25)\""""


def example_f() -> Plan:
    """Deleting a hierarchy with a paid child (D-03): no group delete, one warning."""
    identity = "sub-3/main/api/v[0]/period[2]"
    return plan(
        subscription_id="sub-3",
        customer_id="cus-3",
        as_of="2025-09-20",
        patches=(
            Patch(
                operation="delete",
                identity=identity,
                shape="invoice.split_line_group",
                subscription_id="sub-3",
                steps=(LineDelete(line=child("LINE-F2", GATHERING_ID, "GROUP-F", "2025-09-15", "2025-10-01")),),
            ),
        ),
        issue_updates=(
            issue_update(
                "inv-9",
                add=(drift_issue("LINE-F1", "line should be deleted, but the invoice is immutable"),),
                lines=(IssueLine(line_id="LINE-F1", identity=identity, child_period=period("2025-09-01", "2025-09-15")),),
            ),
        ),
        invoices=(gathering(), paid("inv-9")),
    )


EXAMPLE_F = [
    "- delete invoice.split_line_group sub-3/main/api/v[0]/period[2]: child [2025-09-15T00:00:00Z, 2025-10-01T00:00:00Z) @ gathering: delete",
    '! issue + standard:inv-9 warning lines/sub-3/main/api/v[0]/period[2] child [2025-09-01T00:00:00Z, 2025-09-15T00:00:00Z): "line should be deleted, but the invoice is immutable"',
]


def example_g() -> Plan:
    """Continuing past a paid last child (D-04): a new child on the gathering invoice, no issue."""
    identity = "sub-4/main/api/v[0]/period[5]"
    return plan(
        subscription_id="sub-4",
        customer_id="cus-4",
        as_of="2025-06-25",
        patches=(
            Patch(
                operation="extend",
                identity=identity,
                shape="invoice.split_line_group",
                subscription_id="sub-4",
                steps=(
                    create_step(
                        new_line(
                            group_id="GROUP-G",
                            service_period=period("2025-06-20", "2025-07-01"),
                            invoice_at=at("2025-07-01"),
                            price=unit("0.02"),
                            subscription_id="sub-4",
                        )
                    ),
                    GroupUpdate(
                        group_id="GROUP-G",
                        changes=GroupChanges(
                            service_period=change(period("2025-06-01", "2025-06-20"), period("2025-06-01", "2025-07-01"))
                        ),
                    ),
                ),
            ),
        ),
        invoices=(paid("inv-11"), paid("inv-12")),
    )


EXAMPLE_G = [
    "~ extend invoice.split_line_group sub-4/main/api/v[0]/period[5]: child [2025-06-20T00:00:00Z, 2025-07-01T00:00:00Z) @ gathering: create invoice_at 2025-07-01T00:00:00Z, price unit(0.02); group service_period [2025-06-01T00:00:00Z, 2025-06-20T00:00:00Z) → [2025-06-01T00:00:00Z, 2025-07-01T00:00:00Z)",
]


def example_i() -> Plan:
    """Start-only change of a usage line (D-01): labelled extend, the whole period replaced."""
    identity = "sub-6/growth/api/v[0]/period[0]"
    return plan(
        subscription_id="sub-6",
        customer_id="cus-6",
        as_of="2025-07-12",
        patches=(
            Patch(
                operation="extend",
                identity=identity,
                shape="invoice.line",
                subscription_id="sub-6",
                steps=(
                    LineUpdate(
                        line=standalone("LINE-I1", GATHERING_ID, identity, "2025-07-15", "2025-08-01"),
                        changes=LineChanges(
                            service_period=change(period("2025-07-15", "2025-08-01"), period("2025-07-10", "2025-08-01"))
                        ),
                    ),
                ),
            ),
        ),
        invoices=(gathering(),),
    )


EXAMPLE_I = [
    "~ extend invoice.line sub-6/growth/api/v[0]/period[0]: @ gathering: service_period [2025-07-15T00:00:00Z, 2025-08-01T00:00:00Z) → [2025-07-10T00:00:00Z, 2025-08-01T00:00:00Z)",
]

#: (name, plan builder, the entry lines of §9.1 — header omitted, as in the spec)
EXAMPLES = [
    ("A", example_a, EXAMPLE_A),
    ("B", example_b, EXAMPLE_B_TEXT.splitlines()[1:]),
    ("F", example_f, EXAMPLE_F),
    ("G", example_g, EXAMPLE_G),
    ("I", example_i, EXAMPLE_I),
]
