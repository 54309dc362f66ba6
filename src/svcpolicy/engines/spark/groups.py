"""Aggregate groups combined in Spark: each task's groups keyed by rule and group key, folded in input order.

A group's states from every task meet in one Spark task (``groupByKey``) and are folded in the order of the tasks
with the aggregate's own ``merge``, so first member references and first appearance are those of one pass; the
driver receives only the merged groups (and each task's few records left out of every group), puts them in
order of first appearance and judges them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from svcpolicy.engine.aggregates import AggregateRun, GroupTally
from svcpolicy.engine.compiled import CompiledPack

if TYPE_CHECKING:
    from pyspark import RDD

TaskTallies = tuple[int, list[GroupTally]]
"""A task's place in the input and its aggregate runs' groups, one tally per aggregate rule of the pack."""
GroupKey = tuple[int, Any]
"""An aggregate rule's place in the pack and a group's key within that rule."""
Place = tuple[int, int]
"""Where a group first appeared: the task, and the group's order within that task."""


def merged_runs(tallies: RDD[TaskTallies], policy: CompiledPack) -> list[AggregateRun]:
    """The aggregate runs of the whole input: groups combined in Spark by rule and key (in input order), only
    the merged groups sent to the driver, and put back in order of first appearance."""
    merged = tallies.flatMap(_keyed_groups).groupByKey().map(functools.partial(_fold_in_order, policy)).collect()
    runs = [AggregateRun(program) for program in policy.aggregates]
    by_rule: dict[int, list[tuple[Place, Any, Any]]] = {}
    for (rule, key), (first, state) in merged:
        by_rule.setdefault(rule, []).append((first, key, state))
    for rule, groups in by_rule.items():
        groups.sort(key=lambda group: group[0])
        program = policy.aggregates[rule]
        runs[rule].merge(GroupTally(program.id, {key: state for _, key, state in groups}, [], 0, None))
    for unkeyed in tallies.map(lambda task: [_unkeyed(tally) for tally in task[1]]).collect():
        for run, tally in zip(runs, unkeyed, strict=True):
            run.merge(tally)
    return runs


def _keyed_groups(task: TaskTallies) -> Iterator[tuple[GroupKey, tuple[Place, Any]]]:
    """Each group of a task, keyed by rule and group key, with its place."""
    index, tallies = task
    for rule, tally in enumerate(tallies):
        for position, (key, state) in enumerate(tally.groups.items()):
            yield (rule, key), ((index, position), state)


def _fold_in_order(
    policy: CompiledPack, entry: tuple[GroupKey, Iterable[tuple[Place, Any]]]
) -> tuple[GroupKey, tuple[Place, Any]]:
    """One group's states from every task, folded in input order (with the aggregate's own merge)."""
    (rule, key), places = entry
    program = policy.aggregates[rule]
    ordered = sorted(places, key=lambda place: place[0])
    run = AggregateRun(program)
    for _, state in ordered:
        run.merge(GroupTally(program.id, {key: state}, [], 0, None))
    return (rule, key), (ordered[0][0], run.tally().groups[key])


def _unkeyed(tally: GroupTally) -> GroupTally:
    """A task's records left out of every group (few: their references are capped), to merge on the driver."""
    return GroupTally(tally.rule, {}, tally.unkeyed, tally.unkeyed_total, tally.unkeyed_reason)
