"""Findings as plain tuples between processes: what a worker sends back is cheap for the driver to take in.

Findings, invalid records and record references are frozen slots dataclasses, which unpickle field by field in
Python (about 20 µs a finding, as much as a tenth of judging its record, all of it on the driver). As tuples of
their fields they unpickle in C, and the driver fills new objects' slots from them directly (as unpickling does,
without the frozen ``__init__``'s checks: the values are those the worker's objects held). A record's findings
share one reference, sent once.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from svcpolicy.results.findings import Finding, InvalidRecord, RecordRef

Wire = tuple[Any, ...]
"""A finding as its fields, record reference and members as tuples; an invalid record as (reference, error)."""

_FINDING_FIELDS = tuple(field.name for field in dataclasses.fields(Finding))
_RECORD = _FINDING_FIELDS.index("record")
_MEMBERS = _FINDING_FIELDS.index("members")
_FINDING_SLOTS = tuple(getattr(Finding, name).__set__ for name in _FINDING_FIELDS)


def to_wire(items: list[Finding | InvalidRecord]) -> list[Wire]:
    """The items as tuples, in order."""
    refs: dict[int, Wire] = {}

    def ref(record: RecordRef) -> Wire:
        known = refs.get(id(record))
        if known is None:
            known = refs[id(record)] = (record.id, record.source, record.line, record.path)
        return known

    wired: list[Wire] = []
    for item in items:
        if isinstance(item, InvalidRecord):
            wired.append((ref(item.record), item.error))
            continue
        fields = [getattr(item, name) for name in _FINDING_FIELDS]
        fields[_RECORD] = ref(item.record)
        fields[_MEMBERS] = tuple(ref(member) for member in item.members)
        wired.append(tuple(fields))
    return wired


def from_wire(wired: list[Wire]) -> list[Finding | InvalidRecord]:
    """The items sent by :func:`to_wire`, rebuilt in order."""
    refs: dict[int, RecordRef] = {}

    def ref(fields: Wire) -> RecordRef:
        known = refs.get(id(fields))
        if known is None:
            known = refs[id(fields)] = RecordRef(*fields)
        return known

    items: list[Finding | InvalidRecord] = []
    for fields in wired:
        if len(fields) == 2:
            items.append(InvalidRecord(ref(fields[0]), fields[1]))
            continue
        values = list(fields)
        values[_RECORD] = ref(values[_RECORD])
        if values[_MEMBERS]:
            values[_MEMBERS] = tuple(ref(member) for member in values[_MEMBERS])
        finding = object.__new__(Finding)
        for fill, value in zip(_FINDING_SLOTS, values, strict=True):
            fill(finding, value)
        items.append(finding)
    return items
