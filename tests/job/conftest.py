"""Fixtures of the job tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def make_plan():  # type: ignore[no-untyped-def]
    """A plan with changes (``empty=False``) or the same plan without any (``empty=True``)."""
    from tests.patches.plans import line_plan

    def make(*, empty: bool):  # type: ignore[no-untyped-def]
        plan = line_plan()
        if empty:
            plan = plan.model_copy(update={"patches": (), "reference_repairs": (), "issue_updates": ()})
        assert plan.is_empty is empty
        return plan

    return make
