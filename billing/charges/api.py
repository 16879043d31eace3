"""API operations on charge-managed invoice lines (charges.md §3.6, §4.5, §5.6.7, §6.3).

Billing's line operations (``billing.operations.line_edits``) and invoice deletion
(``billing.operations.standard.delete_invoice``) send every line that carries a ``charge_id`` here; plain
``invoicing`` lines never come. What happens:

| request | flat fee (``credit_then_invoice``) | usage based (``credit_then_invoice``) |
|---|---|---|
| API edit of a gathering or draft line | ``line_manual_edit``: the edited line becomes the charge's override; a draft run is re-rated and its credits reconciled | ``set_override`` (only while the charge has no run) |
| API delete of a gathering or draft line | ``delete`` from the API: a deleted override (base stays live for sync), the run detached and its credits returned | gathering line without runs, or the draft line of the only run: ``delete`` from the API; the progressive tail: ``shrink_to_realized_period`` |
| API create of a flat line | a manual flat-fee charge owns it (``attach_invoice_line`` on a draft) | — (manual usage lines stay plain lines) |

Deleting a whole invoice that holds charge lines is ``billing.charges.invoice_deletion``.

Credit-purchase lines accept none of these: an API request fails with "charge-managed line cannot be
updated" (``ChargeValidationError``), a system deletion with ``PreconditionFailed`` (§5.6.7). Every
check runs before the first write; the caller's unit of work rolls a refusal back.

The manual flat-fee route of line *creation* is on when the store's sync routes new flat fees to charges
(``credits_enabled`` and ``credit_then_invoice_enabled``); whoever wires the charges backend for a store
says so with ``route_manual_flat_fees(store, enabled)``.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import structlog

from billing.charges.context import ChargeContext
from billing.charges.creation import create_charge, validate_new_charge
from billing.charges.errors import ChargeValidationError, PreconditionFailed
from billing.charges.hooks import engines_for
from billing.charges.line_intents import check_attribution, manual_flat_fee, override_from_line
from billing.charges.machine import ChargeMachine
from billing.charges.models import FlatFeeCharge
from billing.charges.projection import FLAT_FEE_ENGINE, USAGE_BASED_ENGINE, project_run
from billing.charges.repository import lock_and_load
from billing.charges.requests import DeletePatch
from billing.lines import LineContent
from billing.operations.rerating import recalculate
from billing.store.mapping import line_of, write_line_content
from billing.store.tables import InvoiceRow, LineRow
from billing.store.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from billing.charges.service import ChargesService

log = structlog.get_logger(__name__)

PURCHASE_ENGINE = "charge_creditpurchase"
CHARGE_ENGINES = frozenset({FLAT_FEE_ENGINE, USAGE_BASED_ENGINE})
REFUSED = "charge-managed line cannot be updated"
API_DELETE = DeletePatch(change_source="api", credit_refund="ignore", invoice_refund="ignore")

_MANUAL_FLAT_FEES: "weakref.WeakKeyDictionary[Any, bool]" = weakref.WeakKeyDictionary()


def route_manual_flat_fees(store: Any, enabled: bool) -> None:
    """Whether flat lines created through the invoice API on ``store`` become manual flat-fee charges."""
    _MANUAL_FLAT_FEES[store] = enabled


def routes_manual_flat_fees(store: Any) -> bool:
    return _MANUAL_FLAT_FEES.get(store, False) and _service(store, required=False) is not None


def is_charge_managed(row: LineRow) -> bool:
    return row.charge_id is not None or row.engine != "invoicing"


# -- refusals ---------------------------------------------------------------------------------------


def refuse_unsupported(rows: Sequence[LineRow], *, source: str, what: str) -> None:
    """Refuse, before anything is written, a request touching a line no charge API can take: a
    credit-purchase line (§5.6.7) or a line of an engine nobody registered."""
    for row in rows:
        if not is_charge_managed(row) or (row.engine in CHARGE_ENGINES and row.charge_id is not None):
            continue
        message = f"{what}: line {row.id} (engine {row.engine}, charge {row.charge_id}): {REFUSED}"
        if source == "system":
            raise PreconditionFailed(message, charge_id=row.charge_id, trigger="delete", code="unsupported")
        raise ChargeValidationError(message, charge_id=row.charge_id, field="engine", code="unsupported")


# -- the charges service of a store ------------------------------------------------------------------


def _service(store: Any, *, required: bool = True) -> "ChargesService | None":
    engine = engines_for(store).get(FLAT_FEE_ENGINE)
    service = getattr(engine, "service", None)
    if service is None and required:
        raise ChargeValidationError(f"the charges backend is not configured for this store: {REFUSED}",
                                    field="charge_id", code="unsupported")
    return service


class ChargeCall:
    """One API call on one charge: the service, a context on the caller's unit of work, the machine."""

    def __init__(self, uow: UnitOfWork, namespace: str, charge_id: str) -> None:
        service = _service(uow.store)
        assert service is not None
        service._check_namespace(namespace)
        self.service = service
        self.ctx = ChargeContext(uow, service.ledger)
        charge = lock_and_load(uow, namespace, charge_id)
        if charge.type == "credit_purchase":
            raise ChargeValidationError(f"charge {charge_id}: {REFUSED}", charge_id=charge_id, field="type",
                                        code="unsupported")
        self.machine: ChargeMachine = service.machine(self.ctx, charge)
        self.machine.advance_until_stable()

    @property
    def charge(self) -> Any:
        return self.machine.charge

    def fire(self, trigger: str, *, advance: bool = True, **args: Any) -> None:
        self.machine.fire(trigger, **args)
        self.drain(advance=advance)

    def drain(self, *, advance: bool = True) -> None:
        charge = self.machine.charge
        advanceable = [charge.id] if advance and self.machine.can_fire("next") else []
        self.service._drain_rounds(self.ctx, charge.namespace, charge.customer_id, self.machine.take_patches(),
                                   advanceable)


