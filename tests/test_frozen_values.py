"""Locations, waivers and calendar values behave as the frozen dataclasses they replaced: equal and hashed by
their fields, shown by them, immutable, and read back from a pickle unchanged."""

from __future__ import annotations

import dataclasses
import datetime as dt
import pickle

import pytest

from svcpolicy.calendar import DeadlineBounds
from svcpolicy.errors import SourceLocation


def test_a_location_is_equal_to_and_hashes_as_another_of_the_same_place() -> None:
    here = SourceLocation("rules/a.yaml", 3, 7)
    assert here == SourceLocation("rules/a.yaml", 3, 7)
    assert here != SourceLocation("rules/a.yaml", 3, 8)
    assert len({here, SourceLocation("rules/a.yaml", 3, 7)}) == 1
    assert SourceLocation("rules/a.yaml") == SourceLocation("rules/a.yaml", 0, 0)


def test_values_of_different_classes_are_never_equal() -> None:
    day = dt.date(2026, 1, 5)
    assert DeadlineBounds(day, day, None) != SourceLocation("a", 1, 1)
    assert DeadlineBounds(day, day, None) == DeadlineBounds(day, day, None)


def test_a_location_shows_its_fields_as_the_dataclass_did() -> None:
    assert repr(SourceLocation("a.yaml", 1, 2)) == "SourceLocation(file='a.yaml', line=1, column=2)"


def test_a_location_cannot_be_changed_once_made() -> None:
    here = SourceLocation("a.yaml", 1, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        here.line = 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        del here.file
    assert here.line == 1


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_a_location_reads_back_from_a_pickle_unchanged(protocol: int) -> None:
    here = SourceLocation("a.yaml", 1, 2)
    again = pickle.loads(pickle.dumps(here, protocol))  # noqa: S301 - pickled just above
    assert again == here and str(again) == str(here)
