"""Credit purchases (charges.md §5): promotional, external and invoice settlement.

A credit purchase is a charge that grants credit to a customer's ledger and, for external and invoice
settlement, follows a payment until it is settled. Modules, one idea each (see docs/credit-purchases.md):

| module | holds |
|---|---|
| ``models`` | the typed intent (settlement, cost basis), statuses and triggers |
| ``realizations``, ``purchase`` | grant, invoice link, payment; the aggregate the machines and the ledger see |
| ``intents`` | validation and normalization of an intent (§5.1) |
| ``cost_basis``, ``currency_cost_bases`` | cost-basis resolution and ``F`` (§5.2); the published custom → fiat rates |
| ``machines`` | the promotional, external and invoice state machines on the charge machine engine |
| ``actions`` | grant, authorize, settle, reverse, void: each ledger call with the row that records it |
| ``events`` | invoice-event validation (§5.6.14), replays and conflicts (§5.6.13) |
| ``lines`` | the ``charge_creditpurchase`` line engine: gathering line, standard line pricing, hooks |
| ``ledger_port``, ``ledger_adapter`` | the §2.10 operations purchases call, and their store-ledger adapter |
| ``tables``, ``repository`` | the purchase tables and their reads and writes |
| ``grants_api`` | the credit grant API (§5.8): request → intent, purchase → grant view |
| ``service`` | the public entry points |

Import the service from ``billing.credit_purchases.service``; this package module stays light so that
``billing.store.tables`` can register the purchase tables without an import cycle.
"""
