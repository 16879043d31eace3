"""The Celery fan-out (issue 7): reconcile customers in parallel worker processes, on many machines.

- ``subsync.worker.app`` — the Celery application (``celery -A subsync.worker.app worker``);
- ``subsync.worker.tasks`` — ``reconcile_customer``, ``enqueue_due_customers``, ``invoice_customer``;
- ``subsync.worker.customer`` — one customer's reconcile (the unit of locking), Celery-free;
- ``subsync.worker.enqueue`` — the periodic job's selection as one message per customer;
- ``subsync.worker.transient`` — which errors are retried, and the backoff;
- ``subsync.worker.context`` — per-process engine, per-task store and sync service;
- ``subsync.worker.config`` — ``SUBSYNC_*`` settings and the Celery configuration;
- ``subsync.worker.commands`` — ``subsync worker`` and ``subsync enqueue``.

Without ``SUBSYNC_BROKER_URL`` nothing here runs: ``subsync reconcile`` stays the embedded, in-process
default. ``docs/workers.md`` describes the design and how to run N workers.

Importing this package imports nothing (the CLI imports ``subsync.worker.commands`` on every start);
Celery is loaded by ``subsync.worker.app`` and ``subsync.worker.tasks`` only.
"""
