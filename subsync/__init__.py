"""subsync: makes what billing has persisted follow what customers are subscribed to."""

__version__ = "0.1.0"
