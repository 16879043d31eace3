"""``subsync demo``: the README's main job on the embedded default, narrated.

On an empty database the demo migrates the schema, imports the three subscriptions of
``subsync.demo.story`` and walks a frozen clock from 2024-01-01 to 2024-03-02. At each stop it does
what the outside world would (usage arrives, a customer upgrades, another cancels, billing invoices
progressively) and runs the periodic job (``subsync reconcile``), printing every applied plan, the
job's summary and the invoices billing made.

Re-running is safe: when the demo's subscriptions already exist, nothing is imported or ingested again;
the job runs once more at the demo's last time with ``--force`` and, everything being converged,
changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from billing.invoices import Invoice
from billing.service import BillingService
from billing.store import Store
from billing.subscription_store import SubscriptionStore
from billing.usage import NewUsageEvent
from patches.render import render_text
from subscriptions import edits
from subscriptions.models import SubscriptionView
from subsync.demo.story import (
    FEBRUARY_USAGE,
    JANUARY_USAGE,
    LAST,
    NAMESPACE,
    SETUPS,
    START,
    UPGRADED_PLATFORM_FEE,
    at,
)
from subsync.job import ReconcileJob, ReconcileReport
from subsync.job.importing import import_setups, read_setups
from subsync.settings import display_url, open_store, sync_settings
from subsync.sync import StoredSubscriptions

Echo = Callable[[str], None]
CUSTOMERS = ("hooli", "globex", "initech")
DEMO_SUBSCRIPTIONS = ("hooli-pro", "globex-gpu", "initech-starter")


class DemoClock:
    """The demo's clock: frozen, moved forward step by step."""

    def __init__(self, now: dt.datetime) -> None:
        self._now = now

    def now(self) -> dt.datetime:
        return self._now

    def move_to(self, when: dt.datetime) -> None:
        self._now = max(self._now, when)


