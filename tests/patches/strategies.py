"""Hypothesis strategies for valid plans: every shape, step kind and value kind, random names,
amounts and instants (sub-second ones included where the model allows them).

Line and group ids are ``LINE-…`` / ``GROUP-…`` and generated text has no upper-case letters, so a
text containing ``LINE-`` or ``GROUP-`` leaked an id.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import strategies as st

from billing.charges.models import ChargeSubscriptionReference
from billing.invoices import ValidationIssue
from billing.lines import NewLine, SubscriptionReference
from billing.period import Period
from billing.prices import Discounts, FlatPrice, PackagePrice, TaxConfig, Tier, TieredPrice, UnitPrice
from patches.model import (
    SHAPE_ORDER,
    Change,
    ChargeCreate,
    ChargeDelete,
    ChargeExtend,
    ChargePeriodChanges,
    ChargeShrink,
    FlatFeeChargeIntent,
    GroupChanges,
    GroupDelete,
    GroupUpdate,
    InvoiceHeader,
    IssueLine,
    IssueUpdate,
    LineChanges,
    LineCreate,
    LineDelete,
    LineRef,
    LineUpdate,
    Patch,
    Plan,
    ReferenceRepair,
    UsageBasedChargeIntent,
)

UTC = dt.timezone.utc
SUB, CUSTOMER, CURRENCY = "sub-h", "cus-h", "USD"

texts = st.text(st.characters(blacklist_categories=("Cs", "Lu")), max_size=12)
names = texts.filter(bool)
instants = st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 1, 1), timezones=st.just(UTC))
whole_instants = instants.map(lambda value: value.replace(microsecond=0))
amounts = st.decimals(min_value=0, max_value=10**6, allow_nan=False, allow_infinity=False, places=4)
small = st.decimals(min_value=0, max_value=100, allow_nan=False, allow_infinity=False, places=2)
json_values = st.one_of(st.booleans(), texts, st.integers(-1000, 1000))
annotations = st.dictionaries(texts, json_values, max_size=3)


@st.composite
def periods(draw, allow_empty: bool = True) -> Period:
    start, end = sorted(draw(st.lists(instants, min_size=2, max_size=2)))
    if not allow_empty and start == end:
        end = start + dt.timedelta(seconds=1)
    return Period(start=start, end=end)


def unit_prices():
    return st.builds(UnitPrice, amount=amounts, minimum_amount=st.none() | small, maximum_amount=st.none())


@st.composite
def tiered_prices(draw) -> TieredPrice:
    bounds = sorted(set(draw(st.lists(st.integers(1, 10_000), max_size=3))))
    tiers = [Tier(up_to=Decimal(b), unit_price=draw(amounts)) for b in bounds]
    tiers.append(Tier(unit_price=draw(amounts), flat_price=draw(st.none() | small)))
    return TieredPrice(mode=draw(st.sampled_from(["graduated", "volume"])), tiers=tuple(tiers))


usage_prices = st.one_of(
    unit_prices(),
    tiered_prices(),
    st.builds(PackagePrice, amount=amounts, quantity_per_package=st.decimals(min_value=1, max_value=10_000, places=0)),
)
flat_prices = st.builds(FlatPrice, amount=small, payment_term=st.sampled_from(["in_advance", "in_arrears"]))
discounts = st.none() | st.builds(Discounts, percentage=st.none() | st.decimals(0, 100, places=2), usage=st.none() | small)
tax_configs = st.none() | st.builds(
    TaxConfig, behavior=st.none() | st.sampled_from(["exclusive", "inclusive", "none"]), code=st.none() | texts
)


def pairs(values):
    """Distinct (old, new) pairs as a ``Change``."""
    return st.tuples(values, values).filter(lambda pair: pair[0] != pair[1]).map(lambda p: Change(old=p[0], new=p[1]))


@st.composite
def new_lines(draw, identity: str | None, group_id: str | None) -> NewLine:
    service_period = draw(periods())
    return NewLine(
        name=draw(names),
        description=draw(st.none() | texts),
        annotations=draw(annotations),
        metadata=draw(st.dictionaries(texts, texts, max_size=2)),
        service_period=service_period,
        invoice_at=draw(instants),
        price=draw(usage_prices if group_id else st.one_of(flat_prices, usage_prices)),
        feature_key=draw(st.none() | texts),
        rate_card_discounts=draw(discounts),
        tax_config=draw(tax_configs),
        child_unique_reference_id=identity,
        split_line_group_id=group_id,
        subscription=SubscriptionReference(subscription_id=SUB, phase_id="PHASE", item_id="ITEM", billing_period=service_period),
    )


@st.composite
def line_changes(draw, on_gathering: bool) -> LineChanges:
    fields = {
        "service_period": pairs(periods()),
        "rate_card_discounts": pairs(discounts),
        "name": pairs(names),
        "tax_config": pairs(tax_configs),
        "deleted_at": instants.map(lambda at: Change(old=at, new=None)),
    }
    if on_gathering:
        fields["invoice_at"] = pairs(instants)
    if draw(st.booleans()):
        fields["per_unit_amount"] = pairs(small)  # a flat line's amount
    else:
        fields["price"] = pairs(usage_prices)  # a usage line's price
    chosen = draw(st.lists(st.sampled_from(sorted(fields)), min_size=1, max_size=4, unique=True))
    values = {name: draw(fields[name]) for name in chosen}
    return LineChanges(**values)


@st.composite
def line_refs(draw, line_id: str, invoices: list[InvoiceHeader], identity=None, group_id=None) -> LineRef:
    invoice = draw(st.sampled_from(invoices))
    return LineRef(line_id=line_id, invoice_id=invoice.id, identity=identity, split_line_group_id=group_id, service_period=draw(periods()))


@st.composite
def line_patches(draw, index: int, writable: list[InvoiceHeader]) -> Patch:
    identity = f"{SUB}/main/item-{index}/v[0]/period[{index}]"
    operation = draw(st.sampled_from(["create", "delete", "shrink", "extend", "prorate"]))
    if operation == "create":
        step = LineCreate(currency=CURRENCY, line=draw(new_lines(identity, None)))
    else:
        ref = draw(line_refs(f"LINE-{index}", writable, identity=identity))
        if operation == "delete" or draw(st.integers(0, 4)) == 0:
            step = LineDelete(line=ref)
        else:
            gathering = next(i for i in writable if i.id == ref.invoice_id).invoice_class == "gathering"
            step = LineUpdate(line=ref, changes=draw(line_changes(gathering)))
    return Patch(operation=operation, identity=identity, shape="invoice.line", subscription_id=SUB, steps=(step,))


@st.composite
def group_patches(draw, index: int, writable: list[InvoiceHeader]) -> Patch:
    identity = f"{SUB}/main/group-{index}/v[0]/period[0]"
    group_id = f"GROUP-{index}"
    operation = draw(st.sampled_from(["delete", "shrink", "extend", "prorate"]))
    steps: list = []
    for child in range(draw(st.integers(0, 3))):
        ref = draw(line_refs(f"LINE-{index}-{child}", writable, group_id=group_id))
        kind = "delete" if operation == "delete" else draw(st.sampled_from(["delete", "update", "create"]))
        if kind == "delete":
            steps.append(LineDelete(line=ref))
        elif kind == "update":
            gathering = next(i for i in writable if i.id == ref.invoice_id).invoice_class == "gathering"
            steps.append(LineUpdate(line=ref, changes=draw(line_changes(gathering))))
        else:
            steps.append(LineCreate(currency=CURRENCY, line=draw(new_lines(None, group_id))))
    if operation == "delete":
        if not steps or draw(st.booleans()):
            steps.append(GroupDelete(group_id=group_id))
    elif not steps or draw(st.booleans()):
        changes = {
            "service_period": pairs(periods()),
            "name": pairs(names),
            "price": pairs(usage_prices),
            "rate_card_discounts": pairs(discounts),
        }
        chosen = draw(st.lists(st.sampled_from(sorted(changes)), min_size=1, max_size=4, unique=True))
        steps.append(GroupUpdate(group_id=group_id, changes=GroupChanges(**{name: draw(changes[name]) for name in chosen})))
    return Patch(operation=operation, identity=identity, shape="invoice.split_line_group", subscription_id=SUB, steps=tuple(steps))


@st.composite
def charge_period_changes(draw, direction: str) -> ChargePeriodChanges:
    old_end, new_end = sorted(draw(st.lists(whole_instants, min_size=2, max_size=2, unique=True)))
    if direction == "shrink":
        old_end, new_end = new_end, old_end
    return ChargePeriodChanges(
        service_period_end=Change(old=old_end, new=new_end),
        full_service_period_end=Change(old=draw(instants), new=draw(whole_instants)),
        billing_period_end=Change(old=draw(instants), new=draw(whole_instants)),
        invoice_at=Change(old=draw(instants), new=draw(whole_instants)),
    )


@st.composite
def intents(draw, identity: str, usage: bool):
    common = dict(
        name=draw(names),
        description=draw(st.none() | texts),
        annotations=draw(annotations),
        metadata=draw(st.dictionaries(texts, json_values, max_size=2)),
        service_period=draw(periods()),
        full_service_period=draw(periods()),
        billing_period=draw(periods()),
        invoice_at=draw(instants),
        customer_id=CUSTOMER,
        currency=CURRENCY,
        unique_reference_id=identity,
        tax_config=draw(tax_configs),
        subscription=ChargeSubscriptionReference(subscription_id=SUB, phase_id="PHASE", item_id="ITEM"),
        settlement_mode=draw(st.sampled_from(["credit_only", "credit_then_invoice"])),
    )
    if usage:
        return UsageBasedChargeIntent(
            **common,
            price=draw(usage_prices),
            discounts=draw(discounts),
            unit_config=draw(st.none() | st.dictionaries(texts, json_values, max_size=2)),
            feature_key=draw(texts),
        )
    return FlatFeeChargeIntent(
        **common,
        payment_term=draw(st.sampled_from(["in_advance", "in_arrears"])),
        percentage_discounts=draw(discounts),
        amount_before_proration=draw(small),
        feature_key=draw(st.none() | texts),
    )


@st.composite
def charge_patches(draw, index: int) -> Patch:
    shape = draw(st.sampled_from(["charge.flat_fee", "charge.usage_based"]))
    identity = f"{SUB}/main/charge-{index}/v[0]/period[0]"
    operation = draw(st.sampled_from(["create", "delete", "shrink", "extend"]))
    charge_id = f"CH-{index}"
    if operation == "create":
        step = ChargeCreate(intent=draw(intents(identity, usage=shape == "charge.usage_based")))
    elif operation == "delete":
        step = ChargeDelete(charge_id=charge_id)
    elif operation == "shrink":
        step = ChargeShrink(charge_id=charge_id, changes=draw(charge_period_changes("shrink")))
    else:
        step = ChargeExtend(charge_id=charge_id, changes=draw(charge_period_changes("extend")))
    return Patch(operation=operation, identity=identity, shape=shape, subscription_id=SUB, steps=(step,))


@st.composite
def issue_updates(draw, invoice: InvoiceHeader, first_line: int) -> IssueUpdate:
    count = draw(st.integers(1, 3))
    issues, lines = [], []
    for offset in range(count):
        line_id = f"LINE-I{first_line + offset}"
        issues.append(
            ValidationIssue(
                severity=draw(st.sampled_from(["warning", "critical"])),
                code="immutable_invoice_handling_not_supported",
                message=draw(texts),
                component="subscription-sync",
                path=f"lines/{line_id}",
            )
        )
        child = draw(st.none() | periods())
        lines.append(IssueLine(line_id=line_id, identity=f"{SUB}/main/gone-{first_line + offset}/v[0]", child_period=child))
    split = draw(st.integers(0, count))
    add = sorted(issues[:split], key=lambda i: (i.path, i.message))
    remove = sorted(issues[split:], key=lambda i: (i.path, i.message))
    return IssueUpdate(invoice_id=invoice.id, add=tuple(add), remove=tuple(remove), lines=tuple(lines))


@st.composite
def plans(draw) -> Plan:
    invoices = [InvoiceHeader(id="gat", kind="gathering", status="gathering", invoice_class="gathering", currency=CURRENCY)]
    for number in range(draw(st.integers(0, 3))):
        invoice_class = draw(st.sampled_from(["mutable", "immutable"]))
        status = "draft.created" if invoice_class == "mutable" else draw(st.sampled_from(["paid", "issued", "deleted"]))
        invoices.append(InvoiceHeader(id=f"inv-{number}", kind="standard", status=status, invoice_class=invoice_class, currency=CURRENCY))
    writable = [i for i in invoices if i.invoice_class in ("gathering", "mutable")]
    patches = []
    for index in range(draw(st.integers(0, 6))):
        maker = draw(st.sampled_from([line_patches, group_patches, charge_patches]))
        patches.append(draw(maker(index) if maker is charge_patches else maker(index, writable)))
    patches.sort(key=lambda patch: SHAPE_ORDER.index(patch.shape))
    immutable = [i for i in invoices if i.invoice_class == "immutable"]
    updates = [draw(issue_updates(invoice, number * 10)) for number, invoice in enumerate(immutable) if draw(st.booleans())]
    repairs = []
    for patch in patches:
        if patch.shape.is_charge and draw(st.integers(0, 3)) == 0:
            repairs.append(
                ReferenceRepair(identity=patch.identity, shape=patch.shape, charge_id=patch.charge_id or f"CH-R-{patch.identity}", item_id=Change(old="ITEM-OLD", new="ITEM-NEW"))
            )
    repairs.sort(key=lambda repair: repair.identity)
    return Plan(
        namespace=draw(st.sampled_from(["", "ns", "acme"])),
        subscription_id=SUB,
        customer_id=CUSTOMER,
        currency=CURRENCY,
        as_of=draw(instants),
        basis=draw(st.text("0123456789abcdef", min_size=64, max_size=64)),
        has_billables=draw(st.booleans()),
        max_generation_time_limit=draw(st.none() | instants),
        reference_repairs=tuple(repairs),
        patches=tuple(patches),
        issue_updates=tuple(updates),
        invoices=tuple(invoices),
    )
