"""Triggers (reconciler.md §6.7): which entry point each event runs, lockdown, terminal integrity
errors, the cancellation rule, invoice-created refills, and the customer-deletion validator."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from billing.errors import ConflictError
from persistedstate.errors import DuplicateIdentityError
from reconciler.settings import SyncSettings
from subscriptions import edits
from subsync.sync import InvalidEventError, SyncService, SyncTriggers
from tests.sync.plans import at
from tests.sync.stores import table_dump
from tests.sync.world import API, CUSTOMER, FEE, NAMESPACE, SUBSCRIPTION, setup

CUSTOM_FEE = {**FEE, "key": "credits-fee", "price": {**FEE["price"], "currency": "CREDITS"}}


def triggers(world, **settings):  # type: ignore[no-untyped-def]
    if settings:
        world.service = SyncService.for_store(world.store, settings=SyncSettings(**settings), billing=world.billing)
    return SyncTriggers(world.service)


def standard_invoices(world):  # type: ignore[no-untyped-def]
    return [invoice for invoice in world.invoices() if invoice.kind == "standard"]


def test_subscription_created_syncs_and_invoices_at_now(make_world):
    world = make_world(setup(FEE, API))
    world.at("2024-01-15T00:00:00Z")
    result = triggers(world).subscription_created(world.view)
    assert result.plan.as_of == at("2024-01-15")
    assert [line.child_unique_reference_id for line in standard_invoices(world)[0].lines] == ["sub-1/main/fee/v[0]/period[0]"]


@pytest.mark.parametrize("event", ["subscription_created", "subscription_updated", "subscription_continued"])
def test_view_events_skip_custom_currency_subscriptions(make_world, store, event):
    world = make_world(setup(FEE, CUSTOM_FEE))
    before = table_dump(store)
    result = getattr(triggers(world), event)(world.view)
    assert result.skipped and table_dump(store) == before


def test_events_of_a_lockdown_namespace_are_ignored(make_world, store):
    world = make_world(setup(FEE))
    handler = triggers(world, lockdown_namespaces=frozenset({NAMESPACE}))
    before = table_dump(store)
    assert handler.subscription_created(world.view) is None
    assert handler.subscription_sync_requested(NAMESPACE, SUBSCRIPTION) is None
    assert table_dump(store) == before


def test_a_cancellation_syncs_the_whole_remaining_schedule_up_to_active_to(make_world):
    world = make_world(setup(FEE, API))
    world.at("2024-01-15T00:00:00Z")
    view = world.edit(edits.cancel, at("2024-03-10"))
    result = triggers(world).subscription_cancelled(view)
    assert result.plan.as_of == at("2024-03-10")
    assert "sub-1/main/api/v[0]/period[2]" in world.live_identities()  # [03-01, 03-10), due at the end


def test_a_cancellation_without_active_to_syncs_at_now_then_raises(make_world):
    world = make_world(setup(FEE))
    world.at("2024-01-15T00:00:00Z")
    with pytest.raises(InvalidEventError, match="active_to is required for canceled events"):
        triggers(world).subscription_cancelled(world.view)
    assert world.sync_state().synced_at == at("2024-01-15")
    assert len(standard_invoices(world)) == 1


def test_subscription_deleted_syncs_by_id_without_invoicing(make_world):
    world = make_world(setup(FEE, API))
    world.at("2024-01-15T00:00:00Z")
    world.sync()
    world.delete_subscription()
    result = triggers(world).subscription_deleted(NAMESPACE, SUBSCRIPTION)
    assert result.deleted and world.live_lines() == [] and standard_invoices(world) == []


def test_sync_requested_syncs_and_invoices_by_id(make_world):
    world = make_world(setup(FEE))
    world.at("2024-01-15T00:00:00Z")
    triggers(world).subscription_sync_requested(NAMESPACE, SUBSCRIPTION)
    assert len(standard_invoices(world)) == 1


def test_integrity_errors_are_terminal_and_other_errors_propagate(make_world, monkeypatch):
    world = make_world(setup(FEE))
    handler = triggers(world)

    def duplicate(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise DuplicateIdentityError("duplicate", scope="invoice", subscription_id=SUBSCRIPTION,
                                     customer_id=CUSTOMER, identity="sub-1/main/fee/v[0]/period[0]")

    monkeypatch.setattr(world.service, "_load", duplicate)
    with capture_logs() as logs:
        assert handler.subscription_sync_requested(NAMESPACE, SUBSCRIPTION) is None
    [entry] = [e for e in logs if e["event"] == "sync.trigger.integrity_error"]
    assert entry["log_level"] == "error" and entry["identity"] == "sub-1/main/fee/v[0]/period[0]"

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("database went away")

    monkeypatch.setattr(world.service, "_load", broken)
    with pytest.raises(RuntimeError):
        handler.subscription_sync_requested(NAMESPACE, SUBSCRIPTION)


def test_standard_invoice_created_refills_future_work_of_every_referenced_subscription(make_world):
    world = make_world(setup(FEE))
    world.at("2024-01-15T00:00:00Z")
    world.sync()
    [invoice] = world.billing.invoice_pending_lines(NAMESPACE, CUSTOMER)
    world.at("2024-02-10T00:00:00Z")
    handler = triggers(world)
    assert handler.standard_invoice_created(world.billing.get_invoice(NAMESPACE, invoice.id)) is not None
    # February's fee (due 02-01) was created and invoiced; March's is pending
    assert "sub-1/main/fee/v[0]/period[2]" in world.live_identities()
    assert len(standard_invoices(world)) == 2


def test_gathering_invoice_events_are_ignored(make_world):
    world = make_world(setup(FEE))
    world.at("2024-01-15T00:00:00Z")
    world.sync()
    gathering = next(invoice for invoice in world.invoices() if invoice.kind == "gathering")
    assert triggers(world).standard_invoice_created(gathering) is None


def test_the_first_failing_subscription_aborts_an_invoice_event_and_names_it(make_world, monkeypatch):
    world = make_world(setup(FEE))
    world.at("2024-01-15T00:00:00Z")
    world.sync()
    [invoice] = world.billing.invoice_pending_lines(NAMESPACE, CUSTOMER)
    monkeypatch.setattr(world.service, "_load", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError) as error:
        triggers(world).standard_invoice_created(world.billing.get_invoice(NAMESPACE, invoice.id))
    assert error.value.__notes__ == ["syncing subscription[sub-1]"]


def test_customer_deletion_is_refused_while_an_open_subscription_keeps_a_gathering_invoice(make_world):
    world = make_world(setup(FEE))
    world.at("2024-01-15T00:00:00Z")
    with pytest.raises(ConflictError, match="cannot be deleted"):
        triggers(world).validate_customer_deletion(NAMESPACE, CUSTOMER)
    assert world.sync_state() is not None  # the open subscription was synced first


def test_customer_deletion_is_allowed_once_deleted_subscriptions_are_reconciled(make_world):
    world = make_world(setup(FEE, API))
    world.at("2024-01-15T00:00:00Z")
    world.sync()
    world.delete_subscription()
    triggers(world).validate_customer_deletion(NAMESPACE, CUSTOMER)
    assert world.live_lines() == []