def iso(value: dt.datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


class Demo:
    def __init__(self, store: Store, clock: DemoClock, echo: Echo, colour: bool) -> None:
        self.store = store
        self.clock = clock
        self.echo = echo
        self.colour = colour
        self.billing = BillingService(store)
        self.subscriptions = SubscriptionStore(store)
        # The story bills on invoice lines: credits stay off whatever SUBSYNC_CREDITS_ENABLED says.
        self.job = ReconcileJob.for_store(store, settings=sync_settings(credits_enabled=False))
        self.seen_invoices: set[str] = set()
        self.failed = 0

    # -- narration -------------------------------------------------------------------------------------
    def step(self, when: dt.datetime, title: str) -> None:
        self.clock.move_to(when)
        self.echo("")
        self.echo(f"== {iso(when)}  {title}")
        # What billing's own worker does as time passes: drafts are issued, issued invoices collected.
        for customer in CUSTOMERS:
            self.billing.advance_due_invoices(NAMESPACE, customer)

    def say(self, text: str) -> None:
        self.echo(f"   {text}")

    def reconcile(self, *, force: bool = False, invoice: bool = False) -> ReconcileReport:
        flags = "".join((" --force" if force else "", " --invoice" if invoice else ""))
        customers = "".join(f" -c {customer}" for customer in CUSTOMERS)
        self.say(f"$ subsync reconcile{flags} --as-of {iso(self.clock.now())}{customers}")
        report = self.job.run(customers=CUSTOMERS, force=force, invoice=invoice, keep_plans=True)
        for plan in report.plans or ():
            for line in render_text(plan, colour=self.colour).splitlines():
                self.say(f"  {line}")
        for failure in report.failures:
            self.say(f"  failed: {failure.subscription_id or failure.customer_id}: {failure.category}: {failure.message}")
        self.say(f"  {report.summary_line()}")
        self.failed += len(report.failures)
        self.new_invoices()
        return report

    def new_invoices(self) -> None:
        for customer in CUSTOMERS:
            for invoice in self.billing.list_customer_invoices(NAMESPACE, customer):
                if invoice.kind != "standard" or invoice.id in self.seen_invoices:
                    continue
                self.seen_invoices.add(invoice.id)
                self.say(f"  invoiced {customer}: {describe_invoice(invoice)}")

    # -- the story -------------------------------------------------------------------------------------
    def seed(self) -> None:
        self.step(START, "Three customers subscribe")
        imported = import_setups(self.store, read_setups(SETUPS))
        for item in imported:
            sub = item.subscription
            self.say(f"imported {sub.id} for {sub.customer_id} (plan {sub.plan_key})")
        self.reconcile(invoice=True)

        self.step(at("2024-01-31T00:00:00"), "January usage arrives")
        self.ingest(JANUARY_USAGE)

        self.step(at("2024-02-01T00:00:00"), "A new month: in-arrears fees and usage become due")
        self.reconcile(invoice=True)

        self.step(at("2024-02-14T00:00:00"), "Globex asks for a bill mid-period: progressive billing invoices its usage so far")
        self.ingest(FEBRUARY_USAGE[:1] + [(FEBRUARY_USAGE[1][0], FEBRUARY_USAGE[1][1], FEBRUARY_USAGE[1][2][:2])])
        self.say(f"$ subsync apply --subscription globex-gpu --as-of {iso(self.clock.now())}")
        result = self.job.service.sync_by_id(NAMESPACE, "globex-gpu", self.clock.now())
        if result.plan is not None:
            for line in render_text(result.plan, colour=self.colour).splitlines():
                self.say(f"  {line}")
        # Billing's own invoicing (not a sync's, which never splits): Globex's profile bills progressively,
        # so February's usage line is split at today and its first part invoiced.
        self.billing.invoice_pending_lines(NAMESPACE, "globex")
        self.say("billing invoices Globex's pending lines now; its profile bills usage progressively")
        self.new_invoices()

        self.step(at("2024-02-15T00:00:00"), "Hooli upgrades its platform fee; Initech cancels as of 20 February")
        self.edit("hooli-pro", lambda v: edits.add_item(
            edits.remove_item(v, "default", "platform-fee", self.clock.now()), "default", UPGRADED_PLATFORM_FEE,
            self.clock.now()))
        self.say("hooli-pro: platform fee 49 → 99 USD a month from 2024-02-15")
        self.edit("initech-starter", lambda v: edits.cancel(v, at("2024-02-20T00:00:00")))
        self.say("initech-starter: cancelled with effect from 2024-02-20")
        self.say("(edits normally trigger a sync at once; here the job is forced to pick them up)")
        self.reconcile(force=True)

        self.step(at("2024-02-29T00:00:00"), "The rest of February's usage arrives")
        self.ingest([(FEBRUARY_USAGE[1][0], FEBRUARY_USAGE[1][1], FEBRUARY_USAGE[1][2][2:])])

        self.step(LAST, "March: the periodic job bills the new month")
        self.reconcile(invoice=True)

    def rerun(self) -> ReconcileReport:
        self.step(LAST, "The demo data is already here: reconcile everything again")
        return self.reconcile(force=True)

    def ingest(self, usage: list[tuple[str, str, list[tuple[str, str]]]]) -> None:
        for customer, meter, events in usage:
            self.billing.ingest_usage(NAMESPACE, customer, meter, [
                NewUsageEvent(time=at(time), value=Decimal(value)) for time, value in events
            ])
            total = sum(Decimal(value) for _, value in events)
            self.say(f"{customer}: {len(events)} {meter} event(s), {total} in total")

    def edit(self, subscription_id: str, change: Callable[[SubscriptionView], SubscriptionView]) -> None:
        view = StoredSubscriptions(self.subscriptions).get_view(NAMESPACE, subscription_id)
        view = change(view)
        sub = view.subscription
        self.subscriptions.upsert_subscription(
            NAMESPACE, sub.id, customer_id=sub.customer_id, view=view.model_dump(mode="json"),
            active_from=sub.active_from, active_to=sub.active_to,
        )

    def summary(self) -> None:
        self.echo("")
        self.echo("== Billing now holds")
        for customer in CUSTOMERS:
            for invoice in self.billing.list_customer_invoices(NAMESPACE, customer):
                if invoice.deleted_at is not None:
                    continue
                self.say(f"{customer}: {describe_invoice(invoice)}")


def describe_invoice(invoice: Invoice) -> str:
    live = [line for line in invoice.lines or () if line.deleted_at is None]
    kind = "gathering invoice" if invoice.kind == "gathering" else "invoice"
    return (f"{kind} {invoice.status}, {len(live)} line(s), total {invoice.totals.total} {invoice.currency}"
            + (f", {len(invoice.validation_issues)} warning(s)" if invoice.validation_issues else ""))


def _already_seeded(store: Store) -> bool:
    """The demo's subscriptions are all there (the demo ran before)."""
    stored = SubscriptionStore(store).list_subscriptions(ids=DEMO_SUBSCRIPTIONS, namespaces=[NAMESPACE],
                                                        customer_ids=CUSTOMERS, include_deleted=True)
    return len(stored) == len(DEMO_SUBSCRIPTIONS)


def run_demo(url: str, *, echo: Echo = print, colour: bool = False) -> int:
    """Create (or revisit) the demo database at ``url``; 0 when every sync succeeded."""
    clock = DemoClock(START)
    store = open_store(url, clock, require_schema=False, create=True)
    try:
        store.upgrade()
        demo = Demo(store, clock, echo, colour)
        echo(f"subsync demo on {display_url(url)} (the demo's clock runs from {iso(START)} to {iso(LAST)})")
        if _already_seeded(store):
            clock.move_to(LAST)
            demo.seen_invoices = {
                i.id for c in CUSTOMERS for i in demo.billing.list_customer_invoices(NAMESPACE, c)
            }
            report = demo.rerun()
            if report.ok and report.synced == 0:
                echo("")
                echo("Nothing needed changing: re-running the demo (or the job) is safe.")
        else:
            demo.seed()
            demo.summary()
        echo("")
        echo("Next: `subsync check --as-of 2024-03-02T00:00:00Z`, "
             "`subsync plan --subscription hooli-pro --as-of 2024-03-20T00:00:00Z`, "
             "`subsync reconcile --list --force --as-of 2024-03-02T00:00:00Z`")
        return 0 if demo.failed == 0 else 1
    finally:
        store.dispose()


__all__ = ["run_demo"]
