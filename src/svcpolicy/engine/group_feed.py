"""Feeding records to aggregate runs: per record kind, one generated function for all of the kind's aggregates.

``AggregateRun.feed`` runs one rule's closures per record (the reference, and what the benchmark's per-rule table
times); a stream instead feeds its runs through a ``GroupFeed``, which hands each record to its kind's generated
function (``svcpolicy.expr.codegen_groups``), which puts each member into its run itself. The first records of
a kind go to the closures while the function is not made yet (``FED_BY_CLOSURES``), and a kind whose function
Python cannot compile (an expression nested too deeply) keeps the closures.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from svcpolicy.engine.activity import ActivityByDay
from svcpolicy.engine.aggregates import AggregateProgram, AggregateRun
from svcpolicy.engine.parameters import record_date
from svcpolicy.expr import Compiler, Env
from svcpolicy.results.findings import RecordRef

if TYPE_CHECKING:  # the generator is imported when a kind's feed is first made, which a short run never does
    from svcpolicy.expr.codegen_groups import GeneratedGroups, GroupFn, GroupGenerator

FED_BY_CLOSURES = 256
"""Records of each kind a stream feeds by the closures before its kind's function is generated (unless the pack
made it already): generating it costs about as much as feeding a thousand records, which a short run (a pre-commit
hook on one small file) would never win back."""


class GroupFunctions:
    """The generated feeds of one compiled pack, made when a stream first asks and kept: immutable once made, so
    every stream (and thread) over the pack shares them."""

    def __init__(self, compiler: Compiler) -> None:
        self._compiler = compiler
        self._made: dict[tuple[str, tuple[str, ...]], GeneratedGroups | None] = {}

    def __call__(self, kind: str, programs: tuple[AggregateProgram, ...]) -> GeneratedGroups | None:
        """The feed of a kind's aggregates (in this order), or None when Python cannot compile it."""
        made_for = (kind, tuple(program.id for program in programs))
        if made_for not in self._made:
            trees = [program.trees for program in programs]
            dated = [program.dated for program in programs]
            self._made[made_for] = self._generator.kind(trees, dated, [program.layout for program in programs])
        return self._made[made_for]

    @cached_property
    def _generator(self) -> GroupGenerator:
        from svcpolicy.expr.codegen_groups import GroupGenerator

        return GroupGenerator(self._compiler)

    def made(self, kind: str, programs: tuple[AggregateProgram, ...]) -> bool:
        """Whether this kind's feed was generated (or found not to compile) already."""
        return (kind, tuple(program.id for program in programs)) in self._made


class _KindFeed:
    """The runs one record kind feeds, with their generated function once made (None before, and for good when it
    does not compile), and how many records the closures fed."""

    __slots__ = ("active_on", "by_closures", "dated", "fn", "programs", "runs", "tz")

    def __init__(self, runs: tuple[AggregateRun, ...]) -> None:
        self.runs = runs
        self.programs = tuple(run.program for run in runs)
        self.fn: GroupFn | None = None
        self.by_closures = 0
        self.dated = any(program.dated for program in self.programs)
        self.active_on = ActivityByDay(self.programs)
        self.tz = self.programs[0].tz if self.programs else dt.UTC  # one pack, one zone


class GroupFeed:
    """One stream's feed of validated records to its aggregate runs."""

    def __init__(
        self,
        runs: Sequence[AggregateRun],
        functions: GroupFunctions | None,
        *,
        by_closures_first: int = FED_BY_CLOSURES,
    ) -> None:
        """``functions`` makes a kind's generated feed (None: every run fed by its closures, rule by rule), after
        ``by_closures_first`` records of the kind unless it was made already."""
        self._runs = tuple(runs)
        self._functions = functions
        self._by_closures_first = by_closures_first
        self._kinds: dict[str, _KindFeed] = {}

    def feed(self, env: Env, record: Mapping[str, Any], ref: RecordRef) -> None:
        """Add one record's members to every run (``env`` already holds the record and its parameters)."""
        kind = record.get("kind", "interaction")
        feed = self._kinds.get(kind)
        if feed is None:
            feed = self._kinds[kind] = self._for_kind(kind)
        fn = feed.fn
        if fn is not None:
            active = feed.active_on(record_date(record, feed.tz)) if feed.dated else ()
            fn(env, ref, active, feed.runs)
            return
        for run in feed.runs:
            run.feed(env, record, ref)
        feed.by_closures += 1
        if feed.by_closures == self._by_closures_first:
            self._generate(kind, feed)

    def _for_kind(self, kind: str) -> _KindFeed:
        feed = _KindFeed(tuple(run for run in self._runs if kind in run.program.kinds))
        if self._by_closures_first <= 0 or (self._functions is not None and self._functions.made(kind, feed.programs)):
            self._generate(kind, feed)
        return feed

    def _generate(self, kind: str, feed: _KindFeed) -> None:
        if self._functions is not None and feed.runs:
            generated = self._functions(kind, feed.programs)
            feed.fn = generated.fn if generated is not None else None
