"""``subsync credits purchase|balance|ledger`` and ``subsync charges advance`` (issue 6; charges.md §1.8,
§2.5, §5).

Every command opens the store of ``--db`` / ``SUBSYNC_DATABASE_URL`` and runs at ``--as-of`` (default
now), like the other commands (reconciler.md §7.4). Errors are one line, ``error: <category>:
<message>``; exit 2 for malformed input (an amount that is not a decimal, an unknown settlement, a
purchase the spec's validation refuses), 1 for any other failure.

Rules chosen where the spec is silent:

* ``purchase`` takes the credit currency with ``--currency`` (default USD). ``--cost-basis R`` is the
  fiat price of one credit; for a custom credit currency it is a manual cost basis in ``--fiat-currency``.
  A promotional purchase takes no cost basis; external and invoice ones require it (§5.1).
* A ``--key`` already used by the customer is a conflict (exit 1); nothing is created twice.
* ``ledger`` lists the customer's transaction groups in booking order (``booked_at``, then the order they
  were written), each with its postings; ``--currency`` keeps the postings in that currency (and the groups
  that have one).
* ``charges advance`` without ``--customer`` advances every customer with work due in the namespaces
  given (default: all); with ``--customer`` it runs the pass for that customer even when nothing is due.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Annotated, Any, Optional

import typer

from subsync.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    AsOfOption,
    DbOption,
    FormatOption,
    OutputFormat,
    cli_errors,
    colour,
    context,
)

credits_app = typer.Typer(help="Customer credits: purchases, balance and the ledger (charges.md §2, §5).",
                          no_args_is_help=True)
charges_app = typer.Typer(help="Charges: the charge-advance pass (charges.md §1.8).", no_args_is_help=True)


class Settlement(str, Enum):
    invoice = "invoice"
    external = "external"
    promotional = "promotional"


CustomerOption = Annotated[str, typer.Option("--customer", help="The customer id.", show_default=False)]
NamespaceOption = Annotated[str, typer.Option("--namespace", help="The customer's namespace.")]
CurrencyOption = Annotated[str, typer.Option("--currency", help="The credit currency.")]


def _instant(value: Any) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def parse_decimal(text: str, *, field: str) -> Decimal:
    """A finite decimal number (``100``, ``12.50``); ``SettingsError`` naming ``field`` otherwise."""
    from subsync.settings import SettingsError

    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        raise SettingsError(f"{field}: expected a decimal number such as 100 or 12.50, got {text!r}") from None
    if not value.is_finite():
        raise SettingsError(f"{field}: expected a finite decimal number, got {text!r}")
    return value


def _intent(customer: str, key: str | None, amount: Decimal, settlement: Settlement, cost_basis: Decimal | None,
            fiat_currency: str | None, effective_at: Any, currency: str, name: str) -> Any:
    from billing.credit_purchases.models import (
        ExternalSettlement,
        FiatCostBasis,
        InvoiceSettlement,
        ManualCostBasis,
        PromotionalSettlement,
        PurchaseIntent,
    )

    kind = {Settlement.invoice: InvoiceSettlement, Settlement.external: ExternalSettlement,
            Settlement.promotional: PromotionalSettlement}[settlement]()
    basis: Any = None
    if cost_basis is not None:
        basis = (ManualCostBasis(rate=cost_basis, fiat_currency=fiat_currency) if fiat_currency
                 else FiatCostBasis(rate=cost_basis))
    return PurchaseIntent(customer_id=customer, currency=currency, name=name, credit_amount=amount,
                          settlement=kind, cost_basis=basis, effective_at=effective_at, key=key)


def require_customer(store: Any, namespace: str, customer: str) -> None:
    """An unknown customer is a ``NotFoundError`` (exit 1), not an empty balance or ledger."""
    with store.unit_of_work(read_only=True) as uow:
        uow.customers.require_row(namespace, customer)


def purchase_dict(purchase: Any) -> dict[str, Any]:
    intent = purchase.intent
    return {
        "id": purchase.id,
        "namespace": purchase.namespace,
        "customer_id": purchase.customer_id,
        "key": intent.key,
        "currency": purchase.currency,
        "credit_amount": str(intent.credit_amount),
        "settlement": intent.settlement_type,
        "cost_basis": None if intent.cost_basis is None else str(intent.cost_basis.rate),
        "effective_at": _instant(intent.effective_at),
        "status": purchase.status.value,
        "invoice_id": None if purchase.link is None else purchase.link.invoice_id,
    }


@credits_app.command("purchase")
def purchase(
    customer: CustomerOption,
    amount: Annotated[str, typer.Option("--amount", help="Credits bought, e.g. 100 or 12.50.", show_default=False)],
    settlement: Annotated[Settlement, typer.Option("--settlement", help="invoice, external or promotional.",
                                                   show_default=False)],
    key: Annotated[Optional[str], typer.Option("--key", help="Idempotency key, unique per customer.",
                                               show_default=False)] = None,
    cost_basis: Annotated[Optional[str], typer.Option("--cost-basis", help="Fiat price of one credit, e.g. 0.5 "
                                                      "(required for invoice and external).",
                                                      show_default=False)] = None,
    fiat_currency: Annotated[Optional[str], typer.Option("--fiat-currency", help="For a custom credit currency: "
                                                         "the fiat currency of --cost-basis.",
                                                         show_default=False)] = None,
    effective_at: Annotated[Optional[str], typer.Option("--effective-at", help="RFC 3339 instant the credits "
                                                        "take effect (default: now).", show_default=False)] = None,
    currency: CurrencyOption = "USD",
    name: Annotated[str, typer.Option("--name", help="The purchase's name (the invoice line's).")] = "Credit purchase",
    namespace: NamespaceOption = "default",
    output: FormatOption = OutputFormat.text,
    as_of: AsOfOption = None,
    db: DbOption = None,
) -> None:
    """Buy credits for a customer; an invoice-settled purchase is invoiced now or, when --effective-at is in
    the future, by the first charge-advance pass after it."""
    from subsync.settings import parse_as_of
    from subsync.sync.charges_stack import charges_stack

    with cli_errors():
        intent = _intent(customer, key, parse_decimal(amount, field="--amount"), settlement,
                         None if cost_basis is None else parse_decimal(cost_basis, field="--cost-basis"),
                         fiat_currency, parse_as_of(effective_at, field="--effective-at"), currency, name)
        _url, _when, store = context(db, as_of)
        try:
            created = charges_stack(store).purchases.create(namespace, intent)
        finally:
            store.dispose()
    shown = purchase_dict(created)
    if output is OutputFormat.json:
        typer.echo(json.dumps(shown, indent=2))
        return
    invoice = f", invoice {shown['invoice_id']}" if shown["invoice_id"] else ""
    typer.echo(f"credit purchase {shown['id']} for {customer}: {shown['credit_amount']} {shown['currency']} credits,"
               f" {shown['settlement']} settlement, status {shown['status']}{invoice}")


@credits_app.command("balance")
def balance(
    customer: CustomerOption,
    currency: CurrencyOption = "USD",
    namespace: NamespaceOption = "default",
    output: FormatOption = OutputFormat.text,
    as_of: AsOfOption = None,
    db: DbOption = None,
) -> None:
    """The customer's credit balance (may be negative) and the credit available to an unrestricted charge."""
    from subsync.sync.charges_stack import charges_stack

    with cli_errors():
        _url, _when, store = context(db, as_of)
        try:
            require_customer(store, namespace, customer)
            ledger = charges_stack(store).ledger
            now = store.clock.now()
            shown = {
                "namespace": namespace, "customer_id": customer, "currency": currency, "as_of": _instant(now),
                "balance": str(ledger.balance(namespace, customer, currency)),
                "available": str(ledger.available(namespace, customer, currency)),
            }
        finally:
            store.dispose()
    if output is OutputFormat.json:
        typer.echo(json.dumps(shown, indent=2))
    else:
        typer.echo(f"{customer} {currency} as of {shown['as_of']}: balance {shown['balance']},"
                   f" available {shown['available']}")


