"""``svcpolicy test``: run a pack's embedded examples and the test files kept beside it.

A test file is YAML in the pack's ``tests/`` directory (``tests/*.yaml`` or ``*.yml``). Each case gives
records (fragments; an ``id`` is added when absent) and the findings the pack must produce for them, no more
and no fewer::

    as_of: 2026-11-27T00:00:00+08:00         # default reference time for the cases (optional)
    cases:
      - name: a 45-minute wait at the counter breaches the branch target
        records:
          - {id: R1, channel: counter, wait_minutes: 45}
        rules: [BR-001-counter-wait]          # optional: compare only these rules' findings
        expect:
          - {rule: BR-001-counter-wait, record: R1}            # outcome defaults to violation
      - name: a 10-minute wait is fine
        records: [{id: R2, channel: counter, wait_minutes: 10}]
        rules: [BR-001-counter-wait]
        expect: []                                              # no finding at all

An expectation matches a finding when every key it gives matches: ``rule``, ``record`` (id), ``path``
(``operations[0]``), ``outcome`` (violation, undetermined or invalid) and ``missing`` (the field named by an
undetermined finding). Test files are validated like packs: problems are reported as ``file:line:col``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from svcpolicy.authoring.lint import base_files
from svcpolicy.errors import PackError, PackErrors, SourceLocation, shown_loc
from svcpolicy.pack.yaml_source import YamlDocument, load_yaml
from svcpolicy.policy import Policy
from svcpolicy.reporting.escaping import printable
from svcpolicy.results.findings import Finding, InvalidRecord

TESTS_DIR = "tests"


class Expectation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str | None = None
    record: str | None = None
    path: str | None = None
    outcome: Literal["violation", "undetermined", "invalid"] = "violation"
    missing: str | None = None

    def matches(self, item: Finding | InvalidRecord) -> bool:
        if self.outcome != str(item.outcome):
            return False
        if self.record is not None and item.record.id != self.record:
            return False
        if self.path is not None and item.record.path != self.path:
            return False
        if isinstance(item, InvalidRecord):
            return self.rule is None
        return (self.rule is None or item.rule == self.rule) and (self.missing is None or item.missing == self.missing)

    def describe(self) -> str:
        given = {k: v for k, v in self.model_dump().items() if v is not None}
        return ", ".join(f"{k}={v}" for k, v in given.items())


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1)]
    as_of: dt.datetime | None = None
    records: Annotated[list[dict[str, Any]], Field(min_length=1)]
    rules: list[str] | None = None
    expect: list[Expectation]


class SuiteFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    as_of: dt.datetime | None = None
    cases: Annotated[list[Case], Field(min_length=1)]


@dataclass(frozen=True)
class CaseResult:
    """One case run: an embedded example or a test-file case."""

    id: str
    passed: bool
    detail: str | None = None
    location: SourceLocation | None = None

    def line(self) -> str:
        """The case for a terminal: names, messages and record values with control characters made visible."""
        status = "PASS" if self.passed else "FAIL"
        where = f"  ({printable(self.location)})" if self.location and not self.passed else ""
        detail = f"\n    {printable(self.detail)}" if self.detail and not self.passed else ""
        return f"{status}  {printable(self.id)}{where}{detail}"


def pack_test_files(root: Path) -> list[Path]:
    directory = root / TESTS_DIR
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def run_examples(policy: Policy) -> Iterator[CaseResult]:
    """The embedded examples of the pack's own rules. An overlay's base is tested on its own: the overlay
    may tighten parameters, which moves the base's examples that sit on a boundary."""
    sites = dict(zip((r.id for r in policy.definition.rules), policy.definition.rule_sites, strict=True))
    inherited = base_files(policy.definition)
    own = {rule_id for rule_id, site in sites.items() if site.doc.file not in inherited}
    for result in (r for r in policy.run_examples() if r.rule in own):
        name = f" {result.name}" if result.name else ""
        test_id = f"{policy.id}::{result.test_id}{name}"
        site = sites.get(result.rule)
        where = site.at("examples", result.index) if site else None
        detail = None
        if not result.passed:
            detail = f"expected {result.expected}, got {result.actual}"
            if result.missing_expected is not None and result.missing_expected != result.missing_actual:
                detail += f"; expected missing {result.missing_expected}, got {result.missing_actual}"
            if result.detail:
                detail += f": {result.detail}"
        yield CaseResult(test_id, result.passed, detail, where)


def _load(path: Path) -> tuple[SuiteFile, YamlDocument]:
    doc = load_yaml(path)
    try:
        return SuiteFile.model_validate(doc.value), doc
    except ValidationError as exc:
        errors = []
        for err in exc.errors(include_url=False, include_input=False):
            loc = tuple(err["loc"])
            where = ".".join(str(p) for p in shown_loc(loc, err["type"])) or "document"
            errors.append(PackError(f"{where}: {err['msg']}", doc.location(loc)))
        raise PackErrors(errors) from exc


def run_test_file(policy: Policy, path: Path) -> Iterator[CaseResult]:
    """Run every case of one test file; a file that does not validate is one failed result per problem."""
    try:
        suite, doc = _load(path)
    except PackErrors as exc:
        for error in exc.errors:
            yield CaseResult(f"{policy.id}::{path.name}", False, f"invalid test file: {error.message}", error.location)
        return
    except PackError as exc:
        yield CaseResult(f"{policy.id}::{path.name}", False, f"invalid test file: {exc.message}", exc.location)
        return
    for i, case in enumerate(suite.cases):
        yield _run_case(policy, path, doc, i, case, case.as_of or suite.as_of)


def _run_case(
    policy: Policy, path: Path, doc: YamlDocument, index: int, case: Case, as_of: dt.datetime | None
) -> CaseResult:
    test_id = f"{policy.id}::{path.name}::{case.name}"
    where = doc.location(("cases", index))
    unknown = sorted(set(case.rules or []) - {r.id for r in policy.rules})
    if unknown:
        return CaseResult(test_id, False, f"rules: no rule {', '.join(unknown)} in pack {policy.id}", where)
    records = [{"id": f"case{index}-{n}", **record} for n, record in enumerate(case.records)]
    report = policy.evaluate(records, as_of=as_of)
    items: list[Finding | InvalidRecord] = [f for f in report.findings if case.rules is None or f.rule in case.rules]
    items.extend(report.invalid)
    problems: list[str] = []
    for expectation in case.expect:
        match = next((item for item in items if expectation.matches(item)), None)
        if match is None:
            problems.append(f"expected {expectation.describe()}: no such finding")
        else:
            items.remove(match)
    for item in items:
        problems.append(f"unexpected {_describe(item)}")
    return CaseResult(test_id, not problems, "; ".join(problems) or None, where)


def _describe(item: Finding | InvalidRecord) -> str:
    path = f" {item.record.path}" if item.record.path else ""
    if isinstance(item, InvalidRecord):
        return f"invalid record {item.record.id}: {item.error}"
    missing = f" (missing {item.missing})" if item.missing else ""
    return f"{item.outcome} {item.rule} on {item.record.id}{path}{missing}: {item.message_en}"


def run_pack_tests(policy: Policy) -> list[CaseResult]:
    """Every embedded example, then every case of every test file beside the pack."""
    results = list(run_examples(policy))
    for path in pack_test_files(policy.definition.root):
        results.extend(run_test_file(policy, path))
    return results


def summary(results: list[CaseResult]) -> str:
    passed = sum(1 for r in results if r.passed)
    return f"{passed} passed, {len(results) - passed} failed"
