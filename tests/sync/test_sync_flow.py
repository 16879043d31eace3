"""The sync flow of reconciler.md §6.2: resolution, the custom-currency gate, deleted subscriptions and
customers, the "and invoice customer" entry points, errors and bound logging."""

from __future__ import annotations

import datetime as dt

import pytest
from structlog.testing import capture_logs

from reconciler.settings import SyncSettings
from subscriptions import edits
from subsync.sync import (
    ConfigurationError,
    CustomCurrencyNotSupportedError,
    SubscriptionNotFoundError,
    SyncOptions,
    SyncService,
)
from tests.sync.plans import at
from tests.sync.stores import table_dump
from tests.sync.world import API, ARREARS, CUSTOMER, FEE, NAMESPACE, SUBSCRIPTION, setup

CUSTOM_FEE = {**FEE, "key": "credits-fee", "price": {**FEE["price"], "currency": "CREDITS"}}


# -- resolution ---------------------------------------------------------------------------------------
def test_an_unknown_subscription_raises_not_found(make_world):
    world = make_world()
    with pytest.raises(SubscriptionNotFoundError) as error:
        world.service.sync_by_id(NAMESPACE, "sub-nope", world.clock.now())
    assert error.value.subscription_id == "sub-nope" and error.value.namespace == NAMESPACE


def test_naive_as_of_is_rejected(make_world):
    world = make_world()
    with pytest.raises(ValueError, match="timezone-aware"):
        world.service.sync_by_id(NAMESPACE, SUBSCRIPTION, dt.datetime(2024, 1, 15))


def test_credits_without_a_charges_port_is_a_configuration_error(store):
    with pytest.raises(ConfigurationError):
        SyncService.for_store(store, settings=SyncSettings(credits_enabled=True))


def test_sync_by_view_uses_the_supplied_view(make_world):
    world = make_world()
    world.at("2024-01-15T00:00:00Z")
    newer = edits.remove_item(world.view, "main", "api", at("2024-01-10"))  # not stored
    result = world.service.sync_by_view(newer, world.clock.now())
    assert result.view == newer and not result.deleted
    [api] = [line for line in world.live_lines() if line.child_unique_reference_id.startswith("sub-1/main/api/")]
    assert api.service_period.end == at("2024-01-10")  # the supplied view's item end, not the stored one


def test_a_second_sync_of_the_same_inputs_plans_nothing(make_world):
    world = make_world()
    world.at("2024-01-15T00:00:00Z")
    first = world.sync()
    second = world.sync()
    assert not first.plan.is_empty and second.plan.is_empty


# -- deleted subscription -------------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["row deleted", "view deleted_at"])
def test_a_deleted_subscription_reconciles_to_an_empty_target(make_world, how):
    world = make_world(setup(FEE, API, ARREARS))
    world.at("2024-01-15T00:00:00Z")
    world.sync()
    assert len(world.live_lines()) == 4  # fee Jan + Feb (in advance), api Jan, support Jan
    if how == "row deleted":
        world.delete_subscription()
    else:
        world.edit(edits.delete, at("2024-01-16"))
    world.at("2024-01-16T00:00:00Z")

    result = world.sync()

    assert result.deleted and result.view is None
    assert {p.operation.value for p in result.plan.patches} == {"delete"}
    assert world.live_lines() == []
    state = world.sync_state()
    assert (state.has_billables, state.next_sync_after) == (False, None)
    assert world.sync().plan.is_empty


def test_a_deleted_custom_currency_subscription_still_reconciles(make_world):
    world = make_world(setup(FEE, CUSTOM_FEE))
    world.at("2024-01-15T00:00:00Z")
    world.delete_subscription()
    result = world.sync()
    assert result.deleted and not result.skipped and result.plan.is_empty


# -- custom currency gate -------------------------------------------------------------------------------
def test_an_explicit_sync_of_a_custom_currency_subscription_is_a_conflict_and_writes_nothing(make_world, store):
    world = make_world(setup(FEE, CUSTOM_FEE))
    world.at("2024-01-15T00:00:00Z")
    before = table_dump(store)
    with pytest.raises(CustomCurrencyNotSupportedError,
                       match="billing sync does not support subscriptions with custom-currency priced items") as error:
        world.sync(invoice=True)
    assert error.value.subscription_id == SUBSCRIPTION and error.value.customer_id == CUSTOMER
    assert table_dump(store) == before