def ledger_rows(groups: list[Any], currency: str | None) -> list[dict[str, Any]]:
    """The groups in booking order with their postings (only ``currency``'s when given)."""
    shown = []
    for group in sorted(groups, key=lambda g: (g.booked_at, g.sequence)):
        entries = [e for e in group.entries if currency is None or e.currency == currency]
        if currency is not None and not entries:
            continue
        shown.append({
            "id": group.id, "kind": str(group.kind.value if isinstance(group.kind, Enum) else group.kind),
            "booked_at": _instant(group.booked_at), "charge_id": group.charge_id, "reason": group.reason,
            "postings": [{
                "account": str(e.account.value if isinstance(e.account, Enum) else e.account),
                "posting": str(e.posting.value if isinstance(e.posting, Enum) else e.posting),
                "currency": e.currency, "amount": str(e.amount),
                "cost_basis": None if e.cost_basis is None else str(e.cost_basis),
            } for e in sorted(entries, key=lambda e: e.sequence)],
        })
    return shown


@credits_app.command("ledger")
def ledger(
    customer: CustomerOption,
    currency: Annotated[Optional[str], typer.Option("--currency", help="Only postings in this currency.",
                                                    show_default=False)] = None,
    namespace: NamespaceOption = "default",
    output: FormatOption = OutputFormat.text,
    as_of: AsOfOption = None,
    db: DbOption = None,
) -> None:
    """The customer's ledger: transaction groups in booking order with their postings."""
    from subsync.sync.charges_stack import charges_stack

    with cli_errors():
        _url, _when, store = context(db, as_of)
        try:
            require_customer(store, namespace, customer)
            rows = ledger_rows(charges_stack(store).ledger.groups(namespace, customer), currency)
        finally:
            store.dispose()
    if output is OutputFormat.json:
        typer.echo(json.dumps(rows, indent=2))
    elif colour():
        _print_table(customer, rows)
    else:
        for group in rows:
            charge = f" charge {group['charge_id']}" if group["charge_id"] else ""
            typer.echo(f"{group['booked_at']}  {group['kind']}{charge}  ({group['id']})")
            for p in group["postings"]:
                basis = f"  cost basis {p['cost_basis']}" if p["cost_basis"] is not None else ""
                typer.echo(f"    {p['account']:<12} {p['posting']:<24} {p['amount']:>14} {p['currency']}{basis}")
        if not rows:
            typer.echo(f"{customer} has no ledger entries")


