"""The STATE after a step (scenario-format §3): the customer's billing, named without database ids.

Money is text at the currency's minor units (``5.00``), other decimals without trailing zeros
(``12``, ``0.5``), instants RFC 3339 UTC with ``Z``. Invoices come gathering first (the live one;
soft-deleted gathering invoices are left out), then standard invoices in creation order, deleted
ones included. Lines are listed live and soft-deleted, ordered by service period start, end,
identity (or ref) and creation; charges (credit purchases apart) the same way.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from billing.charges.models import CreditPurchaseCharge, FlatFeeCharge, Realization, UsageBasedCharge
from billing.invoices import Invoice, ValidationIssue
from billing.ledger import StoreLedger
from billing.lines import Line
from billing.money import canonical_text, currency_precision, money_text
from billing.period import Period
from billing.rating import Totals
from subsync.scenario.references import MANUAL_PREFIX, SCENARIO_LINE_KEY, Ledger, ledger_of

PURCHASE_ENGINE = "charge_creditpurchase"
PURCHASE_REF_PREFIX = "credit-purchase/"

STATE_KEYS = (
    "step", "at", "do", "error", "invoice_count", "plan", "invoices", "charges", "credit_purchases", "credits",
    "sync_state",
)


def iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def period(value: Period | None) -> list[str | None] | None:
    return None if value is None else [iso(value.start), iso(value.end)]


def number(value: Decimal | None) -> str | None:
    return None if value is None else canonical_text(value)


class Projector:
    """Projects the store into STATE documents for one world."""

    def __init__(self, world) -> None:  # type: ignore[no-untyped-def]
        self.world = world
        self._charge_identities: dict[str, str | None] = {}
        self._purchase_keys: dict[str, str | None] = {}

    def precision(self, currency: str) -> int:
        return currency_precision(currency, custom=self.world.store.custom_currencies)

    def money(self, value: Decimal | None, currency: str) -> str | None:
        return None if value is None else money_text(value, self.precision(currency))

    # -- the whole state ---------------------------------------------------------------------------

    def body(self) -> dict[str, Any]:
        """The parts of STATE read from the store (everything but step, at, do, error and plan)."""
        world = self.world
        with world.store.unit_of_work(read_only=True):
            ledger = ledger_of(world)
            charges = world.charges.list_customer_charges(world.namespace, world.customer_id, include_deleted=True)
            self._charge_identities = {c.id: c.unique_reference_id for c in charges}
            self._purchase_keys = {c.id: c.intent.key for c in charges if isinstance(c, CreditPurchaseCharge)}
            credits = self.credits()
            sync_state = world.sync_states.get(world.subscription_ref)
        invoices = [
            self.invoice(invoice, ledger)
            for invoice in ledger.invoices
            if not (invoice.is_gathering and invoice.deleted)
        ]
        live = [invoice for invoice in ledger.invoices if not invoice.deleted]
        return {
            "invoice_count": {
                "gathering": sum(1 for invoice in live if invoice.is_gathering),
                "standard": sum(1 for invoice in live if invoice.is_standard),
            },
            "invoices": invoices,
            "charges": [self.charge(c, ledger) for c in sorted(
                (c for c in charges if not isinstance(c, CreditPurchaseCharge)), key=_charge_order)],
            "credit_purchases": [self.purchase(c, ledger) for c in charges if isinstance(c, CreditPurchaseCharge)],
            "credits": credits,
            "sync_state": None if sync_state is None else {
                "has_billables": sync_state.has_billables,
                "synced_at": iso(sync_state.synced_at),
                "next_sync_after": iso(sync_state.next_sync_after),
            },
        }

    # -- invoices and lines --------------------------------------------------------------------------

    def invoice(self, invoice: Invoice, ledger: Ledger) -> dict[str, Any]:
        lines = sorted(invoice.lines or (), key=lambda line: self._line_order(line, ledger))
        by_id = {line.id: line for line in invoice.lines or ()}
        return {
            "ref": ledger.name_of(invoice.id),
            "kind": invoice.kind,
            "status": invoice.status,
            "currency": invoice.currency,
            "totals": self.totals(invoice.totals, invoice.currency),
            "validation_issues": sorted(
                (self.issue(issue, by_id, ledger) for issue in invoice.validation_issues),
                key=lambda i: (i["path"], i["message"], i["code"]),
            ),
            "lines": [self.line(line, invoice.currency, ledger) for line in lines],
        }

    @staticmethod
    def _line_order(line: Line, ledger: Ledger) -> tuple:
        return (line.service_period.start, line.service_period.end, ledger.line_name(line), line.sequence)

    def issue(self, issue: ValidationIssue, lines: dict[str, Line], ledger: Ledger) -> dict[str, Any]:
        path = issue.path
        if path.startswith("lines/"):
            line = lines.get(path[len("lines/"):])
            path = f"lines/{ledger.line_name(line)}" if line is not None else "lines/<unknown line>"
        return {
            "severity": issue.severity,
            "code": issue.code,
            "component": issue.component,
            "path": path,
            "message": issue.message,
        }

    def line(self, line: Line, currency: str, ledger: Ledger) -> dict[str, Any]:
        group = ledger.groups.get(line.split_line_group_id) if line.split_line_group_id is not None else None
        return {
            "identity": ledger.line_identity(line),
            "kind": line.kind,
            "name": line.name,
            "managed_by": line.managed_by,
            "service_period": period(line.service_period),
            "invoice_at": iso(line.invoice_at),
            "quantity": number(line.quantity),
            "per_unit_amount": self.money(line.per_unit_amount, currency) if line.is_flat_fee else None,
            "price": self.price(line.price),
            "discounts": self.discounts(line.rate_card_discounts),
            "totals": self.totals(line.totals, currency),
            "split_group": None if group is None else group.unique_reference_id,
            "split_group_period": None if group is None else period(group.service_period),
            "charge": None if line.charge_id is None else self._charge_identities.get(line.charge_id),
            "engine": line.engine,
            "tax": None if line.tax_config is None else {"behavior": line.tax_config.behavior, "code": line.tax_config.code},
            "ref": self.line_ref(line, ledger),
            "annotations": dict(sorted(line.annotations.items())),
            "deleted": line.deleted,
        }

    def line_ref(self, line: Line, ledger: Ledger) -> str | None:
        """``manual/<key>`` for a ``create_line`` line, ``credit-purchase/<key>`` for a purchase's line."""
        if line.engine == PURCHASE_ENGINE and line.charge_id is not None:
            key = self._purchase_keys.get(line.charge_id)
            if key is not None:
                return f"{PURCHASE_REF_PREFIX}{key}"
        return ledger.line_ref(line)

    # -- credits (the ledger) ----------------------------------------------------------------------------

    def credits(self) -> dict[str, str | None]:
        """The ledger at the clock in the customer's currency: ``balance`` = grants − consumption −
        reversals (negative when credit_only consumption ran ahead), ``available`` = max(balance, 0)."""
        world = self.world
        balance = StoreLedger(world.store).balance(world.namespace, world.customer_id, world.currency,
                                                   as_of=world.clock.now())
        return {"balance": self.money(balance, world.currency),
                "available": self.money(max(balance, Decimal(0)), world.currency)}

    def totals(self, totals: Totals, currency: str) -> dict[str, str | None]:
        return {
            name: self.money(getattr(totals, name), currency)
            for name in ("amount", "discounts", "credits", "taxes", "total")
        }

    @staticmethod
    def price(price: Any) -> dict[str, Any] | None:
        if price is None:
            return None
        data = price.model_dump(mode="python", exclude_none=True)
        if "tiers" in data:  # the open last tier shows ``up_to: null`` (scenario-format §1)
            data["tiers"] = [{"up_to": tier.get("up_to"), **tier} for tier in data["tiers"]]
        return _plain_numbers(data)

    @staticmethod
    def discounts(discounts: Any) -> dict[str, Any] | None:
        if discounts is None or discounts.is_empty:
            return None
        return {"percentage": number(discounts.percentage), "usage": number(discounts.usage)}

    # -- charges (empty without the credits backend) ---------------------------------------------------

    def charge(self, charge: FlatFeeCharge | UsageBasedCharge, ledger: Ledger) -> dict[str, Any]:
        effective, base = charge.effective, charge.base
        document: dict[str, Any] = {
            "identity": charge.unique_reference_id,
            "ref": manual_charge_ref(charge),
            "type": charge.type,
            "name": effective.name,
            "status": charge.status,
            "advance_after": iso(charge.advance_after),
            "settlement_mode": charge.settlement_mode,
            "service_period": period(effective.service_period),
            "full_service_period": period(effective.full_service_period),
            "billing_period": period(effective.billing_period),
            "invoice_at": iso(effective.invoice_at),
        }
        if isinstance(charge, FlatFeeCharge):
            after = charge.state.get("amount_after_proration")
            document.update(
                payment_term=effective.payment_term,
                amount_before_proration=self.money(effective.amount_before_proration, charge.currency),
                amount_after_proration=None if after is None else self.money(Decimal(str(after)), charge.currency),
            )
        else:
            document["price"] = self.price(effective.price)
        base_doc: dict[str, Any] = {
            "service_period": period(base.service_period),
            "invoice_at": iso(base.invoice_at),
            "deleted": base.intent_deleted_at is not None,
        }
        if isinstance(charge, FlatFeeCharge):
            base_doc["amount_before_proration"] = self.money(charge.base.amount_before_proration, charge.currency)
        document.update(
            tax=None if charge.tax_config is None else {"behavior": charge.tax_config.behavior, "code": charge.tax_config.code},
            override=None if charge.override is None else _plain_numbers(charge.override.model_dump(mode="json")),
            base=base_doc,
            realizations=[self.realization(r, ledger, charge.currency) for r in charge.realizations],
            deleted=charge.deleted_at is not None,
        )
        return document

    def realization(self, realization: Realization, ledger: Ledger, currency: str) -> dict[str, Any]:
        invoice = None
        status = None
        if realization.invoice_id is not None:
            invoice = ledger.name_of(realization.invoice_id)
            status = next((i.status for i in ledger.invoices if i.id == realization.invoice_id), None)
        data = realization.data
        return {
            "type": realization.type or realization.kind,
            "service_period": period(realization.service_period),
            "invoice": invoice,
            "invoice_status": status,
            "voided": bool(data.get("voided", False)),
            "deleted": realization.deleted_at is not None,
            "metered_quantity": None if data.get("metered_quantity") is None else canonical_text(Decimal(str(data["metered_quantity"]))),
            "totals": {
                name: None if data.get("totals", {}).get(name) is None else self.money(Decimal(str(data["totals"][name])), currency)
                for name in ("amount", "credits", "total")
            },
        }

    def purchase(self, charge: CreditPurchaseCharge, ledger: Ledger) -> dict[str, Any]:
        invoice = None
        for candidate in ledger.invoices:
            if any(line.charge_id == charge.id for line in candidate.lines or ()):
                invoice = ledger.name_of(candidate.id)
        return {
            "key": charge.intent.key,
            "status": charge.status,
            "settlement": charge.intent.settlement.get("type"),
            "amount": canonical_text(charge.intent.credit_amount),
            "invoice": invoice,
        }


def manual_charge_ref(charge: FlatFeeCharge | UsageBasedCharge) -> str | None:
    """``manual/<key>`` for the charge behind a ``create_line`` line (its intent keeps the line's key)."""
    key = charge.base.metadata.get(SCENARIO_LINE_KEY)
    return None if key is None else f"{MANUAL_PREFIX}{key}"


def _charge_order(charge: FlatFeeCharge | UsageBasedCharge) -> tuple:
    """Charges like lines: by service period start and end, then identity (or ref), then creation."""
    period_ = charge.effective.service_period
    return (period_.start, period_.end, charge.unique_reference_id or "", charge.sequence)


def _plain_numbers(value: Any) -> Any:
    """Decimals as canonical text, recursively (prices, overrides)."""
    if isinstance(value, Decimal):
        return canonical_text(value)
    if isinstance(value, dict):
        return {k: _plain_numbers(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_numbers(v) for v in value]
    return value
