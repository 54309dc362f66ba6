"""Aggregate rules' per-record work as generated Python: one function per record kind for all its aggregates.

An aggregate rule reads each record (or each item of its ``for_each``) for three things: whether it is a member
(``where``), the group it joins (the ``group_by`` parts) and the values its aggregates take. As closures that is
a few calls per aggregate per member; here all of a kind's aggregates become the text of one function, written by
``svcpolicy.expr.codegen``'s visitor, so a value several aggregates read (``branch_id``, ``month(started_at)``,
``channel not in params.self_service_channels``) is computed once per record in a local, and per-record calls
share the memo slots of the record rules and the closures.

Each member then goes into its aggregate's run (``svcpolicy.engine.aggregates.AggregateRun``) as ``AggregateRun.add``
would put it, written inline: the group looked up (``run.new_group`` when it is new), the layout's accumulator
updates and the member count and reference (``GroupLayout.update_lines``, ``counted_lines``), since a call per member
cost as much as the rest of its work. A member the rule cannot judge goes to ``run.leave_out(key or None, ref, index,
error)`` (``run.cannot_aggregate`` when an accumulator refuses its value), in the order the closures would, so the
runs hold the same members with the same reasons.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

from svcpolicy.expr import nodes as n
from svcpolicy.expr.codegen import RuleTrees, _Body, _compiled, _free_names, _repeated, _Var, _Writer
from svcpolicy.expr.compiler import Compiler, _memo_key
from svcpolicy.expr.group_keys import group_key

GroupFn = Callable[[Any, Any, Sequence[Any], Sequence[Any]], None]
"""A generated group feed: ``(env, ref, active, runs)``. ``active`` per aggregate (read for dated ones only):
True, False (not in force) or the Undetermined that leaves the record out; ``runs`` each aggregate's run (its
``groups``, ``new_group``, ``leave_out`` and ``cannot_aggregate``), in order."""


class MemberLayout(Protocol):
    """How one aggregate's groups take a member, as statements (``svcpolicy.engine.accumulators.GroupLayout``)."""

    def update_lines(self, state: str, values: Sequence[str], bind: Callable[[Any], str]) -> list[str]:
        """The accumulator updates of a member's values (locals) into group ``state``; may raise TypeError."""
        ...

    def counted_lines(self, state: str, ref: str, index: str) -> list[str]:
        """The member counted into group ``state``, its reference kept while the group keeps references."""
        ...


@dataclass(frozen=True)
class GroupTrees:
    """What an aggregate rule reads per record, as trees (``let`` names expanded): the collection it walks with
    its ``for_each`` variable and source, the member filter, the group key parts with their names, and the
    arguments of its aggregates that take one, in order."""

    collection: n.Node | None
    loop: tuple[str, str] | None
    where: n.Node | None
    keys: tuple[n.Node, ...]
    key_names: tuple[str, ...]
    values: tuple[n.Node, ...]

    @property
    def member_nodes(self) -> list[n.Node]:
        """The trees read per member (with ``for_each``, per item)."""
        return [*([self.where] if self.where is not None else []), *self.keys, *self.values]


@dataclass(frozen=True)
class GeneratedGroups:
    """A kind's generated group feed and its source (for reading, and for tests)."""

    fn: GroupFn
    source: str


class GroupGenerator:
    """Writes every aggregate rule of one record kind as one Python function, with the record rules' machinery."""

    def __init__(self, compiler: Compiler) -> None:
        self._defaults = compiler.absent_defaults
        self._constants = compiler.constants
        self._shared = compiler.memo_slots

    def kind(
        self, groups: Sequence[GroupTrees], dated: Sequence[bool], layouts: Sequence[MemberLayout]
    ) -> GeneratedGroups | None:
        """The feed of a record to every aggregate of a kind, in order (see ``GroupFn``), each with its groups'
        layout; None when Python cannot compile it (an expression nested too deeply)."""
        # each aggregate's per-member expressions as one tree under its loop, which binds the loop variable
        members = [n.ListLit(tuple(trees.member_nodes), text="", loc=None) for trees in groups]
        read = [
            RuleTrees(None, trees.collection, trees.loop, member) for trees, member in zip(groups, members, strict=True)
        ]
        body = _Body(_Writer(), self._defaults, self._constants, self._shared, _repeated(read))
        out = body.out
        body.prologue()
        out.line(f"{''.join(f'run{position:d}, ' for position in range(len(groups)))}= runs")
        for position, (trees, member, is_dated, layout) in enumerate(zip(groups, members, dated, layouts, strict=True)):
            with contextlib.ExitStack() as nested:
                if is_dated:
                    state = f"active[{position:d}]"
                    out.line(f"if {state} is not True and {state} is not False:")
                    out.line(f"    run{position:d}.leave_out(None, ref, None, {state})")
                    out.line(f"if {state} is True:")
                    nested.enter_context(out.block())
                out.next_rule()
                _Group(body, trees, position, layout, id(member)).write()
        out.line("return None")
        return _generated(out)


def _generated(out: _Writer) -> GeneratedGroups | None:
    out.namespace["group_key"] = group_key
    compiled = _compiled(out, "env, ref, active, runs", what="groups")
    return None if compiled is None else GeneratedGroups(cast(GroupFn, compiled.fn), compiled.source)