def _print_table(customer: str, rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"credit ledger of {customer}")
    for column, justify in (("booked at", "left"), ("kind", "left"), ("charge", "left"), ("account", "left"),
                            ("posting", "left"), ("amount", "right"), ("currency", "left"), ("cost basis", "right")):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for group in rows:
        for index, p in enumerate(group["postings"]):
            first = index == 0
            table.add_row(group["booked_at"] if first else "", group["kind"] if first else "",
                          (group["charge_id"] or "") if first else "", p["account"], p["posting"], p["amount"],
                          p["currency"], p["cost_basis"] or "", end_section=index == len(group["postings"]) - 1)
    Console().print(table)


@charges_app.command("advance")
def advance(
    customer: Annotated[Optional[str], typer.Option("--customer", help="Only this customer (default: every "
                                                    "customer with work due).", show_default=False)] = None,
    namespace: Annotated[Optional[list[str]], typer.Option("--namespace", help="Namespace (repeatable; default: "
                                                           "all, or 'default' with --customer).",
                                                           show_default=False)] = None,
    output: FormatOption = OutputFormat.text,
    as_of: AsOfOption = None,
    db: DbOption = None,
) -> None:
    """The charge-advance pass: advance due charges and invoice due credit purchases (exit 1 if a customer
    failed)."""
    from subsync.job.charges import ChargeAdvancePass

    with cli_errors():
        _url, _when, store = context(db, as_of)
        try:
            advance_pass = ChargeAdvancePass(store)
            if customer is not None:
                pairs = [(ns, customer) for ns in (namespace or ["default"])]
                for ns, _customer in pairs:
                    require_customer(store, ns, customer)
            else:
                pairs = advance_pass.due(namespace or None)
            summary = advance_pass.run(pairs)
        finally:
            store.dispose()
    if output is OutputFormat.json:
        typer.echo(json.dumps(summary.as_dict(), indent=2))
    else:
        for failure in summary.failures:
            typer.echo(f"failed: {failure.namespace}/customer {failure.customer_id}: {failure.category}:"
                       f" {failure.message}")
        typer.echo(summary.summary_line().removeprefix("charge advance: "))
    raise typer.Exit(EXIT_OK if not summary.failures else EXIT_FAILED)


__all__ = ["charges_app", "credits_app"]
