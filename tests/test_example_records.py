"""The table in examples/README.md is the specification of the example records: each row names a record's outcome
and exactly the record rules it violates or leaves undetermined (with the missing field), so the demo an auditor
runs shows what the table says it shows, and a rule change that moves an example is noticed."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass

import pytest

import svcpolicy
from conftest import AS_OF, REPO

README = REPO / "examples" / "README.md"
RECORDS = REPO / "examples" / "records.jsonl"
ROW = re.compile(
    r"^\| (?P<lines>[0-9][0-9–, ]*) \| (?P<ids>[^|]+) \| (?P<outcome>[a-z]+) \| (?P<rules>[^|]+) \| .+ \|$"
)
RULE = re.compile(r"`(?P<rule>[A-Z][A-Z0-9]*-[A-Za-z0-9-]+)`(?: \((?P<missing>[^)]+)\))?")


@dataclass(frozen=True)
class Row:
    """One row of the table: the record lines it covers and what it says they give."""

    at: int
    lines: tuple[int, ...]
    ids: tuple[str, ...]
    outcome: str
    violated: frozenset[str]
    undetermined: frozenset[tuple[str, str]]


def _lines(cell: str) -> tuple[int, ...]:
    lines: list[int] = []
    for part in cell.split(","):
        first, _, last = part.strip().partition("–")
        lines.extend(range(int(first), int(last or first) + 1))
    return tuple(lines)


def _rows() -> list[Row]:
    rows = []
    for at, text in enumerate(README.read_text(encoding="utf-8").splitlines(), start=1):
        found = ROW.match(text)
        if found is None:
            continue
        rules = [(m["rule"], m["missing"]) for m in RULE.finditer(found["rules"])]
        rows.append(
            Row(
                at=at,
                lines=_lines(found["lines"]),
                ids=tuple(re.findall(r"INT-\d{8}-\d{6}", found["ids"])),
                outcome=found["outcome"],
                violated=frozenset(rule for rule, missing in rules if missing is None),
                undetermined=frozenset((rule, missing) for rule, missing in rules if missing is not None),
            )
        )
    return rows


ROWS = _rows()


@dataclass
class Judged:
    """What the check gives one record line."""

    violated: set[str]
    undetermined: set[tuple[str, str]]
    invalid: bool = False

    @property
    def outcome(self) -> str:
        if self.invalid:
            return "invalid"
        return "violation" if self.violated else "undetermined" if self.undetermined else "compliant"


def _judged() -> dict[int, Judged]:
    report = svcpolicy.load_policy().evaluate(RECORDS, as_of=AS_OF)
    judged: dict[int, Judged] = defaultdict(lambda: Judged(set(), set()))
    for finding in report.findings:
        line = finding.record.line if finding.record is not None else None
        if line is None:  # an aggregate finding: the table's next section
            continue
        if finding.outcome == svcpolicy.Outcome.VIOLATION:
            judged[line].violated.add(finding.rule)
        elif finding.outcome == svcpolicy.Outcome.UNDETERMINED:
            judged[line].undetermined.add((finding.rule, finding.missing or ""))
    for invalid in report.invalid:
        assert invalid.record.line is not None
        judged[invalid.record.line].invalid = True
    return judged


JUDGED = _judged()
RECORD_IDS = {
    n: json.loads(text).get("id")
    for n, text in enumerate(RECORDS.read_text(encoding="utf-8").splitlines(), start=1)
    if text.strip()
}


def test_the_table_accounts_for_every_example_record_once() -> None:
    covered = sorted(line for row in ROWS for line in row.lines)
    assert covered == sorted(RECORD_IDS)


@pytest.mark.parametrize("row", ROWS, ids=[f"README.md:{row.at}" for row in ROWS])
def test_each_example_record_gives_the_outcome_and_the_rules_its_row_names(row: Row) -> None:
    for line in row.lines:
        judged = JUDGED[line]
        assert (judged.outcome, judged.violated, judged.undetermined) == (
            row.outcome,
            set(row.violated),
            set(row.undetermined),
        ), f"examples/records.jsonl:{line} ({RECORD_IDS[line]})"


@pytest.mark.parametrize("row", ROWS, ids=[f"README.md:{row.at}" for row in ROWS])
def test_each_row_names_the_records_it_describes(row: Row) -> None:
    assert row.ids, "a row names at least the first record it describes"
    assert set(row.ids) <= {RECORD_IDS[line] for line in row.lines}


def test_the_example_records_show_every_outcome_an_auditor_meets() -> None:
    assert {row.outcome for row in ROWS} == {"compliant", "violation", "undetermined", "invalid"}
