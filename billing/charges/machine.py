"""The charge state-machine engine (charges.md §1.7).

Each operation loads the charge and builds a fresh machine around it; the status lives on the charge.
A concrete machine declares its ``rules`` (from statuses, trigger, guard, target, action) and its
``activations`` (status → on-activate action). ``fire``:

1. refuses when the previous step left invoice patches undrained, an unknown trigger
   (``ChargeValidationError`` "unsupported trigger") and a missing argument (checked against ``None``);
2. picks the first rule for the current status and trigger whose guard holds, else raises
   ``PreconditionFailed`` naming trigger, status and charge — nothing changes;
3. with a target: sets the status, then runs the on-entry action with the trigger arguments; without
   one (an internal trigger) runs the action, which may set the status;
4. activates the resulting status (its on-activate action; every one is idempotent);
5. persists the charge row and the runs it touched, so every intermediate status is stored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, ClassVar

import structlog

from billing.charges import repository
from billing.charges.context import ChargeContext
from billing.charges.errors import ChargeValidationError, PreconditionFailed
from billing.charges.invoice_patches import InvoicePatch, InvoicePatches
from billing.charges.models import Charge
from billing.charges.runs import Run, runs_of

log = structlog.get_logger(__name__)

TRIGGERS = frozenset({
    "next", "invoice_created", "collection_completed", "invoice_issued", "attach_invoice_line",
    "line_manual_edit", "set_override", "clear_override", "shrink_to_realized_period", "delete", "extend",
    "shrink", "payment_authorized", "payment_paid", "payment_failed", "invoice_voided",
})
REQUIRED_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "invoice_created": ("line",), "invoice_issued": ("line",), "attach_invoice_line": ("line",),
    "extend": ("patch",), "shrink": ("patch",), "delete": ("patch",), "set_override": ("override",),
    "line_manual_edit": ("override",), "shrink_to_realized_period": ("end",),
}
#: Statuses whose invoice is being issued: period and override changes wait for billing (§3.4.3).
RETRY_AFTER_BILLING = frozenset({
    "active.realization.issuing", "active.realization.completed",
    "active.realization.zero_fiat_amount_overage_completed",
})


@dataclass(frozen=True)
class Rule:
    """``sources`` None means any live status (meta status other than ``deleted``)."""

    sources: frozenset[str] | None
    trigger: str
    target: str | None = None
    guard: str | None = None
    action: str | None = None


def rule(sources: str | tuple[str, ...] | None, trigger: str, target: str | None = None, *,
         guard: str | None = None, action: str | None = None) -> Rule:
    if isinstance(sources, str):
        sources = (sources,)
    return Rule(None if sources is None else frozenset(sources), trigger, target, guard, action)


class ChargeMachine:
    rules: ClassVar[tuple[Rule, ...]] = ()
    activations: ClassVar[dict[str, str]] = {}

    def __init__(self, ctx: ChargeContext, charge: Charge) -> None:
        self.ctx = ctx
        self.charge: Any = charge
        self._stored: Charge = charge
        self.runs: dict[str, Run] = {run.id: run for run in runs_of(charge.realizations)}
        self._dirty: list[str] = []
        self.patches = InvoicePatches()
        #: Every status persisted by this machine, in order (the observable status history).
        self.history: list[str] = []
        self.log = log.bind(namespace=charge.namespace, customer_id=charge.customer_id, charge_id=charge.id)

    # -- charge state ------------------------------------------------------------------------------
    @property
    def status(self) -> str:
        return self.charge.status

    @property
    def now(self) -> dt.datetime:
        return self.ctx.now

    def update(self, **fields: Any) -> None:
        self.charge = self.charge.model_copy(update=fields)

    def set_status(self, status: str) -> None:
        self.update(status=status)

    def set_state(self, **values: Any) -> None:
        state = dict(self.charge.state)
        for key, value in values.items():
            if value is None:
                state.pop(key, None)
            else:
                state[key] = str(value) if not isinstance(value, (str, bool, int, list, dict)) else value
        self.update(state=state)

    def set_advance_after(self, at: dt.datetime | None) -> None:
        self.update(advance_after=None if at is None else at.replace(microsecond=0))

    @property
    def current_run(self) -> Run | None:
        run_id = self.charge.state.get("current_run_id")
        return None if run_id is None else self.runs.get(run_id)

    def put_run(self, run: Run) -> None:
        self.runs[run.id] = run
        if run.id not in self._dirty:
            self._dirty.append(run.id)

    def ordered_runs(self) -> list[Run]:
        """Runs in creation order (the stored order, then runs added by this machine)."""
        return list(self.runs.values())

    def emit(self, patch: InvoicePatch) -> None:
        self.patches.append(patch)

    # -- firing ------------------------------------------------------------------------------------
    def _rule_for(self, trigger: str, args: dict[str, Any]) -> Rule | None:
        live = self.charge.meta_status != "deleted"
        for candidate in self.rules:
            if candidate.trigger != trigger:
                continue
            if candidate.sources is None and not live:
                continue
            if candidate.sources is not None and self.status not in candidate.sources:
                continue
            if candidate.guard is not None and not getattr(self, candidate.guard)(**args):
                continue
            return candidate
        return None

    def can_fire(self, trigger: str, **args: Any) -> bool:
        return self._rule_for(trigger, args) is not None

    def refuse(self, trigger: str, why: str = "") -> PreconditionFailed:
        reason = f": {why}" if why else ""
        return PreconditionFailed(
            f"charge {self.charge.id}: cannot {trigger} in status {self.status}{reason}",
            charge_id=self.charge.id, status=self.status, trigger=trigger,
        )

    def fire(self, trigger: str, **args: Any) -> None:
        if trigger not in TRIGGERS:
            raise ChargeValidationError(f"charge {self.charge.id}: unsupported trigger {trigger!r}",
                                        charge_id=self.charge.id, field="trigger")
        if self.patches:
            raise PreconditionFailed(
                f"charge {self.charge.id}: {len(self.patches)} invoice patches of the previous step are not"
                f" applied yet (trigger {trigger})", charge_id=self.charge.id, status=self.status, trigger=trigger)
        for name in REQUIRED_ARGUMENTS.get(trigger, ()):
            if args.get(name) is None:
                raise ChargeValidationError(f"charge {self.charge.id}: trigger {trigger} needs argument {name!r}",
                                            charge_id=self.charge.id, field=name)
        found = self._rule_for(trigger, args)
        if found is None:
            raise self.refuse(trigger)
        previous = self.status
        if found.target is not None:
            self.set_status(found.target)
        if found.action is not None:
            getattr(self, found.action)(**args)
        self.activate()
        self.persist()
        self.log.info("charge.transition", trigger=trigger, previous=previous, status=self.status)

    def activate(self) -> None:
        name = self.activations.get(self.status)
        if name is not None:
            getattr(self, name)()

    def persist(self) -> None:
        uow = self.ctx.uow
        for run_id in self._dirty:
            repository.save_run(uow, self.charge.namespace, self.charge.id, self.runs[run_id])
        self._dirty.clear()
        self._stored = repository.save(uow, self._stored, self.charge)
        self.history.append(self.status)

    def advance_until_stable(self) -> None:
        while self.can_fire("next"):
            self.fire("next")
            if self.patches:
                raise PreconditionFailed(
                    f"charge {self.charge.id}: advancing produced invoice patches in status {self.status};"
                    " use advance_until_invoice_patches_or_stable", charge_id=self.charge.id, status=self.status)

    def advance_until_invoice_patches_or_stable(self) -> InvoicePatches:
        while not self.patches and self.can_fire("next"):
            self.fire("next")
        return self.take_patches()

    def take_patches(self) -> InvoicePatches:
        patches, self.patches = self.patches, InvoicePatches()
        return patches
