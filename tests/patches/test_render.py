"""render_text value formats, names, order and colours (reconciler.md §4.9)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from billing.prices import Discounts, PackagePrice, TaxConfig, Tier, TieredPrice, UnitPrice
from patches.model import Change, LineChanges, LineRef, LineUpdate, Patch
from patches.model.text import money, price_text, value_text
from patches.render import NO_CHANGES, default_invoice_names, entry_lines, header_line, render_text
from tests.patches.builders import GATHERING_ID, at, draft, flat, gathering, paid, period, plan, standalone
from tests.patches.examples import EXAMPLES, example_b, example_f
from tests.patches.plans import PLANS_BY_SHAPE, line_plan

ANSI = re.compile(r"\x1b\[[0-9;]*m")
ALL_PLANS = [build for _, build, _ in EXAMPLES] + list(PLANS_BY_SHAPE.values())


@pytest.mark.parametrize(
    ("price", "currency", "text"),
    [
        (flat("6"), "USD", "flat(6.00, in_advance)"),
        (flat("0.19", "in_arrears"), "USD", "flat(0.19, in_arrears)"),
        (flat("1000"), "JPY", "flat(1000, in_advance)"),
        (flat("1.5"), "KWD", "flat(1.500, in_advance)"),
        (flat("6"), None, "flat(6, in_advance)"),
        (UnitPrice(amount=Decimal("5")), "USD", "unit(5)"),
        (UnitPrice(amount=Decimal("0.0800")), "USD", "unit(0.08)"),
        (UnitPrice(amount=Decimal("0.00015")), "USD", "unit(0.00015)"),
        (UnitPrice(amount=Decimal("1"), minimum_amount=Decimal("10")), "USD", "unit(1, minimum 10.00)"),
        (
            TieredPrice(mode="graduated", tiers=(Tier(up_to=Decimal(1), unit_price=Decimal(1)), Tier(up_to=Decimal(2), unit_price=Decimal(1)), Tier(unit_price=Decimal(1)))),
            "USD",
            "tiered(graduated, 3 tiers)",
        ),
        (TieredPrice(mode="volume", tiers=(Tier(unit_price=Decimal(1)),)), "USD", "tiered(volume, 1 tier)"),
        (PackagePrice(amount=Decimal("10"), quantity_per_package=Decimal("1000")), "USD", "package(10 per 1000)"),
        (PackagePrice(amount=Decimal("2.50"), quantity_per_package=Decimal("1E+3"), maximum_amount=Decimal(99)), "USD", "package(2.5 per 1000, maximum 99.00)"),
    ],
)
def test_price_formats(price, currency, text):
    from patches.model.text import precision_of

    assert price_text(price, precision_of(currency)) == text


@pytest.mark.parametrize(
    ("field", "value", "text"),
    [
        ("invoice_at", at("2025-03-10"), "2025-03-10T00:00:00Z"),
        ("invoice_at", at("2025-03-10T00:00:00.400"), "2025-03-10T00:00:00.400000Z"),
        ("service_period", period("2025-03-01", "2025-04-01"), "[2025-03-01T00:00:00Z, 2025-04-01T00:00:00Z)"),
        ("per_unit_amount", Decimal("6"), "6.00"),
        ("per_unit_amount", Decimal("0.1900"), "0.19"),
        ("per_unit_amount", Decimal("0.125"), "0.125"),  # more digits than USD has: shown whole, never rounded away
        ("name", 'a "b"\nc', '"a \\"b\\"\\nc"'),
        ("name", "Ünïcode", '"Ünïcode"'),
        ("name", "a\x85b\u2028c\u2029d\x0be", '"a\\u0085b\\u2028c\\u2029d\\u000be"'),  # every line break escaped
        ("tax_config", None, "null"),
        ("tax_config", TaxConfig(behavior="inclusive"), "tax(inclusive, null)"),
        ("tax_config", TaxConfig(code="txcd_1"), 'tax(null, "txcd_1")'),
        ("rate_card_discounts", Discounts(percentage=Decimal("10"), usage=Decimal("5.0")), "discounts(percentage 10, usage 5)"),
        ("rate_card_discounts", Discounts(), "discounts()"),
        ("deleted_at", None, "null"),
    ],
)
def test_value_formats(field, value, text):
    assert value_text(field, value, 2) == text


def test_money_without_a_known_currency_is_shown_as_stored():
    assert money(Decimal("6.0"), None) == "6.0"


def test_line_changes_render_in_the_field_order_of_4_3_whatever_the_construction_order():
    ref = standalone("LINE-1", GATHERING_ID, "sub-1/a/b/v[0]/period[0]", "2025-01-01", "2025-02-01")
    changes = LineChanges(
        name=Change(old="a", new="b"),
        deleted_at=Change(old=at("2025-01-03"), new=None),
        service_period=Change(old=period("2025-01-01", "2025-02-01"), new=period("2025-01-01", "2025-01-20")),
        per_unit_amount=Change(old=Decimal("5"), new=Decimal("3.1")),
    )
    update = Patch(operation="prorate", identity=ref.identity, shape="invoice.line", subscription_id="sub-1", steps=(LineUpdate(line=ref, changes=changes),))
    text = update.describe({GATHERING_ID: "gathering"}, currency="USD")
    assert text == (
        "~ prorate invoice.line sub-1/a/b/v[0]/period[0]: @ gathering: "
        "service_period [2025-01-01T00:00:00Z, 2025-02-01T00:00:00Z) → [2025-01-01T00:00:00Z, 2025-01-20T00:00:00Z), "
        'per_unit_amount 5.00 → 3.10, name "a" → "b", deleted_at 2025-01-03T00:00:00Z → null'
    )


def test_header_names_the_plan_and_shortens_the_basis():
    assert header_line(example_b()) == (
        "plan ns/sub-2 customer=cus-2 currency=USD as_of=2025-05-18T00:00:00Z basis=3f9a0c1d2e4b"
    )


def test_empty_plan_renders_header_and_no_changes():
    empty = plan()
    assert render_text(empty).splitlines() == [header_line(empty), NO_CHANGES]
    assert entry_lines(empty) == []


def test_default_invoice_names():
    built = plan(
        invoices=(
            gathering("gat-0").model_copy(update={"invoice_class": "gone"}),
            gathering("gat-1"),
            draft("inv-2"),
            paid("inv-3"),
        )
    )
    assert default_invoice_names(built) == {
        "gat-0": "gathering:gat-0",
        "gat-1": "gathering",
        "inv-2": "standard:inv-2",
        "inv-3": "standard:inv-3",
    }


def test_names_override_the_defaults_per_invoice():
    text = render_text(example_b(), {"inv-5": "standard[0]"})
    assert "@ standard:inv-7: delete" in text  # not overridden: default name
    assert "! issue + standard[0] warning" in text
    assert "@ gathering: delete" in text


def test_one_line_per_entry_in_plan_order():
    """Repairs, then patches, then issue changes (added before removed within an update)."""
    lines = entry_lines(line_plan())
    assert [line[:1] for line in lines] == ["-", "+", "~", "~", "!", "!"]
    assert lines[-2].startswith("! issue + ") and lines[-1].startswith("! issue - ")
    charge_lines = entry_lines(PLANS_BY_SHAPE["charge.flat_fee"]())
    assert [line.split(" ", 2)[:2] for line in charge_lines] == [["*", "repair"], ["~", "shrink"], ["+", "create"], ["~", "extend"]]


@pytest.mark.parametrize("build", ALL_PLANS)
def test_text_never_contains_line_or_group_ids(build):
    text = render_text(build())
    assert "LINE-" not in text and "GROUP-" not in text


@pytest.mark.parametrize("build", ALL_PLANS)
def test_every_entry_is_one_line_and_matches_describe(build):
    built = build()
    lines = render_text(built).splitlines()
    entries = len(built.reference_repairs) + len(built.patches) + sum(len(u.add) + len(u.remove) for u in built.issue_updates)
    assert len(lines) == 1 + entries
    names = default_invoice_names(built)
    described = [patch.describe(names, currency=built.currency) for patch in built.patches]
    assert [line for line in lines if line[:1] in "+-~"] == described


def test_charge_period_values_that_do_not_move_are_omitted():
    text = render_text(PLANS_BY_SHAPE["charge.flat_fee"]())
    shrink = next(line for line in text.splitlines() if line.startswith("~ shrink"))
    assert shrink.endswith(": service_period_end 2026-04-01T00:00:00Z → 2026-03-01T00:00:00Z")


def test_patch_describe_without_names_shows_invoice_ids_plainly():
    patch = example_f().patches[0]
    assert "@ invoice:gat-1: delete" in patch.describe()


# --- colours ---------------------------------------------------------------------------------------

COLOUR_CODES = {"+": "32", "-": "31", "~": "33", "!": "35", "*": "36"}


@pytest.mark.parametrize("build", ALL_PLANS)
def test_colour_wraps_each_entry_by_symbol_and_changes_nothing_else(build):
    built = build()
    plain = render_text(built)
    coloured = render_text(built, colour=True)
    assert ANSI.sub("", coloured) == plain
    for line in coloured.splitlines()[1:]:
        symbol = ANSI.sub("", line)[:1]
        assert line.startswith(f"\x1b[{COLOUR_CODES[symbol]}m") and line.endswith("\x1b[0m")
    assert not coloured.splitlines()[0].startswith("\x1b")  # the header stays plain


def test_plain_text_has_no_escape_codes_and_empty_plans_stay_plain():
    assert "\x1b" not in render_text(line_plan())
    assert "\x1b" not in render_text(plan(), colour=True)


def test_colours_by_symbol():
    lines = render_text(line_plan(), colour=True).splitlines()[1:]
    assert lines[0].startswith("\x1b[31m- delete")
    assert lines[1].startswith("\x1b[32m+ create")
    assert lines[2].startswith("\x1b[33m~ prorate")
    assert lines[4].startswith("\x1b[35m! issue")
    repair = render_text(PLANS_BY_SHAPE["charge.flat_fee"](), colour=True).splitlines()[1]
    assert repair.startswith("\x1b[36m* repair")


@pytest.mark.parametrize("shape", list(PLANS_BY_SHAPE))
def test_shape_plan_text_snapshot(shape, snapshot):
    assert render_text(PLANS_BY_SHAPE[shape]()) == snapshot


def test_line_ref_service_period_names_the_child():
    ref = LineRef(line_id="LINE-X", invoice_id="inv-2", split_line_group_id="GROUP-X", service_period=period("2025-01-01", "2025-01-10"))
    update = Patch(
        operation="shrink",
        identity="sub-1/a/b/v[0]/period[0]",
        shape="invoice.split_line_group",
        subscription_id="sub-1",
        steps=(LineUpdate(line=ref, changes=LineChanges(service_period=Change(old=ref.service_period, new=period("2025-01-01", "2025-01-05")))),),
    )
    assert update.describe({"inv-2": "standard[0]"}).startswith(
        "~ shrink invoice.split_line_group sub-1/a/b/v[0]/period[0]: child [2025-01-01T00:00:00Z, 2025-01-10T00:00:00Z) @ standard[0]: service_period "
    )


def test_issue_update_and_repair_describe_themselves():
    update = example_f().issue_updates[0]
    assert update.describe() == [
        '! issue + invoice:inv-9 warning lines/sub-3/main/api/v[0]/period[2] child [2025-09-01T00:00:00Z, 2025-09-15T00:00:00Z):'
        ' "line should be deleted, but the invoice is immutable"'
    ]
    assert update.line(update.add[0]).line_id == "LINE-F1"
    repair = PLANS_BY_SHAPE["charge.flat_fee"]().reference_repairs[0]
    assert repair.describe() == '* repair charge.flat_fee sub-7/main/platform/v[0]/period[0]: item_id "ITEM-1" → "ITEM-9"'
