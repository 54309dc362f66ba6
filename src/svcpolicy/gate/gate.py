"""The compliance gate: which findings fail a run, and which are waived or accepted in a baseline.

A finding's *disposition* is its status (open, waived, baselined) and whether it blocks the gate. The facts
do not change: a waived violation is still a violation, its record still counts as "with violations" and
the finding is still reported, with its waiver. Waivers and baselines only decide whether it fails the run.

Counting (``Counts``): ``waived`` and ``baselined`` count *findings*, like ``violations`` does, and are
parts of the findings already counted (violations, undetermined findings, group findings). Record outcomes
are untouched, so ``records = compliant + with_violations + undetermined + invalid`` holds whatever is
waived.

The verdict (``GateVerdict``: passed, how many items block, and why) is the gate's alone. ``conclude`` judges
the run once it is over, from everything ``observe`` saw plus the inputs that could not be read; writers print
that verdict and ``svcpolicy check`` exits with it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from svcpolicy.gate.waivers import PlacedWaiver, WaiverSet
from svcpolicy.results.catalog import RuleInfo
from svcpolicy.results.dispositions import OPEN_INVALID, Disposition, GateNote, GateVerdict, Status
from svcpolicy.results.findings import Finding, InvalidRecord, Outcome, PackRef
from svcpolicy.severity import Severity

if TYPE_CHECKING:
    from svcpolicy.gate.baseline import Baseline  # read only when --baseline is given (cli.commands.check)
    from svcpolicy.results.report import Counts, InputFailure


class _Use:
    """How often a run applied one waiver, found it expired, or refused it (its rule is not waivable)."""

    __slots__ = ("applied", "expired", "refused")

    def __init__(self, applied: int = 0, expired: int = 0, refused: int = 0) -> None:
        self.applied = applied
        self.expired = expired
        self.refused = refused


class Gate:
    """The gate's settings and what it saw; ``observe`` every item of a run, ``conclude`` it, read ``verdict``.

    A plain class, not a dataclass (defining one costs every run a millisecond): a gate is one run's state,
    never compared with another."""

    def __init__(
        self,
        fail_on: Severity = Severity.INFO,
        fail_on_undetermined: bool = False,
        waivers: WaiverSet | None = None,
        baseline: Baseline | None = None,
        today: dt.date | None = None,
        rules: tuple[RuleInfo, ...] = (),
        pack: PackRef | None = None,
        fail_on_stale_waivers: bool = False,
    ) -> None:
        self.fail_on = fail_on
        self.fail_on_undetermined = fail_on_undetermined
        self.waivers = WaiverSet.empty() if waivers is None else waivers
        self.baseline = baseline
        self.today = today
        self.rules = rules
        self.pack = pack
        self.fail_on_stale_waivers = fail_on_stale_waivers
        self._waivable = {r.id: r.waivable for r in self.rules}
        self._uses = [_Use() for _ in self.waivers]
        self._baseline_seen: set[str] = set()
        # a baseline that says it was written for another pack lets nothing through, as its note says, even when
        # its fingerprints (edited, or of a renamed pack) would match
        self._accepted = None if baseline is None or self._other_pack(baseline) else baseline
        self._day = self.today or dt.date.today()
        self._blocking_findings = 0
        self._invalid_records = 0
        self._verdict: GateVerdict | None = None

    def waivable(self, rule: str) -> bool:
        return self._waivable.get(rule, True)

    # -- per finding ------------------------------------------------------------------------------

    def fails(self, finding: Finding) -> bool:
        """Whether the finding fails the gate when nothing excuses it."""
        if finding.outcome is Outcome.VIOLATION:
            return finding.severity.rank >= self.fail_on.rank
        return self.fail_on_undetermined and finding.outcome is Outcome.UNDETERMINED

    def disposition(self, item: Finding | InvalidRecord) -> Disposition:
        """The finding's status and whether it blocks; the same answer every time it is asked."""
        if isinstance(item, InvalidRecord):
            return OPEN_INVALID
        return self._judge(item)[0]

    def _judge(self, finding: Finding) -> tuple[Disposition, list[tuple[int, str]]]:
        uses: list[tuple[int, str]] = []
        notes: list[str] = []
        waivable = self.waivable(finding.rule)
        chosen: PlacedWaiver | None = None
        for index in self.waivers.matching(finding):
            placed = self.waivers.waivers[index]
            if not waivable:
                uses.append((index, "refused"))
                notes.append(f"waiver {placed.label} ignored: rule is not waivable")
            elif not placed.waiver.active_on(self._day):
                uses.append((index, "expired"))
                notes.append(f"waiver {placed.label} expired on {placed.waiver.expires.isoformat()}")
            else:
                uses.append((index, "applied"))
                chosen = chosen or placed
        fails = self.fails(finding)
        if chosen is not None:
            return Disposition(Status.WAIVED, False, chosen.note()), uses
        note = "; ".join(notes) or None
        if waivable and self._accepted is not None and finding.fingerprint in self._accepted:
            return Disposition(Status.BASELINED, False, None, note), uses
        return Disposition(Status.OPEN, fails, None, note), uses

    def observe(self, item: Finding | InvalidRecord, counts: Counts | None = None) -> Disposition:
        """Judge an item of the run, remember which waivers and baseline entries it used, and count it."""
        if isinstance(item, InvalidRecord):
            self._invalid_records += 1
            return OPEN_INVALID
        disposition, uses = self._judge(item)
        for index, use in uses:
            record = self._uses[index]
            setattr(record, use, getattr(record, use) + 1)
        if self.baseline is not None and item.fingerprint in self.baseline:
            self._baseline_seen.add(item.fingerprint)
        if disposition.blocking:
            self._blocking_findings += 1
        if counts is not None:
            if disposition.status is Status.WAIVED:
                counts.waived += 1
            elif disposition.status is Status.BASELINED:
                counts.baselined += 1
        return disposition

    # -- after the run ----------------------------------------------------------------------------

    def notes(self) -> list[GateNote]:
        """Stale, expired and refused waivers; baseline entries no longer found; a baseline of another pack."""
        result: list[GateNote] = []
        known = set(self._waivable)
        for placed, use in zip(self.waivers, self._uses, strict=True):
            w, where = placed.waiver, str(placed.location)
            if w.rule is not None and known and w.rule not in known:
                import difflib  # only for a waiver of an unknown rule: most runs have no waivers

                hint = difflib.get_close_matches(w.rule, sorted(known), n=1)
                extra = f" (did you mean {hint[0]}?)" if hint else ""
                result.append(
                    GateNote(
                        "stale-waiver",
                        f"waiver {placed.label} names rule {w.rule}, which the pack does not have{extra}",
                        where,
                    )
                )
            elif w.rule is not None and not self.waivable(w.rule):
                result.append(
                    GateNote(
                        "unwaivable",
                        f"waiver {placed.label}: rule {w.rule} is marked `waivable: false`; the waiver has no effect",
                        where,
                    )
                )
            elif use.refused:
                result.append(
                    GateNote("unwaivable", f"waiver {placed.label}: its finding's rule is not waivable", where)
                )
            elif use.expired and not use.applied:
                result.append(
                    GateNote(
                        "expired-waiver",
                        f"waiver {placed.label} for {w.target()} expired on {w.expires.isoformat()}; "
                        f"{use.expired} finding(s) it covered fail again",
                        where,
                    )
                )
            elif not use.applied:
                state = f", and it expired on {w.expires.isoformat()}" if not w.active_on(self._day) else ""
                result.append(
                    GateNote(
                        "stale-waiver",
                        f"waiver {placed.label} for {w.target()} matched no finding in this run{state}",
                        where,
                    )
                )
        if self.baseline is not None:
            if self._other_pack(self.baseline) and self.pack is not None and self.baseline.pack is not None:
                result.append(
                    GateNote(
                        "baseline-pack",
                        f"the baseline was written for pack {self.baseline.pack.id}, not {self.pack.id}: "
                        "none of it applies",
                        self.baseline.file,
                    )
                )
            gone = len(self.baseline) - len(self._baseline_seen)
            if gone:
                result.append(
                    GateNote(
                        "baseline-fixed",
                        f"{gone} of {len(self.baseline)} baseline finding(s) no longer occur (fixed, or not checked in "
                        "this run)",
                        self.baseline.file,
                    )
                )
        return result

    def conclude(self, input_failures: Sequence[InputFailure] = ()) -> GateVerdict:
        """Judge the run once it is over: what ``observe`` saw, the inputs not read, and (if asked) stale waivers."""
        stale = [n for n in self.notes() if n.kind in _STALE_KINDS] if self.fail_on_stale_waivers else []
        self._verdict = GateVerdict.of(
            blocking_findings=self._blocking_findings,
            invalid_records=self._invalid_records,
            input_failures=len(input_failures),
            stale_waivers=stale,
        )
        return self._verdict

    @property
    def verdict(self) -> GateVerdict:
        if self._verdict is None:
            raise RuntimeError("the gate judges a run once it is over: call conclude() first")
        return self._verdict

    def _other_pack(self, baseline: Baseline) -> bool:
        return self.pack is not None and baseline.pack is not None and baseline.pack.id != self.pack.id

    @property
    def has_baseline(self) -> bool:
        return self.baseline is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "fail_on": str(self.fail_on),
            "fail_on_undetermined": self.fail_on_undetermined,
            "fail_on_stale_waivers": self.fail_on_stale_waivers,
            "as_of_date": self._day.isoformat(),
            "waivers": len(self.waivers),
            "baseline": None if self.baseline is None else {"file": self.baseline.file, "entries": len(self.baseline)},
            **self.verdict.to_dict(),
            "notes": [n.to_dict() for n in self.notes()],
        }


_STALE_KINDS = frozenset({"stale-waiver", "expired-waiver", "unwaivable"})
"""The waiver notes that ``--fail-on-stale-waivers`` fails a run on."""
