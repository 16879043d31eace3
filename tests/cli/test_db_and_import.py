"""``subsync db upgrade`` and ``subsync subscriptions import`` through the console script."""

from __future__ import annotations

import sqlite3

from tests.cli.conftest import EXAMPLE, one_error_line


def rows(cli, query):  # type: ignore[no-untyped-def]
    with sqlite3.connect(cli.db) as connection:
        return connection.execute(query).fetchall()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    from billing.store.migrate import alembic_config

    [head] = ScriptDirectory.from_config(alembic_config()).get_heads()
    return head


def test_db_upgrade_creates_then_reports_up_to_date(cli):
    first = cli.ok("db", "upgrade")
    assert first.stdout.strip() == f"{cli.url} upgraded from revision (empty) to {head_revision()}"
    assert rows(cli, "SELECT version_num FROM alembic_version") == [(head_revision(),)]
    assert cli.ok("db", "upgrade").stdout.strip() == f"{cli.url} is up to date (revision {head_revision()})"
    other = cli.workdir / "nested" / "dir" / "other.db"
    cli.ok("db", "upgrade", "--db", f"sqlite:///{other}")
    assert other.exists()


def test_commands_refuse_a_database_without_the_schema(cli):
    run = cli("subscriptions", "import", EXAMPLE)
    assert run.returncode == 1
    assert one_error_line(run) == f"error: there is no database at {cli.db}: run `subsync db upgrade` (or `subsync demo`) first"
    sqlite3.connect(cli.db).close()  # an empty file
    empty = cli("reconcile", "--list")
    assert empty.returncode == 1 and "has no subsync schema: run `subsync db upgrade` first" in one_error_line(empty)
    bad_url = cli("reconcile", "--list", "--db", "mysql://somewhere/x")
    assert bad_url.returncode == 2 and "use sqlite or postgresql" in one_error_line(bad_url)


def test_import_creates_then_updates_customer_meters_and_subscription(cli):
    cli.ok("db", "upgrade")
    first = cli.ok("subscriptions", "import", EXAMPLE)
    assert first.stdout.splitlines() == [
        "imported subscription acme-pro (customer acme-corp, new; plan pro; active from 2024-01-01T00:00:00Z)",
        f"1 subscription(s) in {EXAMPLE}; run `subsync reconcile` to bill them",
    ]
    again = cli.ok("subscriptions", "import", EXAMPLE)
    assert again.stdout.splitlines()[0] == (
        "updated subscription acme-pro (customer acme-corp; plan pro; active from 2024-01-01T00:00:00Z)")
    assert rows(cli, "SELECT id, customer_id FROM subscriptions") == [("acme-pro", "acme-corp")]
    assert rows(cli, "SELECT id, key FROM customers") == [("acme-corp", "acme-corp")]
    assert rows(cli, "SELECT key, aggregation FROM meters") == [("api-requests-total", "sum")]


def test_a_file_with_setups_imports_each_and_is_all_or_nothing(cli):
    cli.ok("db", "upgrade")
    good = cli.write("many.yaml", """
        clock: 2024-01-01T00:00:00Z
        meters: [{key: calls, aggregation: count}]
        setups:
          - customer: {key: one, name: One Ltd, billing_profile: {invoicing: {progressive_billing: true}}}
            subscription: {id: sub-one, end: 2024-06-01T00:00:00Z}
            plan: {phases: [{key: p, rate_cards: [{key: calls, type: usage_based, feature: calls,
                   billing_cadence: P1M, price: {type: unit, amount: "0.1"}}]}]}
          - customer: {key: two}
            subscription: {id: sub-two, start: 2024-02-01T00:00:00Z}
            plan: {phases: [{key: p, rate_cards: [{key: fee, type: flat_fee, billing_cadence: P1M,
                   price: {type: flat, amount: "5"}}]}]}
        """)
    run = cli.ok("subscriptions", "import", good)
    assert run.stdout.splitlines()[:2] == [
        "imported subscription sub-one (customer one, new; plan test-plan; active from 2024-01-01T00:00:00Z"
        " until 2024-06-01T00:00:00Z)",
        "imported subscription sub-two (customer two, new; plan test-plan; active from 2024-02-01T00:00:00Z)",
    ]
    assert rows(cli, "SELECT key, aggregation FROM meters") == [("calls", "count")]
    assert rows(cli, "SELECT name FROM customers WHERE id = 'one'") == [("One Ltd",)]

    broken = cli.write("broken.yaml", """
        clock: 2024-01-01T00:00:00Z
        setups:
          - customer: {key: three}
            subscription: {id: sub-three}
            plan: {phases: [{key: p, rate_cards: [{key: fee, type: flat_fee, price: {type: flat, amount: "5"}}]}]}
          - customer: {key: four}
            subscription: {id: sub-four}
            plan: {phases: [{key: p, rate_cards: [{key: fee, type: flat_fee, price: {type: flat, amount: "-5"}}]}]}
        """)
    refused = cli("subscriptions", "import", broken)
    assert refused.returncode == 2
    line = one_error_line(refused)
    assert line.startswith("error: ValidationError: setups[1]: ") and "must not be negative" in line
    assert rows(cli, "SELECT count(*) FROM subscriptions") == [(2,)]  # sub-three was not written either

    duplicate = cli.write("dup.yaml", """
        clock: 2024-01-01T00:00:00Z
        setups:
          - {subscription: {id: same}, plan: {phases: [{key: p, rate_cards: []}]}}
          - {subscription: {id: same}, plan: {phases: [{key: p, rate_cards: []}]}}
        """)
    dup = cli("subscriptions", "import", duplicate)
    assert dup.returncode == 2 and "subscription 'same' is also defined by setups[0]" in one_error_line(dup)


def test_a_subscription_cannot_move_to_another_customer(cli):
    cli.ok("db", "upgrade")
    cli.ok("subscriptions", "import", EXAMPLE)
    moved = cli.write("moved.yaml", EXAMPLE.read_text().replace("key: acme-corp", "key: other-corp"))
    run = cli("subscriptions", "import", moved)
    assert run.returncode == 1
    assert one_error_line(run) == (
        "error: ConflictError: subscription 'acme-pro' belongs to customer 'acme-corp', not 'other-corp'")
    assert rows(cli, "SELECT count(*) FROM customers") == [(1,)]
