"""Importing bad input into a billing store writes nothing; hostile text is stored verbatim.

``import_file`` validates every setup of a file before it writes, then writes them all in one
transaction. A malformed file, or one that billing refuses half way (a customer currency it does not
know, a subscription of another customer), must leave every table exactly as it was: the tests compare
full dumps of every table. Identifiers that look like SQL are refused by the key rule; free text (names,
descriptions) may hold anything printable and is stored and read back verbatim, because every value
travels as a bound parameter — the tables all survive.
"""

from __future__ import annotations

import atexit
import copy
import itertools
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import assume, event, given
from hypothesis import strategies as st
from sqlalchemy import text

from billing.errors import NotFoundError
from billing.service import BillingService
from billing.subscription_store import SubscriptionStore
from subscriptions.errors import SubscriptionValidationError
from subscriptions.setup import MAX_FILE_BYTES
from subsync.errors import category_of
from subsync.job.importing import import_file
from subsync.sync import SyncService
from tests.badinput.checks import assert_clear
from tests.badinput.documents import base_setup, to_yaml, without_megabytes
from tests.badinput.scale import budget, tally
from tests.badinput.stores import EXAMPLE, NOW, open_sqlite_store, populate, table_dump, table_names
from tests.badinput.strategies import Mutation, malformed

SQL_LOOKING = [
    "'; DROP TABLE invoices; --", "\"; DROP TABLE customers; --", "x' OR '1'='1", "1; DELETE FROM invoice_lines",
    "Robert'); DROP TABLE subscriptions;--", "' UNION SELECT * FROM customers --", "%' --", "\\'; --",
    "$1", "?", ":name", "%(name)s", "{}", "/* */", "-- comment", "`id`", "[id]",
]
#: Free text a name may hold: quotes, SQL, backslashes, unicode of every script, emoji, right-to-left.
free_texts = st.one_of(
    st.sampled_from(SQL_LOOKING + ["Zoë & Søn AB", "株式会社テスト", "شركة", "😀 Pro plan", "\u202eevil", "a" * 256]),
    st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=256),
)

_WORKDIR = Path(tempfile.mkdtemp(prefix="badinput-store-"))
atexit.register(shutil.rmtree, _WORKDIR, ignore_errors=True)


def _write(data: bytes) -> Path:
    handle, name = tempfile.mkstemp(suffix=".yaml", dir=_WORKDIR)
    with os.fdopen(handle, "wb") as file:
        file.write(data)
    return Path(name)


@pytest.fixture(scope="module")
def populated():
    """One SQLite store for the whole module, holding the synced example subscription."""
    directory = Path(tempfile.mkdtemp(prefix="store-", dir=_WORKDIR))
    store = open_sqlite_store(directory)
    populate(store)
    yield store
    store.dispose()


@budget("store_import")
@given(mutation=malformed)
def test_importing_a_malformed_file_changes_no_table(populated, mutation: Mutation):
    event(mutation.kind)
    data = to_yaml(without_megabytes(mutation.document))
    assume(data is not None and len(data) <= MAX_FILE_BYTES)
    tally("store_import")
    before = table_dump(populated)
    path = _write(data)
    try:
        with pytest.raises(Exception) as raised:
            import_file(populated, path)
        assert_clear(raised.value, SubscriptionValidationError, context=mutation)
    finally:
        path.unlink()
    assert table_dump(populated) == before


def _setup(customer: str, subscription: str, **customer_fields: object) -> dict:
    document = copy.deepcopy(base_setup("example-subscription.yaml"))
    document["customer"] = {**document["customer"], "key": customer, **customer_fields}
    document["subscription"] = {**document["subscription"], "id": subscription}
    return document


@pytest.mark.parametrize("second, category", [
    (_setup("third-co", "third-sub", currency="XYZ"), "ValidationError"),  # billing refuses the currency
    (_setup("other-co", "acme-pro"), "ConflictError"),  # acme-pro belongs to acme-corp
], ids=["unknown customer currency", "subscription of another customer"])
def test_a_file_billing_refuses_half_way_is_rolled_back_whole(store, second, category):
    """The first setup is written, the second refused inside the same transaction: nothing stays."""
    populate(store)
    before = table_dump(store)
    path = _write(to_yaml({"setups": [_setup("other-co", "other-sub"), second]}) or b"")
    with pytest.raises(Exception) as raised:
        import_file(store, path)
    assert category_of(raised.value) == category, repr(raised.value)
    assert table_dump(store) == before


