"""Usage-based charges (charges.md §4): the ``credit_only`` and ``credit_then_invoice`` machines."""