class _Group:
    """The statements of one aggregate: its item loop and, per member, filter, key and values into its run."""

    def __init__(self, body: _Body, trees: GroupTrees, position: int, layout: MemberLayout, binder: int) -> None:
        """``binder`` names the aggregate's loop to the shared-value analysis (``_repeated``)."""
        self.body = body
        self.binder = binder
        self.out = body.out
        self.trees = trees
        self.layout = layout
        self.run = f"run{position:d}"
        self.leave_out = f"{self.run}.leave_out"

    def write(self) -> None:
        """The record as the one member, or its collection's items as members (an Undetermined collection, or
        one that is no list, leaves the record out without a group, as the closures do)."""
        trees = self.trees
        if trees.collection is None or trees.loop is None:
            self.member("None")
            return
        out, body = self.out, self.body
        var, source = trees.loop
        items, collection = out.local(), trees.collection
        self.unless_undetermined(lambda: out.line(f"{items} = {body.build(collection)}"), "None", "None")
        with out.block():
            out.line(f"if {items}:")  # null or empty: no members
            with out.block():
                out.line(f"if type({items}) is not list_type and not isinstance({items}, (list, tuple)):")
                with out.block():
                    reason = out.const(f"{source} is not a list")
                    out.line(f"{self.leave_out}(None, ref, None, U({reason}))")
                out.line("else:")
                with out.block():
                    self.items(items, var, source)

    def items(self, items: str, var: str, source: str) -> None:
        """Each item a member, bound to the ``for_each`` variable as a record rule's loop binds it."""
        out, body = self.out, self.body
        assert self.trees.collection is not None  # noqa: S101 - checked by the caller
        collection_path = n.spelling(self.trees.collection) or source.strip()
        schema = n.spelling(self.trees.collection)
        position, item = out.local(), out.local()
        body.scope[var] = _Var(
            item,
            f"item_path({out.const(collection_path)}, {position})",
            f"{schema}[]" if schema else None,
            1,
            self.binder,
        )
        out.line(f"for {position}, {item} in enumerate({items}):")
        with out.block():
            body.enter_level()
            self.member(position)
            body.leave_level()
        del body.scope[var]

    def key(self) -> str:
        """The member's group key (raises the Undetermined of a part, or of a mapping as a part)."""
        out, body = self.out, self.body
        parts = [body.build(part) for part in self.trees.keys]
        key = out.local()
        out.line(f"{key} = ({''.join(f'{part}, ' for part in parts)})")
        if parts:  # one hash of the tuple (which its group lookup repeats cheaply) tests every part at once
            out.line("try:")
            out.line(f"    hash({key})")
            out.line("except TypeError:")  # a list or a mapping among the parts
            out.line(f"    {key} = group_key({key}, {out.const(self.trees.key_names)})")
        return key

    def unless_undetermined(self, compute: Callable[[], None], key: str, index: str) -> None:
        """Write ``compute``'s lines in a ``try`` whose Undetermined leaves the member out (in group ``key``, or
        none when "None"), then the ``else:`` that the caller's next block continues."""
        out, error = self.out, self.out.local()
        out.line("try:")
        with out.block():
            compute()
        out.line(f"except U as {error}:")
        with out.block():
            out.line(f"{self.leave_out}({key}, ref, {index}, {error})")
        out.line("else:")

    def shared_key(self) -> str:
        """The member's key; one tuple per record for the aggregates grouping by the same record-level parts,
        which is then their groups' key too."""
        trees, body = self.trees, self.body
        if any(_free_names(part, body.scope) for part in trees.keys):
            return self.key()
        shared = ("group key", trees.key_names, *(_memo_key(part) for part in trees.keys))
        return body._cached(shared, 0, self.key)

    def member(self, index: str) -> None:
        """Filter, key, values, in the closures' order: the first Undetermined decides how the member is left
        out (without a group before its key is known, in its group after)."""
        out, body, trees = self.out, self.body, self.trees
        with contextlib.ExitStack() as nested:
            if trees.where is not None:
                selected, where = out.local(), trees.where
                self.unless_undetermined(lambda: out.line(f"{selected} = {body.build(where)}"), "None", index)
                nested.enter_context(out.block())
                out.line(f"if {selected} is True:")
                nested.enter_context(out.block())
            key = out.local()
            self.unless_undetermined(lambda: out.line(f"{key} = {self.shared_key()}"), "None", index)
            nested.enter_context(out.block())
            if not trees.values:
                self.add(key, [], index)
                return
            values = [out.local() for _ in trees.values]

            def measure() -> None:
                for local, value in zip(values, trees.values, strict=True):
                    out.line(f"{local} = {body.build(value)}")

            self.unless_undetermined(measure, key, index)
            with out.block():
                self.add(key, values, index)

    def add(self, key: str, values: list[str], index: str) -> None:
        """``AggregateRun.add`` inline: the member's group (made when new), its values into the accumulators (a
        value they refuse leaves the member out, in its group), then the member counted with its reference."""
        out, run, state = self.out, self.run, self.out.local()
        out.line(f"{state} = {run}.groups.get({key})")
        out.line(f"if {state} is None:")
        out.line(f"    {state} = {run}.new_group({key})")
        counted = self.layout.counted_lines(state, "ref", index)
        updates = self.layout.update_lines(state, values, out.const)
        if not updates:
            for line in counted:
                out.line(line)
            return
        refused = out.local()
        out.line("try:")
        for line in updates:
            out.line(f"    {line}")
        out.line(f"except TypeError as {refused}:")  # e.g. sum over text, min over mixed kinds
        out.line(f"    {run}.cannot_aggregate({key}, ref, {index}, {refused})")
        out.line("else:")
        for line in counted:
            out.line(f"    {line}")