# -- create -------------------------------------------------------------------------------------------


def check_new_line(line: LineContent) -> None:
    """What an API create may not name: a charge or a charge engine (charges create their own lines)."""
    if line.charge_id is not None or line.engine != "invoicing":
        raise ChargeValidationError(
            f"line {line.name!r} names charge {line.charge_id!r} / engine {line.engine}: {REFUSED}",
            charge_id=line.charge_id, field="engine", code="unsupported")


def new_manual_flat_fee(uow: UnitOfWork, namespace: str, customer_id: str, currency: str,
                        line: LineContent) -> Any:
    """Validate the manual charge a new flat line would become, before the line is written."""
    service = _service(uow.store)
    assert service is not None
    service._check_namespace(namespace)
    new = manual_flat_fee(line, customer_id=customer_id, currency=currency,
                          default_tax=service.invoicing_tax_config)
    validate_new_charge(ChargeContext(uow, service.ledger), namespace, new, default_tax=service.invoicing_tax_config)
    return new


def attach_manual_flat_fee(uow: UnitOfWork, invoice: InvoiceRow, row: LineRow, new: Any) -> None:
    """§3.6: billing gave the line its id; a manual flat-fee charge now owns it. On a draft standard
    invoice the charge starts its run at once (FC-3) and credits are allocated."""
    service = _service(uow.store)
    assert service is not None
    ctx = ChargeContext(uow, service.ledger)
    machine = create_charge(ctx, invoice.namespace, new, default_tax=service.invoicing_tax_config)
    machine.take_patches()  # its gathering line is this line
    projected = _projection(machine, row)
    write_line_content(row, projected)
    row.updated_at = uow.now
    uow.flush()
    if invoice.kind == "standard":
        machine.fire("attach_invoice_line", line=line_of(row, "standard"))
        run = machine.current_run
        assert run is not None
        project_run(row, run)
        service._drain_rounds(ctx, invoice.namespace, invoice.customer_id, machine.take_patches(), [])
    recalculate(uow, invoice)
    uow.flush()
    log.info("charges.api.line_created", namespace=invoice.namespace, customer_id=invoice.customer_id,
             charge_id=machine.charge.id, line_id=row.id, invoice_id=invoice.id)