def test_an_automatic_sync_skips_a_custom_currency_subscription_and_writes_nothing(make_world, store):
    world = make_world(setup(FEE, CUSTOM_FEE))
    world.at("2024-01-15T00:00:00Z")
    before = table_dump(store)
    with capture_logs() as logs:
        result = world.sync(invoice=True, skip_custom_currency_subscriptions=True)
    assert result.skipped and result.plan is None and not result.deleted
    assert table_dump(store) == before
    assert any(entry["event"] == "sync.custom_currency_skipped" for entry in logs)


def test_a_stale_event_view_is_checked_against_the_current_view(make_world):
    world = make_world(setup(FEE))
    stale = world.view
    world.edit(edits.add_item, "main", CUSTOM_FEE, at("2024-01-10"))
    world.at("2024-01-15T00:00:00Z")
    with pytest.raises(CustomCurrencyNotSupportedError):
        world.service.sync_by_view(stale, world.clock.now())
    skipped = world.service.sync_by_view(stale, world.clock.now(), SyncOptions(skip_custom_currency_subscriptions=True))
    assert skipped.skipped


# -- deleted customer -------------------------------------------------------------------------------------
def test_customer_deleted_at_the_start_prevents_further_syncs_under_the_lock_and_never_invoices(make_world, monkeypatch):
    """D-08: the sync state is written (inside the locked transaction), nothing is planned or invoiced."""
    world = make_world(setup(FEE, API, clock="2024-01-01T00:00:00Z"))
    world.billing.delete_customer(NAMESPACE, CUSTOMER)
    world.at("2024-01-15T00:00:00Z")
    locks: list[tuple] = []
    real_lock = world.billing.locked_transaction
    monkeypatch.setattr(world.billing, "locked_transaction",
                        lambda *a, **k: (locks.append((a, k)), real_lock(*a, **k))[1])
    invoiced = []
    monkeypatch.setattr(world.billing, "invoice_pending_lines", lambda *a, **k: invoiced.append(a) or [])
    with capture_logs() as logs:
        result = world.sync(invoice=True)
    assert result.plan is None and not result.skipped
    assert locks == [((NAMESPACE, CUSTOMER), {"rollback": False})]
    assert invoiced == []
    state = world.sync_state()
    assert (state.has_billables, state.next_sync_after) == (False, None)
    assert world.live_lines() == []
    assert [e for e in logs if e["event"] == "sync.customer_deleted_before_start"][0]["subscription_id"] == SUBSCRIPTION


def test_customer_deleted_before_start_in_a_dry_run_writes_nothing(make_world, store):
    world = make_world(setup(FEE, API, clock="2024-01-01T00:00:00Z"))
    world.billing.delete_customer(NAMESPACE, CUSTOMER)
    before = table_dump(store)
    result = world.sync(dry_run=True)
    assert result.plan is None
    assert table_dump(store) == before


def test_customer_deleted_later_caps_the_subscription_at_the_deletion(make_world):
    world = make_world(setup(FEE, API))
    world.at("2024-02-10T00:00:00Z")
    world.billing.delete_customer(NAMESPACE, CUSTOMER)
    world.at("2024-03-15T00:00:00Z")
    result = world.sync()
    periods = sorted((line.child_unique_reference_id, line.service_period.start.isoformat()[:10],
                      line.service_period.end.isoformat()[:10]) for line in world.live_lines())
    assert periods == [
        ("sub-1/main/api/v[0]/period[0]", "2024-01-01", "2024-02-01"),
        ("sub-1/main/api/v[0]/period[1]", "2024-02-01", "2024-02-10"),
        ("sub-1/main/fee/v[0]/period[0]", "2024-01-01", "2024-02-01"),
        ("sub-1/main/fee/v[0]/period[1]", "2024-02-01", "2024-02-10"),
    ]
    assert result.plan.max_generation_time_limit is None  # ended at the deletion (Q10)
    assert world.sync().plan.is_empty


