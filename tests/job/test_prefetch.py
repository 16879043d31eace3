"""Batch-loaded reads (``subsync.job.prefetch``) equal the per-subscription reads of the billing port,
on a store holding every kind of artifact: gathering and standard lines, a paid (immutable) and a
draft invoice, a split-line hierarchy, a manual line deleted by hand, a validation issue, other
customers' subscriptions on their own invoices, and a deleted subscription. The pre-planner's plans
carry the same basis fingerprint as locked dry runs."""

from __future__ import annotations

import datetime as dt

from billing.operations.line_edits import LineEdit
from billing.service import BillingService
from billing.subscription_store import SubscriptionStore
from subsync.job import ListedSubscription
from subsync.job.prefetch import PrefetchedBilling, PrefetchedSubscriptions, chunk_reads
from subsync.job.preplan import PrePlanner
from subsync.sync import StoredSubscriptions, SyncOptions, SyncService
from tests.job.stores import seed
from tests.sync.world import CUSTOMER, NAMESPACE, SUBSCRIPTION, World, replace_items_at_0115, split_world


def rich_store(store, clock):  # type: ignore[no-untyped-def]
    world = split_world(lambda *args, **kwargs: World(store, clock, *args, **kwargs))
    replace_items_at_0115(world)
    world.sync()  # a shrunk draft child, deleted gathering lines, an issue on the paid invoice
    gathering = next(i for i in world.invoices() if i.kind == "gathering" and i.deleted_at is None)
    line = next(line for line in gathering.live_lines() if line.child_unique_reference_id)
    world.billing.edit_line(NAMESPACE, gathering.id, line.id, LineEdit(name="by hand"))  # now manual
    world.billing.delete_line(NAMESPACE, gathering.id, line.id)                          # deleted, still loaded
    others = seed(store, 6, per_customer=3)
    service = SyncService.for_store(store)
    for subscription_id in others:
        service.sync_by_id(NAMESPACE, subscription_id, clock.now())
    SubscriptionStore(store).delete_subscription(NAMESPACE, others[-1])
    listed = [ListedSubscription(NAMESPACE, SUBSCRIPTION, CUSTOMER, dt.datetime.now(dt.timezone.utc), None, False, None)]
    listed += [ListedSubscription(NAMESPACE, sid, f"cus-{i // 3:05d}", dt.datetime.now(dt.timezone.utc), None,
                                  sid == others[-1], None) for i, sid in enumerate(others)]
    return listed


def test_prefetched_reads_equal_the_per_subscription_reads(store, clock):
    listed = rich_store(store, clock)
    billing = BillingService(store)
    subscriptions = StoredSubscriptions(SubscriptionStore(store))
    with store.unit_of_work() as uow:
        reads = chunk_reads(uow, listed)
        prefetched = PrefetchedBilling(billing, reads)
        resolver = PrefetchedSubscriptions(subscriptions, reads)
        kinds_seen = set()
        for item in listed:
            ns, sid = item.namespace, item.subscription_id
            standard = prefetched.get_standard_lines_for_subscription(ns, sid)
            gathering = prefetched.get_gathering_lines_for_subscription(ns, sid)
            hierarchies = prefetched.get_split_line_hierarchies_for_subscription(ns, sid)
            assert standard == billing.get_standard_lines_for_subscription(ns, sid)
            assert gathering == billing.get_gathering_lines_for_subscription(ns, sid)
            assert hierarchies == billing.get_split_line_hierarchies_for_subscription(ns, sid)
            referenced = sorted({line.invoice_id for line in (*standard, *gathering)}
                                | {child.invoice.id for h in hierarchies for child in h.children})
            invoices = prefetched.list_invoices(ns, referenced, include_deleted=True, with_line_ids=True,
                                                with_validation_issues=True)
            assert invoices == billing.list_invoices(ns, referenced)
            assert prefetched.get_customer_override(ns, item.customer_id) == billing.get_customer_override(
                ns, item.customer_id)
            assert resolver.resolve(ns, sid) == subscriptions.resolve(ns, sid)
            kinds_seen |= {"standard"} if standard else set()
            kinds_seen |= {"hierarchy"} if hierarchies else set()
            kinds_seen |= {"deleted manual line"} if any(line.deleted_at for line in gathering) else set()
            kinds_seen |= {"issue"} if any(invoice.validation_issues for invoice in invoices) else set()
        assert kinds_seen == {"standard", "hierarchy", "deleted manual line", "issue"}
        # Anything not prefetched goes to the real port.
        assert prefetched.get_gathering_lines_for_subscription(ns, "elsewhere") == []
        assert prefetched.list_invoices(ns, ["unknown"]) == []


def test_pre_planned_plans_have_the_basis_of_locked_dry_runs(store, clock):
    listed = rich_store(store, clock)
    service = SyncService.for_store(store)
    preplanner = PrePlanner(service, store)
    with store.unit_of_work() as uow:
        prefetched_service = preplanner.service_for(chunk_reads(uow, listed))
        unlocked = {item.subscription_id: prefetched_service.sync_by_id(
            item.namespace, item.subscription_id, clock.now(), SyncOptions(dry_run=True)).plan for item in listed}
    for item in listed:
        locked = service.sync_by_id(item.namespace, item.subscription_id, clock.now(), SyncOptions(dry_run=True)).plan
        assert unlocked[item.subscription_id] == locked