def _projection(machine: ChargeMachine, row: LineRow) -> LineContent:
    from billing.charges.projection import flat_fee_line

    target = flat_fee_line(machine.charge, machine.amount)  # type: ignore[attr-defined]
    return target.model_copy(update={"metadata": dict(row.metadata_ or {})})


# -- edit ---------------------------------------------------------------------------------------------


def edit_charge_line(uow: UnitOfWork, invoice: InvoiceRow, row: LineRow, edited: LineContent,
                     updates: dict[str, Any]) -> None:
    """An API edit of a charge line becomes the charge's override (§3.6, §4.5)."""
    refuse_unsupported([row], source="api", what=f"edit_line({invoice.id}, {row.id})")
    assert row.charge_id is not None
    call = ChargeCall(uow, invoice.namespace, row.charge_id)
    check_attribution(call.charge, line_of(row, invoice.kind), updates)
    override = override_from_line(call.charge, edited, updates)
    trigger = "line_manual_edit" if isinstance(call.charge, FlatFeeCharge) else "set_override"
    call.fire(trigger, override=override)
    log.info("charges.api.line_edited", namespace=invoice.namespace, customer_id=invoice.customer_id,
             charge_id=row.charge_id, line_id=row.id, invoice_id=invoice.id, fields=sorted(updates))


# -- delete -------------------------------------------------------------------------------------------


def run_of_line(machine: ChargeMachine, row: LineRow) -> Any:
    runs = [run for run in machine.ordered_runs() if run.line_id == row.id]
    return runs[-1] if runs else None


def delete_charge_line(uow: UnitOfWork, invoice: InvoiceRow, row: LineRow) -> None:
    """An API delete of a charge line (§3.6, §4.5). The line ends soft-deleted and ``manual``."""
    refuse_unsupported([row], source="api", what=f"delete_line({invoice.id}, {row.id})")
    assert row.charge_id is not None
    call = ChargeCall(uow, invoice.namespace, row.charge_id)
    if isinstance(call.charge, FlatFeeCharge):
        call.fire("delete", patch=API_DELETE)
    else:
        _delete_usage_line(call, invoice, row)
    _tombstone(uow, invoice, row)
    log.info("charges.api.line_deleted", namespace=invoice.namespace, customer_id=invoice.customer_id,
             charge_id=row.charge_id, line_id=row.id, invoice_id=invoice.id, status=call.charge.status)


def _delete_usage_line(call: ChargeCall, invoice: InvoiceRow, row: LineRow) -> None:
    machine: Any = call.machine
    live = machine.live_runs()
    if invoice.kind == "gathering":
        if live:  # the unbilled progressive tail (§4.5, C-044)
            call.fire("shrink_to_realized_period", end=row.service_period_start, advance=False)
        else:  # C-029
            call.fire("delete", patch=API_DELETE)
        return
    run = run_of_line(machine, row)
    others = [other for other in live if run is None or other.id != run.id]
    if others:
        raise PreconditionFailed(
            f"charge {call.charge.id}: cannot delete line {row.id} through the API while the charge has"
            f" {len(others)} other realization run(s); delete the later lines first",
            charge_id=call.charge.id, status=call.charge.status, trigger="delete")
    call.fire("delete", patch=API_DELETE)  # C-035: the charge's only run


def _tombstone(uow: UnitOfWork, invoice: InvoiceRow, row: LineRow) -> None:
    """The deleted line stays as a manual tombstone (sync never re-creates it)."""
    row.managed_by = "manual"
    row.updated_at = uow.now
    if row.deleted_at is None:
        row.deleted_at = uow.now
        uow.flush()
        recalculate(uow, invoice)
        from billing.operations.gathering import delete_gathering_if_empty
        from billing.operations.standard import delete_draft_if_empty

        if invoice.kind == "gathering":
            delete_gathering_if_empty(uow, invoice)
        else:
            delete_draft_if_empty(uow, invoice)
    uow.flush()
