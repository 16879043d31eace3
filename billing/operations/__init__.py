"""Billing operations: functions of a unit of work that read ``uow.now`` and write through repositories.

``billing.service`` exposes them as the ports of reconciler §8.2; every function here assumes the
caller opened the unit of work (and, for invoice work, the customer lock).
"""
