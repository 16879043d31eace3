"""Charges: durable billable intentions (charges.md). ``models`` holds the persisted shape; the flat-fee
and usage-based lifecycles, line engines, invoice updater and the ``ChargesService`` live beside it
(see docs/charges.md)."""