HOSTILE_IDS = SQL_LOOKING + ["ü", "a/b", "k" * 65, "", "\x00", "sub-1\n"]


def test_sql_looking_ids_find_nothing_and_drop_nothing(store):
    """Lookups by a hostile id run as bound parameters: not found, every table still there."""
    populate(store)
    tables, before = table_names(store), table_dump(store)
    billing, subscriptions = BillingService(store), SubscriptionStore(store)
    for hostile in HOSTILE_IDS:
        if "\x00" in hostile and store.engine.dialect.name == "postgresql":
            continue  # PostgreSQL refuses NUL in any text parameter; keys never hold one (the key rule)
        with pytest.raises(NotFoundError):
            subscriptions.get_subscription("default", hostile)
        with pytest.raises(NotFoundError):
            billing.get_customer("default", hostile)
        assert subscriptions.list_subscriptions(ids=[hostile]) == []
        assert subscriptions.list_subscriptions(customer_ids=[hostile], namespaces=[hostile]) == []
        assert billing.list_customer_invoices("default", hostile) == []
    assert table_names(store) == tables and table_dump(store) == before


def test_sql_looking_keys_in_a_setup_are_refused_by_the_key_rule(store):
    import_file(store, EXAMPLE)
    before = table_dump(store)
    for hostile in HOSTILE_IDS:
        for document in (_setup(hostile, "sub-x"), _setup("cust-x", hostile),
                         base_setup("rich") | {"meters": [{"key": hostile}, {"key": "storage-gb"}]}):
            path = _write(to_yaml(document) or b"")
            with pytest.raises(SubscriptionValidationError) as raised:
                import_file(store, path)
            assert_clear(raised.value, SubscriptionValidationError, (("a key must match", "at most 64", "needs a key"),))
    assert table_dump(store) == before


def _round_trip(store, names: dict[str, str], number: int) -> None:  # type: ignore[no-untyped-def]
    """Import a setup whose free text is ``names``, sync it, and read every text back from the tables."""
    customer, subscription = f"text-customer-{number}", f"text-sub-{number}"
    document = _setup(customer, subscription, name=names["customer"])
    document["subscription"]["name"] = names["subscription"]
    document["plan"]["name"] = names["plan"]
    document["plan"]["description"] = names["description"]
    paid = document["plan"]["phases"][1]
    paid["name"] = names["phase"]
    by_key = {card["key"]: card for card in paid["rate_cards"]}
    by_key["platform-fee"]["name"] = names["card"]
    path = _write(to_yaml(document) or b"")
    tables = table_names(store)
    import_file(store, path)
    SyncService.for_store(store).sync_by_id("default", subscription, NOW)
    with store.engine.connect() as connection:
        stored_customer = connection.execute(
            text("SELECT name FROM customers WHERE namespace = :ns AND id = :id"), {"ns": "default", "id": customer}
        ).scalar_one()
        view = connection.execute(
            text("SELECT view FROM subscriptions WHERE namespace = :ns AND id = :id"),
            {"ns": "default", "id": subscription},
        ).scalar_one()
        line_names = set(connection.execute(
            text("SELECT name FROM invoice_lines WHERE namespace = :ns AND customer_id = :c"),
            {"ns": "default", "c": customer},
        ).scalars())
    view = json.loads(view) if isinstance(view, str) else view
    assert stored_customer == names["customer"]
    assert view["subscription"]["name"] == names["subscription"]
    phase = next(p for p in view["phases"] if p["key"] == "paid")
    assert phase["items_by_key"]["platform-fee"][0]["rate_card"]["name"] == names["card"]
    assert names["card"] in line_names, line_names
    assert table_names(store) == tables


_numbers = itertools.count()


@budget("free_text_round_trip")
@given(st.fixed_dictionaries({field: free_texts for field in
                              ("customer", "subscription", "plan", "description", "phase", "card")}))
def test_free_text_is_stored_verbatim(populated, names):
    tally("free_text_round_trip")
    _round_trip(populated, names, next(_numbers))


def test_sql_looking_free_text_is_stored_verbatim_on_every_backend(store):
    populate(store)
    for number, hostile in enumerate(SQL_LOOKING[:5]):
        names = dict.fromkeys(("customer", "subscription", "plan", "description", "phase", "card"), hostile)
        _round_trip(store, names, number)
    invoices = BillingService(store).list_customer_invoices("default", "acme-corp")
    assert invoices, "the example customer's invoices survived"
