"""Masking customer identifiers in what a report shows.

《银行客户服务规章制度》第十条 and 第十五条 require customer information to be protected, and a report travels
further than the data it was made from (SARIF and JUnit files end up in CI logs and dashboards).

``Redactor`` is what ``svcpolicy check`` applies, once, to every finding before any writer sees it: the pack
declares which record fields identify a customer (``privacy: identifying_fields``), the evaluation keeps their
values for each record with findings or found invalid, and every occurrence of them in the finding's messages,
reason, evidence, group keys and record ids, and in an invalid record's id and error, is masked, also where
punctuation joins them to other text (``OP-C1234567``) and, for an identifier of six characters or more, where
it runs into letters or digits (``INT-C1234567X``). The finding keeps its fingerprint and is judged by the gate
as it was, so waivers and baselines still apply.

``Masker`` is the HTML report's own: it masks ``customer.id`` and any other party's identifier that authorised an
operation or that a power of attorney names as the customer's agent (``authorization.by``,
``power_of_attorney.agent``, when it is not the serving employee) in the page's customer column and texts, so
``Report.to_html`` masks too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field, fields
from typing import Any

from svcpolicy.results.dispositions import Disposition, GateNote, GateVerdict, GateView, WaiverNote
from svcpolicy.results.findings import Finding, InvalidRecord, RecordRef
from svcpolicy.results.report import Report

__all__ = ["MaskedFinding", "MaskedGate", "Masker", "Redactor", "mask_identifier", "masked_data"]


def mask_identifier(value: str) -> str:
    """Keep the first two and last two characters of an identifier: ``C880102`` → ``C8***02``."""
    if len(value) <= 4:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


def _walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _walk(item, path)
    else:
        yield path, value


class Masker:
    """Replaces the customer identifiers of a report, wherever they occur in text, by masked forms."""

    def __init__(self, report: Report, *, reveal: bool = False) -> None:
        self.reveal = reveal
        found: set[str] = set()
        for context in report.records.values():
            value = context.get("customer.id")
            if value not in (None, ""):
                found.add(str(value))
        for finding in report.findings:
            employee = report.context(finding).get("employee.id")
            for path, value in _walk(finding.evidence):
                if not isinstance(value, str | int) or isinstance(value, bool) or value in ("", None):
                    continue
                leaf = path.rsplit(".", 1)[-1]
                if path.endswith("customer.id") or (leaf in _PARTY_LEAVES and str(value) != str(employee)):
                    found.add(str(value))
            group: Mapping[str, Any] | None = getattr(finding, "group", None)
            for key, value in (group or {}).items():
                if "customer" in str(key) and value not in (None, ""):
                    found.add(str(value))
        self.identifiers = frozenset(found)
        self._pattern = _identifier_pattern(found) if found else None

    def __call__(self, text: Any) -> str:
        """The text with every customer identifier masked (unchanged when revealing); the templates escape it."""
        plain = "" if text is None else str(text)
        if self.reveal or self._pattern is None:
            return plain
        return self._pattern.sub(lambda match: mask_identifier(match.group(0)), plain)


_PARTY_LEAVES = frozenset({"by", "agent"})
"""Evidence fields naming a person acting for the customer: who authorised, the agent a power of attorney names."""


# -- svcpolicy check: every finding masked once, before the writers -------------------------------------------

_SHORTEST = 2
"""Values shorter than this (a one-letter name) are not masked: they would blank out ordinary text."""


@dataclass(frozen=True, slots=True)
class MaskedFinding(Finding):
    """A finding as reports show it, customer identifiers masked; it keeps the unmasked finding it was made from,
    for its fingerprint and for the gate."""

    original: Finding = field(kw_only=True)
    identifiers: tuple[str, ...] = field(kw_only=True, default=())
    """The identifying values masked in it: the gate masks them in the reason of a waiver that excuses it too."""

    @property
    def fingerprint(self) -> str:
        return self.original.fingerprint


def _identifier_pattern(identifiers: Iterable[str]) -> re.Pattern[str]:
    """One pattern finding every identifier, longest first: a long one anywhere, a short one standing apart."""
    ordered = sorted(identifiers, key=len, reverse=True)
    anywhere = [re.escape(i) for i in ordered if len(i) >= MASKED_INSIDE_WORDS_FROM]
    apart = [re.escape(i) for i in ordered if len(i) < MASKED_INSIDE_WORDS_FROM]
    alternatives = [f"(?:{'|'.join(anywhere)})"] if anywhere else []
    if apart:
        alternatives.append(rf"(?<![0-9A-Za-z_-])(?:{'|'.join(apart)})(?![0-9A-Za-z_])")
    return re.compile("|".join(alternatives))


def _masked_match(match: re.Match[str]) -> str:
    return mask_identifier(match.group(0))


MASKED_INSIDE_WORDS_FROM = 6
"""An identifier this long is masked wherever it occurs, also run into letters or digits (``INT-C1234567X``, the
customer id ``1234567`` inside ``C1234567``): a record id or message built from it must not show it whole. A
shorter one is masked only where it stands apart from letters and digits, or every ``12`` of a date would be."""


def mask_in(text: str, values: Iterable[str]) -> str:
    """The text with each value masked: a long one wherever it occurs, a short one wherever it stands apart from
    letters and digits around it (``MASKED_INSIDE_WORDS_FROM``)."""
    for value in values:
        if value in text:
            if len(value) >= MASKED_INSIDE_WORDS_FROM:
                text = text.replace(value, mask_identifier(value))
                continue
            pattern = rf"(?<![0-9A-Za-z]){re.escape(value)}(?![0-9A-Za-z])"
            text = re.sub(pattern, _masked_match, text)
    return text


class Redactor:
    """Masks the customer identifiers of each finding of a run as it streams by (``svcpolicy check``).

    ``identifiers`` is the evaluation's ``identifiers`` (filled while it runs): the identifying values of each
    record with findings (or invalid), taken out as that record's items pass, so memory stays with the records
    in flight.
    A group finding's keys that read an identifying path (``depositor: customer.id``) are masked as identifiers.
    """

    def __init__(
        self,
        identifiers: MutableMapping[tuple[str, int], tuple[str, ...]],
        identifying_fields: Iterable[str],
        group_paths: Mapping[str, Mapping[str, str]],
    ) -> None:
        identifying = set(identifying_fields)
        self._identifiers = identifiers
        self._group_keys = {
            rule: frozenset(name for name, path in paths.items() if path in identifying)
            for rule, paths in group_paths.items()
        }
        self._locator: tuple[str | None, int | None] | None = None
        self._values: tuple[str, ...] = ()

    def __call__(self, item: Finding | InvalidRecord) -> Finding | InvalidRecord:
        """The item as reports may show it: unchanged unless it holds an identifier."""
        if not isinstance(item, Finding):
            return self._masked_invalid(item)
        values = self._values_of(item)
        if not values:
            return item
        shown = {f.name: getattr(item, f.name) for f in fields(Finding)}
        for name in ("message_zh", "message_en", "reason"):
            if shown[name] is not None:
                shown[name] = mask_in(shown[name], values)
        shown["evidence"] = _mask_value(item.evidence, values)
        if item.group is not None:
            shown["group"] = _mask_value(item.group, values)
        shown["record"] = _mask_ref(item.record, values)
        shown["members"] = tuple(_mask_ref(member, values) for member in item.members)
        return MaskedFinding(**shown, original=item, identifiers=values)

    def _masked_invalid(self, item: InvalidRecord) -> InvalidRecord:
        """An invalid record's id and message masked by the identifiers its data still gave (its own entry)."""
        values = self._values_at((item.record.source, item.record.line))
        if not values:
            return item
        return InvalidRecord(_mask_ref(item.record, values), mask_in(item.error, values))

    def _values_of(self, finding: Finding) -> tuple[str, ...]:
        if finding.group is not None:
            keys = self._group_keys.get(finding.rule, frozenset())
            found = (str(v) for k, v in finding.group.items() if k in keys and v is not None)
            return _longest_first(found)
        return self._values_at((finding.record.source, finding.record.line))

    def _values_at(self, locator: tuple[str | None, int | None]) -> tuple[str, ...]:
        """The identifiers of the record(s) at a file and line. A record's items come one after another; the
        records of one line (a JSON array on one line) share it, each adding its values as it arrives."""
        fresh = self._identifiers.pop(locator, ())  # type: ignore[arg-type]
        if locator != self._locator:
            self._locator = locator
            self._values = _longest_first(fresh)
        elif fresh:
            self._values = _longest_first((*self._values, *fresh))
        return self._values