# -- invoicing after the commit ---------------------------------------------------------------------------
def test_sync_and_invoice_customer_invoices_pending_lines_after_the_commit(make_world):
    world = make_world(setup(FEE))
    world.at("2024-01-15T00:00:00Z")
    world.sync(invoice=True)
    standard = [invoice for invoice in world.invoices() if invoice.kind == "standard"]
    assert len(standard) == 1
    [line] = standard[0].lines
    assert line.child_unique_reference_id == "sub-1/main/fee/v[0]/period[0]"


def test_sync_and_invoice_never_splits_even_with_progressive_billing_on(make_world):
    """reconciler §6.1: the "and invoice customer" entry points invoice with partial (progressive)
    splitting off; only a plain ``invoice_pending_lines`` follows the profile."""
    world = make_world(setup(API), progressive=True)
    world.at("2024-01-15T00:00:00Z")
    world.usage(dt.datetime(2024, 1, 5, tzinfo=dt.timezone.utc), 4)
    world.sync(invoice=True)  # the usage line is due 02-01: nothing to invoice, nothing split
    assert [invoice.kind for invoice in world.invoices()] == ["gathering"]
    world.billing.invoice_pending_lines(NAMESPACE, CUSTOMER)
    assert sorted(invoice.kind for invoice in world.invoices()) == ["gathering", "standard"]


def test_nothing_to_invoice_is_not_an_error(make_world):
    world = make_world(setup(API))
    world.at("2024-01-15T00:00:00Z")
    result = world.sync(invoice=True)  # the usage line is due 02-01
    assert not result.plan.is_empty
    assert [invoice.kind for invoice in world.invoices()] == ["gathering"]


def test_invoicing_runs_outside_the_sync_transaction(make_world, monkeypatch):
    world = make_world(setup(FEE))
    world.at("2024-01-15T00:00:00Z")
    seen = []
    real = world.billing.invoice_pending_lines

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append((world.store.current is None, world.sync_state() is not None, kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(world.billing, "invoice_pending_lines", spy)
    world.sync(invoice=True)
    assert seen == [(True, True, {"force_async_advance": False, "allow_partial": False, "max_lines_per_invoice": None})]


def test_sync_by_id_never_invoices(make_world):
    world = make_world(setup(FEE))
    world.at("2024-01-15T00:00:00Z")
    world.sync()
    assert [invoice.kind for invoice in world.invoices()] == ["gathering"]


# -- logging ------------------------------------------------------------------------------------------------
def test_logs_are_bound_to_subscription_customer_and_as_of(make_world):
    world = make_world()
    world.at("2024-01-15T00:00:00Z")
    with capture_logs() as logs:
        world.sync()
    [synced] = [entry for entry in logs if entry["event"] == "sync.synced"]
    assert (synced["subscription_id"], synced["customer_id"], synced["as_of"]) == (
        SUBSCRIPTION, CUSTOMER, "2024-01-15T00:00:00+00:00")


# -- quantity probes ---------------------------------------------------------------------------------------
def test_quantity_probes_are_metered_for_the_desired_period_without_touching_the_paid_line(make_world):
    """§3.10: a paid usage line whose target period shrank gets a warning with the re-metered quantity."""
    world = make_world(setup(API))
    world.usage(at("2024-01-05"), 7)
    world.usage(at("2024-01-25"), 5)
    world.at("2024-02-01T00:00:00Z")
    world.sync(invoice=True)
    [invoice] = [i for i in world.invoices() if i.kind == "standard"]
    world.billing.approve_invoice(NAMESPACE, invoice.id)
    [paid_line] = world.billing.get_invoice(NAMESPACE, invoice.id).lines
    assert paid_line.quantity == 12
    world.edit(edits.cancel, at("2024-01-20"))  # a late cancellation, back-dated into the paid period

    result = world.sync()

    [update] = result.plan.issue_updates
    assert [issue.message for issue in update.add] == [
        "usage based line's quantity cannot be changed on immutable invoice (new qty: 7)"]
    after = world.billing.get_invoice(NAMESPACE, invoice.id)
    assert after.lines == (paid_line,)
    assert [issue.message for issue in after.validation_issues] == [issue.message for issue in update.add]
    assert world.sync().plan.is_empty
