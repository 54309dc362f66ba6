"""Waivers: an approved, dated exception for one finding, kept in a YAML file under review.

A waiver names its finding by rule and record id (optionally the item path inside the record), or by the
finding's fingerprint. It says why, who approved it and until when. A waived finding is still reported (with
its waiver) and counted as waived; it only stops failing the gate. After its expiry date a waiver no longer
applies and the run says so; a waiver that matches no finding is reported as stale; a rule marked
``waivable: false`` cannot be waived at all.

The file is validated like a pack: every problem is reported as ``file:line:col: message``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from svcpolicy.errors import LocatedError, PackError, SourceLocation, SvcPolicyError, shown_loc
from svcpolicy.frozen import Frozen
from svcpolicy.results.dispositions import WaiverNote
from svcpolicy.results.findings import Finding

if TYPE_CHECKING:  # the waiver model is imported when a waiver file is read: most runs read none
    from pydantic import ValidationError

    from svcpolicy.gate.waiver_file import Waiver
    from svcpolicy.pack.yaml_document import YamlDocument
else:

    def __getattr__(name: str) -> object:
        """``Waiver``, still importable from here, imported when first asked for."""
        if name == "Waiver":
            from svcpolicy.gate.waiver_file import Waiver

            return Waiver
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class WaiverError(LocatedError):
    """A waiver file cannot be read or does not follow the format."""


class WaiverFileErrors(SvcPolicyError):
    """Every problem of one waiver file, reported together, one ``file:line:col: message`` per line."""

    def __init__(self, errors: Sequence[WaiverError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


class PlacedWaiver(Frozen):
    """A waiver and where it was written; ``label`` is its id, or ``file:line`` when it has none."""

    _fields = ("waiver", "location")
    waiver: Waiver
    location: SourceLocation

    def __init__(self, waiver: Waiver, location: SourceLocation) -> None:
        self.__dict__.update(waiver=waiver, location=location)

    @property
    def label(self) -> str:
        return self.waiver.id or str(SourceLocation(self.location.file, self.location.line))

    def note(self) -> WaiverNote:
        """The waiver as a report shows it beside the finding it excuses."""
        w = self.waiver
        return WaiverNote(self.label, w.reason, w.approver, w.expires, w.ticket, self.location)


class WaiverSet(Frozen):
    """The waivers of one or more files, indexed for matching findings; immutable, compared by its waivers."""

    _fields = ("waivers",)
    waivers: tuple[PlacedWaiver, ...]

    def __init__(self, waivers: tuple[PlacedWaiver, ...]) -> None:
        self.__dict__["waivers"] = waivers
        by_rule_record: dict[tuple[str | None, str | None], list[int]] = {}
        by_fingerprint: dict[str, list[int]] = {}
        for i, placed in enumerate(self.waivers):
            w = placed.waiver
            if w.fingerprint is not None:
                by_fingerprint.setdefault(w.fingerprint, []).append(i)
            else:
                by_rule_record.setdefault((w.rule, w.record), []).append(i)
        self.__dict__.update(_by_rule_record=by_rule_record, _by_fingerprint=by_fingerprint)

    def __len__(self) -> int:
        return len(self.waivers)

    def __iter__(self) -> Iterator[PlacedWaiver]:
        return iter(self.waivers)

    def matching(self, finding: Finding) -> list[int]:
        """Indices of the waivers that name this finding, in file order."""
        by_rule_record: dict[tuple[str | None, str | None], list[int]] = self.__dict__["_by_rule_record"]
        by_fingerprint: dict[str, list[int]] = self.__dict__["_by_fingerprint"]
        candidates = by_rule_record.get((finding.rule, finding.record.id), []) + by_fingerprint.get(
            finding.fingerprint, []
        )
        return sorted(i for i in candidates if self.waivers[i].waiver.matches(finding))

    @classmethod
    def empty(cls) -> WaiverSet:
        return cls(())


def _pydantic_errors(exc: ValidationError, doc: YamlDocument) -> list[WaiverError]:
    errors: list[WaiverError] = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = tuple(err["loc"])
        where = ".".join(str(p) for p in shown_loc(loc, err["type"])) or "document"
        message = err["msg"].removeprefix("Value error, ")
        errors.append(WaiverError(f"{where}: {message}", doc.location(loc)))
    return errors


def load_waivers(path: str | Path) -> WaiverSet:
    """Read and validate a waiver file; raise WaiverFileErrors listing every problem with file:line:col."""
    from pydantic import ValidationError

    from svcpolicy.gate.waiver_file import WaiverFile  # the model, for a run that has waivers only
    from svcpolicy.pack.yaml_source import load_yaml  # the YAML parser, likewise

    try:
        doc = load_yaml(Path(path), kind="waiver file")
    except PackError as exc:
        raise WaiverFileErrors([WaiverError(exc.message, exc.location)]) from exc
    if doc.value is None or doc.value == {}:
        return WaiverSet.empty()
    try:
        parsed = WaiverFile.model_validate(doc.value)
    except ValidationError as exc:
        raise WaiverFileErrors(_pydantic_errors(exc, doc)) from exc
    placed: list[PlacedWaiver] = []
    errors: list[WaiverError] = []
    seen: dict[str, SourceLocation] = {}
    for i, waiver in enumerate(parsed.waivers):
        where = doc.location(("waivers", i))
        if waiver.id is not None:
            if waiver.id in seen:
                errors.append(WaiverError(f"waiver id {waiver.id!r} is used twice (first at {seen[waiver.id]})", where))
                continue
            seen[waiver.id] = where
        placed.append(PlacedWaiver(waiver, where))
    if errors:
        raise WaiverFileErrors(errors)
    return WaiverSet(tuple(placed))


def load_waiver_files(paths: Sequence[str | Path]) -> WaiverSet:
    """The waivers of several files as one set; a waiver id may be used once across all of them."""
    placed: list[PlacedWaiver] = []
    errors: list[WaiverError] = []
    seen: dict[str, SourceLocation] = {}
    for path in paths:
        for item in load_waivers(path):
            if item.waiver.id is not None and item.waiver.id in seen:
                first = seen[item.waiver.id]
                errors.append(
                    WaiverError(f"waiver id {item.waiver.id!r} is used twice (first at {first})", item.location)
                )
                continue
            if item.waiver.id is not None:
                seen[item.waiver.id] = item.location
            placed.append(item)
    if errors:
        raise WaiverFileErrors(errors)
    return WaiverSet(tuple(placed))
