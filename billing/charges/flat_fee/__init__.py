"""Flat-fee charges (charges.md §3): the ``credit_then_invoice`` and ``credit_only`` machines."""
