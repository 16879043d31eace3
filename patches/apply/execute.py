"""Executing apply units (reconciler.md §5.3). Each function runs one unit through the ports.

The applier never decides: it executes the plan's steps. What it checks are invariants that the
planner and the customer lock guarantee (a named line exists, an invoice is still writable); a
violation is a ``PlanInvariantError`` and the caller rolls the whole sync back.
"""

from __future__ import annotations

from typing import Any

import structlog

from billing.invoices import Invoice, ValidationIssue
from billing.lines import Line
from patches.apply.charges import ChargePatchInput
from patches.apply.line_changes import apply_line_changes
from patches.apply.ports import ApplyPorts
from patches.apply.units import Stage, Unit
from patches.errors import ChargesUnavailableError, PlanInvariantError, StalePlanError
from patches.model import ChargeCreate, LineDelete, LineUpdate, Plan

log = structlog.get_logger(__name__)


def invoice_class(invoice: Invoice) -> str:
    """§1.1, evaluated at apply time from the invoice as it is now."""
    if invoice.kind == "gathering":
        return "gone" if invoice.deleted_at is not None else "gathering"
    return "immutable" if invoice.immutable else "mutable"


class UnitExecutor:
    def __init__(self, plan: Plan, ports: ApplyPorts) -> None:
        self.plan = plan
        self.ports = ports
        self.namespace = plan.namespace
        self.context = {
            "namespace": plan.namespace, "subscription_id": plan.subscription_id, "customer_id": plan.customer_id,
        }

    def run(self, unit: Unit) -> None:
        handler = {
            Stage.REPAIR: self.repair,
            Stage.CREATE: self.create,
            Stage.INVOICE: self.invoice,
            Stage.ISSUES: self.issues,
            Stage.GROUP_DELETE: self.group_delete,
            Stage.GROUP_UPDATE: self.group_update,
            Stage.CHARGES: self.charges,
        }[unit.stage]
        log.debug("apply.unit", unit=unit.name, steps=len(unit.steps))
        handler(unit)

    # -- stage 0 ----------------------------------------------------------------------------------
    def repair(self, unit: Unit) -> None:
        repair = unit.repair
        assert repair is not None
        charges = self._charges_port(identity=repair.identity)
        current = next(
            (charge for charge in charges.list_charges(self.namespace, subscription_ids=[self.plan.subscription_id])
             if charge.id == repair.charge_id),
            None,
        )
        current_item = None if current is None or current.subscription is None else current.subscription.item_id
        if current_item != repair.item_id.old:
            raise StalePlanError(
                f"reference repair of charge {repair.charge_id}: its item id is {current_item!r}, the plan expected"
                f" {repair.item_id.old!r}",
                identity=repair.identity, **self.context,
            )
        charges.update_subscription_item_id(self.namespace, repair.charge_id, repair.item_id.new)

    # -- stage 1 ----------------------------------------------------------------------------------
    def create(self, unit: Unit) -> None:
        lines = [placed.step.line for placed in unit.ordered_steps()]
        self.ports.billing.create_pending_invoice_lines(self.namespace, self.plan.customer_id, unit.subject, lines)

    # -- stage 2 ----------------------------------------------------------------------------------
    def invoice(self, unit: Unit) -> None:
        invoice_id = unit.invoice_id
        assert invoice_id is not None
        invoice = self.ports.billing.get_invoice(self.namespace, invoice_id, include_deleted_lines=True)
        klass = invoice_class(invoice)
        if klass not in ("gathering", "mutable"):
            raise PlanInvariantError(
                f"line steps against {klass} invoice {invoice_id} (status {invoice.status}); sync only changes"
                " gathering and mutable invoices", **self.context,
            )
        stored = {line.id: line for line in invoice.lines or ()}
        delete_ids: list[str] = []
        replacements: list[Line] = []
        seen: set[str] = set()
        for placed in unit.ordered_steps():
            step = placed.step
            line_id = placed.line_id
            line = stored.get(line_id)
            if line is None:
                raise PlanInvariantError(f"line {line_id} is not on invoice {invoice_id}", identity=placed.identity,
                                         **self.context)
            if line_id in seen:
                raise PlanInvariantError(f"two steps for line {line_id} on invoice {invoice_id}",
                                         identity=placed.identity, **self.context)
            seen.add(line_id)
            if isinstance(step, LineDelete):
                delete_ids.append(line_id)
            elif isinstance(step, LineUpdate):
                replacement = apply_line_changes(line, step.changes)
                if klass == "mutable":
                    replacement = self.ports.engine.snapshot_line_quantity(invoice, replacement)
                replacements.append(replacement)
            else:
                raise PlanInvariantError(f"step {getattr(step, 'kind', step)!r} cannot run in invoice unit {unit.name}",
                                         identity=placed.identity, **self.context)
        billing = self.ports.billing
        if klass == "gathering":
            billing.update_gathering_invoice(self.namespace, invoice_id, delete_line_ids=delete_ids,
                                             replace_lines=replacements)
            return
        billing.update_standard_invoice(self.namespace, invoice_id, delete_line_ids=delete_ids,
                                        replace_lines=replacements)
        after = billing.get_invoice(self.namespace, invoice_id, include_deleted_lines=False)
        if not after.live_lines():
            deleted = billing.delete_invoice(self.namespace, invoice_id)
            if deleted.status == "delete.failed":
                log.warning("apply.invoice_delete_failed", invoice_id=invoice_id,
                            validation_issues=[issue.model_dump() for issue in deleted.validation_issues])

    # -- stage 3 ----------------------------------------------------------------------------------
    def issues(self, unit: Unit) -> None:
        update = unit.issue_update
        assert update is not None
        invoice = self.ports.billing.get_invoice(self.namespace, update.invoice_id, include_deleted_lines=False)
        removed = {_issue_key(issue) for issue in update.remove}
        kept = [issue for issue in invoice.validation_issues if _issue_key(issue) not in removed]
        added = sorted(update.add, key=lambda issue: (issue.path, issue.message))
        self.ports.billing.upsert_validation_issues(self.namespace, update.invoice_id, [*kept, *added])

    # -- stages 4 and 5 ---------------------------------------------------------------------------
    def group_delete(self, unit: Unit) -> None:
        self.ports.billing.delete_split_line_group(self.namespace, unit.subject)

    def group_update(self, unit: Unit) -> None:
        (placed,) = unit.steps
        self.ports.billing.update_split_line_group(self.namespace, unit.subject, placed.step.changes.to_billing())

    # -- stage 6 ----------------------------------------------------------------------------------
    def charges(self, unit: Unit) -> None:
        charges = self._charges_port(identity=unit.steps[0].identity if unit.steps else None)
        creates = [placed.step.intent for placed in unit.steps if isinstance(placed.step, ChargeCreate)]
        patches = {placed.step.charge_id: placed.step for placed in unit.steps if not isinstance(placed.step, ChargeCreate)}
        charges.apply_patches(
            self.namespace,
            ChargePatchInput(
                customer_id=self.plan.customer_id,
                creates=tuple(creates),
                patches_by_charge_id={charge_id: patches[charge_id] for charge_id in sorted(patches)},
            ),
        )

    def _charges_port(self, *, identity: str | None) -> Any:
        if self.ports.charges is None:
            raise ChargesUnavailableError("charges service is required when there are charge patches",
                                          identity=identity, **self.context)
        return self.ports.charges


def _issue_key(issue: ValidationIssue) -> tuple[str, str, str, str]:
    return (issue.path, issue.component, issue.code, issue.message)
