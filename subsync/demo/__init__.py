"""``subsync demo``: a small, realistic billing history on the embedded default database.

``run_demo(url)`` creates the schema and the demo's customers and subscriptions, walks a frozen clock
through two months of usage, an upgrade, a cancellation and progressive billing, runs the periodic
job at each stop and prints what it did. Re-running it is safe.
"""

from subsync.demo.runner import run_demo

__all__ = ["run_demo"]
