"""Every reader of a setup file refuses a malformed one with its own clear error.

The malformed documents of ``strategies.malformed`` are written to YAML files and given to the three
readers: ``subsync targets`` (``targets_of_file``), ``subsync subscriptions import``
(``read_import_file``) and ``subsync scenario run`` (``load_scenario``). Targets and import raise
``SubscriptionValidationError`` naming the field and object; the scenario runner raises
``ScenarioFormatError`` naming the file. A ``setups:`` list with one malformed entry is refused as a
whole, naming the entry.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import assume, event, given
from hypothesis import strategies as st

from subscriptions.errors import SubscriptionValidationError
from subscriptions.setup import MAX_FILE_BYTES
from subscriptions.setup_yaml import MAX_DEPTH
from subsync.job.importing import read_import_file
from subsync.scenario.document import load_scenario
from subsync.scenario.errors import ScenarioFormatError
from subsync.targets import targets_of_file
from tests.badinput.checks import assert_clear
from tests.badinput.documents import base_names, base_setup, nesting, to_yaml, without_megabytes
from tests.badinput.scale import budget, tally
from tests.badinput.strategies import Mutation, malformed

_WORKDIR = Path(tempfile.mkdtemp(prefix="badinput-readers-"))
atexit.register(shutil.rmtree, _WORKDIR, ignore_errors=True)


def _write(data: bytes) -> Path:
    handle, name = tempfile.mkstemp(suffix=".yaml", dir=_WORKDIR)
    with os.fdopen(handle, "wb") as file:
        file.write(data)
    return Path(name)


@budget("file_readers")
@given(malformed)
def test_every_reader_refuses_a_malformed_file(mutation: Mutation):
    event(mutation.kind)
    data = to_yaml(without_megabytes(mutation.document))
    assume(data is not None and len(data) <= MAX_FILE_BYTES)  # a larger file is refused as a whole
    tally("file_readers")
    path = _write(data)
    # Junk nested deeper than the YAML reader allows is refused as a file, before any field is read.
    mentions = mutation.mentions if nesting(mutation.document) <= MAX_DEPTH else (str(path), "nested more than")
    try:
        with pytest.raises(Exception) as targets:
            targets_of_file(path)
        assert_clear(targets.value, SubscriptionValidationError, mentions, context=mutation)
        with pytest.raises(Exception) as imported:
            read_import_file(path)
        assert_clear(imported.value, SubscriptionValidationError, mentions, context=mutation)
        with pytest.raises(Exception) as scenario:
            load_scenario(path)
        assert_clear(scenario.value, ScenarioFormatError, (str(path),), context=mutation)
    finally:
        path.unlink()


@budget("setups_list")
@given(st.sampled_from(base_names()), malformed, st.booleans())
def test_a_setups_list_with_one_malformed_entry_is_refused_naming_it(valid: str, mutation: Mutation, first: bool):
    entries = [base_setup(valid), without_megabytes(mutation.document)]
    if first:
        entries.reverse()
    data = to_yaml({"setups": entries})
    assume(data is not None and len(data) <= MAX_FILE_BYTES)
    assume(nesting(mutation.document) < MAX_DEPTH - 2)  # deeper is refused as a file (see above)
    tally("setups_list")
    path = _write(data)
    try:
        with pytest.raises(Exception) as raised:
            read_import_file(path)
        position = 0 if first else 1
        assert_clear(raised.value, SubscriptionValidationError, (f"setups[{position}]", *mutation.mentions),
                     context=mutation)
    finally:
        path.unlink()


def test_an_empty_or_non_list_setups_is_refused():
    for value in ([], "all", {"a": 1}, None, 5):
        path = _write(to_yaml({"setups": value}) or b"")
        with pytest.raises(SubscriptionValidationError) as raised:
            read_import_file(path)
        assert_clear(raised.value, SubscriptionValidationError, ("setups",))


@pytest.mark.parametrize("entry", ["text", 5, ["list"], None])
def test_a_setups_entry_that_is_not_a_mapping_is_refused(entry):
    path = _write(to_yaml({"setups": [base_setup("rich"), entry]}) or b"")
    with pytest.raises(SubscriptionValidationError) as raised:
        read_import_file(path)
    assert_clear(raised.value, SubscriptionValidationError, ("setups[1]", "must be a mapping"))


@pytest.mark.parametrize("aggregation", ["avg", "SUM", "", 5, ["sum"], "x" * 10_000])
def test_an_unknown_meter_aggregation_is_refused_on_import(aggregation):
    document = base_setup("rich") | {"meters": [{"key": "api-requests-total", "aggregation": aggregation},
                                                {"key": "storage-gb"}]}
    path = _write(to_yaml(document) or b"")
    with pytest.raises(SubscriptionValidationError) as raised:
        read_import_file(path)
    assert_clear(raised.value, SubscriptionValidationError, ("meters[0].aggregation",))
