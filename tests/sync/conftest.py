"""Fixtures of the sync tests: ``make_world(setup, **profile)`` on the shared store fixture."""

from __future__ import annotations

import pytest

from tests.sync.world import World


@pytest.fixture
def make_world(store, clock):  # type: ignore[no-untyped-def]
    def make(setup_=None, **kwargs):  # type: ignore[no-untyped-def]
        return World(store, clock, setup_, **kwargs)

    return make