def _longest_first(values: Iterable[str]) -> tuple[str, ...]:
    """Longest first, so that an identifier inside a longer one is not masked piecemeal."""
    return tuple(sorted({v for v in values if len(v) >= _SHORTEST}, key=len, reverse=True))


def masked_data(data: Any, identifiers: Iterable[str]) -> Any:
    """``data`` (a finding as plain data, say) with each identifier masked in every text inside it, as
    ``mask_in`` masks one text, and an integer equal to one masked whole."""
    return _mask_value(data, _longest_first(identifiers))


def _mask_value(value: Any, values: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return mask_in(value, values)
    if isinstance(value, Mapping):
        return {key: _mask_value(item, values) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_value(item, values) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and str(value) in values:
        return mask_identifier(str(value))
    return value


def _mask_ref(ref: RecordRef, values: tuple[str, ...]) -> RecordRef:
    if ref.id is None:
        return ref
    shown = mask_in(ref.id, values)
    return ref if shown == ref.id else RecordRef(shown, ref.source, ref.line, ref.path)


class MaskedGate:
    """The gate as writers see masked findings: each judged as the finding it was made from (``GateView``).

    Its notes name waivers by their target, and a waiver's ``record`` is a record id that may hold a customer's
    identifier (``INT-C1234567``) of a record this run never flagged, whose identifying values it never kept:
    the record ids the waivers name (``waived_records``; ``check`` gives them when the pack declares identifying
    fields) are masked whole in every note. The waiver's id or file:line still says which waiver it is.
    """

    def __init__(self, gate: GateView, waived_records: Iterable[str] = ()) -> None:
        self._gate = gate
        self._waived_records = _longest_first(waived_records)

    @property
    def verdict(self) -> GateVerdict:
        verdict = self._gate.verdict
        if not verdict.stale_waivers:
            return verdict
        return GateVerdict(verdict.reasons, tuple(self._masked(note) for note in verdict.stale_waivers))

    @property
    def has_baseline(self) -> bool:
        return self._gate.has_baseline

    def disposition(self, item: Finding | InvalidRecord) -> Disposition:
        """The finding's disposition; the reason of a waiver excusing it, an officer's free text ("客户 C1234567 已书面
        确认"), masked by the finding's identifiers and the waived record ids."""
        if not isinstance(item, MaskedFinding):
            return self._gate.disposition(item)
        return self.shown(self._gate.disposition(item.original), item)

    def shown(self, disposition: Disposition, item: Finding | InvalidRecord) -> Disposition:
        """A disposition the gate gave an item as writers show it with the masked item (see ``disposition``)."""
        waiver = disposition.waiver
        if waiver is None or not isinstance(item, MaskedFinding):
            return disposition
        reason = mask_in(waiver.reason, _longest_first((*item.identifiers, *self._waived_records)))
        if reason == waiver.reason:
            return disposition
        masked = WaiverNote(waiver.label, reason, waiver.approver, waiver.expires, waiver.ticket, waiver.location)
        return Disposition(disposition.status, disposition.blocking, masked, disposition.note)

    def notes(self) -> list[GateNote]:
        return [self._masked(note) for note in self._gate.notes()]

    def to_dict(self) -> dict[str, Any]:
        return self._gate.to_dict() | {"notes": [note.to_dict() for note in self.notes()]}

    def _masked(self, note: GateNote) -> GateNote:
        message = mask_in(note.message, self._waived_records)
        return note if message == note.message else GateNote(note.kind, message, note.location)
