"""``CreditPurchaseService``: the public entry points of credit purchases (charges.md §5).

Each entry point runs in one unit of work of the store (its own transaction, or a savepoint of the
caller's), so an error leaves the store exactly as it was. Building the service registers the
``charge_creditpurchase`` line engine with the store, so billing's invoice lifecycle drives invoice-
settled purchases from then on.

| entry point | what it does |
|---|---|
| ``create`` | validate, persist; promotional → ``final``; external → granted (+ initial status); invoice → gathering line, then (after the commit) invoice at once when the service period has started |
| ``transition_external_payment`` | external purchases: → ``authorized`` or → ``settled`` (a repeat is a logged no-op) |
| ``handle_invoice_event`` | an invoice event for one purchase line (the engine's hooks call it) |
| ``advance_customer`` | the charge-advance pass for purchases: retry immediate invoicing of due ``created`` purchases |
| ``void_credit_grant`` | the manual grant void (§5.7) |
| ``get`` / ``list`` / ``add_currency_cost_basis`` | reads, and the published rates pinned and dynamic bases use |
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Literal

import structlog

from billing.charges.hooks import register_engine
from billing.charges.models import CreditPurchaseCharge
from billing.credit_purchases import currency_cost_bases, repository
from billing.credit_purchases.actions import PurchaseContext, void_grant
from billing.credit_purchases.cost_basis import check_pinned, fiat_amount, initial_resolution
from billing.credit_purchases.errors import (
    PurchaseConflictError,
    PurchaseNotFoundError,
    PurchaseValidationError,
)
from billing.credit_purchases.events import classify
from billing.credit_purchases.grants_api import CreditGrantRequest, CreditGrantView, grant_intent, grant_view, listed
from billing.credit_purchases.intents import normalize_intent
from billing.credit_purchases.ledger_port import PurchaseLedger, VoidReason
from billing.credit_purchases.lines import CreditPurchaseEngine, gathering_line, provisional_amount
from billing.credit_purchases.machines import machine_for
from billing.credit_purchases.models import (
    ChargeCostBasis,
    CurrencyCostBasis,
    ENGINE,
    FiatCostBasis,
    PinnedCostBasis,
    PurchaseIntent,
    PurchaseStatus,
)
from billing.credit_purchases.purchase import CreditPurchase
from billing.credit_purchases.settings import DEFAULT_SETTINGS, PurchaseSettings
from billing.errors import NotFoundError
from billing.ids import new_id
from billing.invoices import InvoiceHeader
from billing.lines import Line
from billing.operations.gathering import create_pending_invoice_lines
from billing.operations.invoicing import invoice_pending_lines
from billing.store.unit_of_work import Store, UnitOfWork

log = structlog.get_logger("billing.credit_purchases")

S = PurchaseStatus
#: Invoices the purchase's gathering line at once: (unit of work, purchase, line id) → None.
InvoiceNow = Callable[[UnitOfWork, CreditPurchase, str], None]


def invoice_line_now(uow: UnitOfWork, purchase: CreditPurchase, line_id: str) -> None:
    """Billing's "invoice pending lines" for exactly this line, as of now (§5.6.4)."""
    invoice_pending_lines(uow, purchase.namespace, purchase.customer_id, as_of=uow.now, progressive=False,
                          include_line_ids=[line_id])


class CreditPurchaseService:
    def __init__(self, store: Store, ledger: PurchaseLedger, *, settings: PurchaseSettings = DEFAULT_SETTINGS,
                 invoice_now: InvoiceNow = invoice_line_now) -> None:
        self.store = store
        self.ledger = ledger
        self.settings = settings
        self.invoice_now = invoice_now
        self.engine = CreditPurchaseEngine(self)
        register_engine(store, ENGINE, self.engine)

    def context(self, uow: UnitOfWork) -> PurchaseContext:
        return PurchaseContext(uow=uow, ledger=self.ledger, settings=self.settings)

    # -- reads --------------------------------------------------------------------------------------
    def get(self, namespace: str, charge_id: str) -> CreditPurchase:
        with self.store.unit_of_work(read_only=True) as uow:
            return repository.load(uow, namespace, charge_id, lock=False)

    def list(self, namespace: str, customer_id: str) -> list[CreditPurchase]:
        with self.store.unit_of_work(read_only=True) as uow:
            return repository.list_for_customer(uow, namespace, customer_id)

    def get_by_key(self, namespace: str, customer_id: str, key: str) -> CreditPurchase:
        with self.store.unit_of_work(read_only=True) as uow:
            charge_id = repository.find_by_key(uow, namespace, customer_id, key)
            if charge_id is None:
                raise PurchaseNotFoundError(f"customer {customer_id!r} has no credit purchase with key {key!r}")
            return repository.load(uow, namespace, charge_id, lock=False)

    def create_grant(self, namespace: str, customer_id: str, request: CreditGrantRequest) -> CreditGrantView:
        """The credit grant API (§5.8): a grant request is created as a purchase and shown as a grant."""
        purchase = self.create(namespace, grant_intent(customer_id, request, now=self.store.clock.now()))
        return grant_view(purchase, self.store.clock.now(), self.store.custom_currencies)

    def list_grants(self, namespace: str, customer_id: str,
                    status_filter: Literal["active", "pending"] | None = None) -> list[CreditGrantView]:
        now = self.store.clock.now()
        return [grant_view(p, now, self.store.custom_currencies) for p in self.list(namespace, customer_id)
                if listed(p, now, status_filter)]

    def add_currency_cost_basis(self, namespace: str, currency: str, fiat_currency: str, rate,  # type: ignore[no-untyped-def]
                                effective_from: dt.datetime) -> CurrencyCostBasis:
        basis = CurrencyCostBasis(id=new_id(), namespace=namespace, currency=currency, fiat_currency=fiat_currency,
                                  rate=rate, effective_from=effective_from)
        if basis.rate <= 0:
            raise PurchaseValidationError(f"rate must be positive, got {basis.rate}", field="rate")
        with self.store.unit_of_work() as uow:
            return currency_cost_bases.insert_currency_cost_basis(uow, basis)

    # -- creation (§5.6.2) ----------------------------------------------------------------------------
    def create(self, namespace: str, intent: PurchaseIntent) -> CreditPurchase:
        """Create a purchase; an invoice-settled one whose service period has started is invoiced at once
        after the creating transaction, and returned as it stands after that attempt (§5.6.4)."""
        with self.store.locked_transaction(namespace, intent.customer_id) as uow:
            purchase, line_id = self._create(uow, namespace, intent)
        if line_id is not None and purchase.service_period.start <= purchase.created_at:
            self._try_invoice_now(namespace, purchase.id)
        return self.get(namespace, purchase.id)

    def _create(self, uow: UnitOfWork, namespace: str, intent: PurchaseIntent) -> tuple[CreditPurchase, str | None]:
        if namespace in self.settings.locked_namespaces:
            raise PurchaseValidationError(f"namespace {namespace!r} is locked down: charges cannot be created")
        try:
            uow.customers.require_row(namespace, intent.customer_id)
        except NotFoundError as exc:
            raise PurchaseNotFoundError(str(exc)) from exc
        normalized = normalize_intent(intent, now=uow.now, custom_currencies=uow.custom_currencies,
                                      settings=self.settings)
        if normalized.key is not None and repository.find_by_key(uow, namespace, normalized.customer_id,
                                                                  normalized.key) is not None:
            raise PurchaseConflictError(f"customer {normalized.customer_id!r} already has a credit purchase with key"
                                        f" {normalized.key!r}")
        identity = normalized.unique_reference_id
        if identity is not None and repository.identity_taken(uow, namespace, identity):
            raise PurchaseConflictError(f"a live charge with unique reference id {identity!r} already exists in"
                                        f" namespace {namespace!r}")
        charge_id = new_id()
        cost_basis = self._initial_cost_basis(uow, namespace, normalized)
        charge = CreditPurchaseCharge(
            id=charge_id, namespace=namespace, customer_id=normalized.customer_id, currency=normalized.currency,
            tax_config=normalized.tax_config, unique_reference_id=normalized.unique_reference_id,
            status=S.CREATED.value, intent=repository.charge_intent(normalized),
            created_at=uow.now, updated_at=uow.now, sequence=0,
        )
        purchase = repository.insert(uow, charge, normalized, cost_basis)
        ctx = self.context(uow)
        if purchase.settlement_type == "invoice":
            return self._gathering_line(ctx, purchase)
        machine = machine_for(ctx, purchase)
        machine.advance_until_stable()
        settlement = normalized.settlement
        initial = getattr(settlement, "initial_status", "created")
        if initial != "created":
            machine.fire("payment_authorized" if initial == "authorized" else "payment_paid")
            machine.advance_until_stable()
        return machine.purchase, None

    def _initial_cost_basis(self, uow: UnitOfWork, namespace: str, intent: PurchaseIntent) -> ChargeCostBasis | None:
        basis = intent.cost_basis
        if basis is None or isinstance(basis, FiatCostBasis):
            return None
        pinned = None
        if isinstance(basis, PinnedCostBasis):
            try:
                pinned = currency_cost_bases.get_currency_cost_basis(uow, namespace, basis.currency_cost_basis_id)
            except NotFoundError as exc:
                raise PurchaseValidationError(str(exc), field="cost_basis.currency_cost_basis_id") from exc
            check_pinned(pinned, basis, currency=intent.currency)
            if fiat_amount(intent.credit_amount, pinned.rate, pinned.fiat_currency, uow.custom_currencies) <= 0:
                raise PurchaseValidationError(f"fiat settlement amount rounds to zero ({intent.credit_amount} ×"
                                              f" {pinned.rate})", field="credit_amount")
        resolved = initial_resolution(basis, currency=intent.currency, now=uow.now, pinned=pinned)
        return ChargeCostBasis(id=new_id(), basis=basis, resolved=resolved)

    def _gathering_line(self, ctx: PurchaseContext, purchase: CreditPurchase) -> tuple[CreditPurchase, str]:
        """§5.6.2 steps 5–6: exactly one gathering line, and the immediacy decision."""
        uow = ctx.uow
        existing = repository.live_lines(uow, purchase.namespace, purchase.id)
        if existing:
            raise PurchaseConflictError(f"credit purchase already has live line {existing[0].id}",
                                        charge_id=purchase.id)
        fiat = purchase.fiat_currency
        assert fiat is not None
        [line] = create_pending_invoice_lines(uow, purchase.namespace, purchase.customer_id, fiat,
                                              [gathering_line(purchase, provisional_amount(ctx, purchase))])
        # Immediate when the service period has started (advance_after = now, invoiced after the commit);
        # deferred otherwise: advance_after = the service start, when the charge-advance pass picks the
        # line up unless the regular collection invoiced it first (docs/credit-purchases.md).
        start = purchase.service_period.start
        advance_after = uow.now if start <= uow.now else start
        charge = purchase.charge.model_copy(update={"advance_after": advance_after.replace(microsecond=0)})
        stored = uow.charges.save(charge, uow.now)
        assert isinstance(stored, CreditPurchaseCharge)
        return purchase.model_copy(update={"charge": stored}), line.id

    def _try_invoice_now(self, namespace: str, charge_id: str) -> bool:
        """Invoice a ``created`` purchase's pending line now; on failure log it and leave it for the next
        charge-advance pass or the regular collection (durable immediate invoicing, §5.6.4)."""
        line_id: str | None = None
        try:
            with self.store.unit_of_work() as uow:
                purchase = repository.load(uow, namespace, charge_id)
                uow.lock_customer(namespace, purchase.customer_id)
                lines = repository.live_lines(uow, namespace, charge_id)
                pending = [line for line in lines if uow.invoices.require_row(namespace, line.invoice_id).kind
                           == "gathering"]
                if purchase.status != S.CREATED or not pending:
                    return False
                line_id = pending[0].id
                self.invoice_now(uow, purchase, line_id)
            return True
        except Exception as exc:  # noqa: BLE001 — any failure leaves the purchase for a later retry
            log.error("credit_purchase.invoice_now_failed", namespace=namespace, charge_id=charge_id,
                      line_id=line_id, error=str(exc), error_type=type(exc).__name__)
            return False

    # -- external settlement (§5.5) -----------------------------------------------------------------
    def transition_external_payment(self, namespace: str, charge_id: str,
                                    target: Literal["authorized", "settled"]) -> CreditPurchase:
        if target not in ("authorized", "settled"):
            raise PurchaseValidationError(f"target must be authorized or settled, got {target!r}",
                                          charge_id=charge_id, field="target")
        with self.store.unit_of_work() as uow:
            purchase = repository.load(uow, namespace, charge_id)
            if purchase.settlement_type != "external":
                raise PurchaseValidationError(
                    f"credit purchase is settled {purchase.settlement_type}: external payment transitions apply"
                    " to external settlement only", code="credit_grant_external_settlement_not_supported",
                    charge_id=charge_id)
            machine = machine_for(self.context(uow), purchase)
            machine.advance_until_stable()
            passed = {"authorized": (S.PAYMENT_AUTHORIZED, S.FINAL), "settled": (S.FINAL,)}[target]
            if machine.purchase.status in passed:
                self._log(machine.purchase).info("charge.event.replayed", trigger=target,
                                                 status=machine.purchase.status.value)
                return machine.purchase
            machine.fire("payment_authorized" if target == "authorized" else "payment_paid")
            machine.advance_until_stable()
            return machine.purchase

    # -- invoice settlement (§5.6.5–§5.6.13) -----------------------------------------------------------
    def handle_invoice_event(self, uow: UnitOfWork, namespace: str, charge_id: str, trigger: str,
                             invoice: InvoiceHeader | None, line: Line | None, *,
                             reason: VoidReason | None = None) -> CreditPurchase:
        """One invoice event for one purchase, in the caller's transaction (a savepoint of it)."""
        with self.store.unit_of_work() as inner:
            assert inner is uow or uow is None
            purchase = repository.load(inner, namespace, charge_id)
            machine = machine_for(self.context(inner), purchase)
            machine.advance_until_stable()
            if classify(machine.purchase, trigger, invoice, line) == "replay":
                self._log(machine.purchase).info(
                    "charge.event.replayed", trigger=trigger, status=machine.purchase.status.value,
                    invoice_id=None if invoice is None else invoice.id, line_id=None if line is None else line.id)
                return machine.purchase
            args: dict[str, object] = {"line": line, "invoice": invoice}
            if reason is not None:
                args["reason"] = reason
            machine.fire(trigger, **args)
            machine.advance_until_stable()
            return machine.purchase

    # -- the charge-advance pass (§1.8) ---------------------------------------------------------------
    def advance_customer(self, namespace: str, customer_id: str) -> list[CreditPurchase]:
        """Retry immediate invoicing of every due ``created`` invoice purchase of the customer; return the
        purchases it invoiced."""
        with self.store.unit_of_work(read_only=True) as uow:
            due = repository.due_invoice_purchases(uow, namespace, customer_id, uow.now)
        invoiced = [charge_id for charge_id in due if self._try_invoice_now(namespace, charge_id)]
        return [self.get(namespace, charge_id) for charge_id in invoiced]

    def advancer(self, uow: UnitOfWork, namespace: str, customer_id: str) -> None:
        """The purchase part of the charges service's advance pass (``ChargesService.advancers``)."""
        self.advance_customer(namespace, customer_id)

    def due_customers(self, namespace: str) -> list[str]:
        """Customers with an invoice purchase the advance pass would pick up now (for the periodic job)."""
        with self.store.unit_of_work(read_only=True) as uow:
            return repository.customers_with_due_purchases(uow, namespace, uow.now)

    # -- manual grant void (§5.7) ---------------------------------------------------------------------
    def void_credit_grant(self, namespace: str, charge_id: str) -> CreditPurchase:
        with self.store.unit_of_work() as uow:
            purchase = repository.load(uow, namespace, charge_id)
            if purchase.charge.deleted_at is not None:
                raise PurchaseNotFoundError(f"credit purchase {charge_id} is deleted", charge_id=charge_id)
            if purchase.currency in uow.custom_currencies:
                raise PurchaseValidationError("voiding a custom-currency grant is not supported", code="unsupported",
                                              charge_id=charge_id)
            if purchase.grant_voided_at is not None:
                return purchase
            if purchase.meta_status == "created" or purchase.grant is None:
                raise PurchaseConflictError(f"credit grant {charge_id} is pending and cannot be voided",
                                            charge_id=charge_id)
            expires_at = purchase.intent.expires_at
            if expires_at is not None and expires_at <= uow.now:
                raise PurchaseConflictError(f"credit grant {charge_id} expired at {expires_at.isoformat()} and cannot"
                                            " be voided", charge_id=charge_id)
            ctx = self.context(uow)
            with uow.session.begin_nested():
                void_grant(ctx, purchase)
                state = {**purchase.charge.state, "grant_voided_at": uow.now.isoformat()}
                uow.charges.save(purchase.charge.model_copy(update={"state": state}), uow.now)
            return repository.load(uow, namespace, charge_id, lock=False)

    @staticmethod
    def _log(purchase: CreditPurchase):  # type: ignore[no-untyped-def]
        return log.bind(namespace=purchase.namespace, customer_id=purchase.customer_id, charge_id=purchase.id)
