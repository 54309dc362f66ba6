"""Quantifiers over a projected list: ``∃``/``∀`` item as durable-rules ``$iany``/``$iall``.

durable-rules evaluates a leaf inside ``$iany``/``$iall`` against the item only, and (2.0.28) decides an ``or``
inside by the item's field order; :class:`Quantify` lifts conditions on the fact out of the quantifier and
splits what is left into the normal forms durable-rules evaluates correctly.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from svcpolicy.engines.durable.conditions import FALSE, TRUE, Cond, all_of, any_of, leaf
from svcpolicy.engines.durable.unsupported import Unsupported


@dataclass(frozen=True)
class Quantify:
    """``∃ item`` / ``∀ item`` over a projected list, lifting conditions on the fact out of ``$iany``/``$iall``
    (durable-rules evaluates a leaf inside them against the item only)."""

    collection: str
    empty: Cond
    nonempty: Cond

    def some(self, cond: Cond) -> Cond:
        return self._split(cond, self._some)

    def every(self, cond: Cond) -> Cond:
        return self._split(cond, self._every)

    def _split(self, cond: Cond, quantify: Callable[[Cond], Cond]) -> Cond:
        """Case-split on the state (absent, null, a value) of each fact key the item condition tests, so what
        is left inside ``$iany``/``$iall`` tests only the item (and refers to fact keys with ``$m``)."""
        keys = sorted({atom[0] for atom in _presence_atoms(cond)})
        if not keys or not cond.mentions_item:
            return quantify(cond)
        branches = []
        for states in itertools.product(("absent", "null", "value"), repeat=len(keys)):
            assignment = dict(zip(keys, states, strict=True))
            residual = _assign(cond, assignment)
            guard = all_of(*(_STATE_LEAF[state](key) for key, state in assignment.items()))
            branches.append(all_of(guard, quantify(residual)))
        return any_of(*branches)

    def _iany(self, cond: Cond) -> Cond:
        """∃ item: one ``$iany`` per conjunction of the condition's disjunctive form."""
        options = []
        for conjunction in _item_dnf(cond):
            if not conjunction:
                return self.nonempty
            options.append(Cond("iany", (all_of(*conjunction),), collection=self.collection))
        return any_of(*options)

    def _iall(self, cond: Cond) -> Cond:
        """∀ item: one ``$iall`` per clause of the condition's conjunctive form; a clause may hold ``$nex``
        tests and one other test."""
        clauses = []
        for clause in _item_cnf(cond):
            unique = list(dict.fromkeys(clause))
            if not unique:
                return self.empty
            nex = [t for t in unique if _is_nex(t)]
            others = [t for t in unique if not _is_nex(t)]
            fields = {_tested_field(t) for t in others}
            if len(fields) > 1 or None in fields:
                raise Unsupported(_ITEM_BUG)
            if len(others) > 1:
                # alternatives on one field, each chained to "the field exists": durable-rules stops at the
                # first alternative whose chain matches, so the last test run no longer decides
                (name,) = fields
                exists = leaf({"$ex": {name: 1}}, "item")
                others = [Cond("and", (t, exists)) for t in others]
            clauses.append(Cond("iall", (any_of(*nex, *others),), collection=self.collection))
        return all_of(*clauses)

    def _some(self, cond: Cond) -> Cond:
        if cond.op == "false":
            return FALSE
        if cond.op == "true":
            return self.nonempty
        if not cond.mentions_fact:
            return self._iany(cond)
        if not cond.mentions_item:
            return all_of(self.nonempty, cond)
        if cond.op == "or":
            return any_of(*(self._some(p) for p in cond.parts))
        if cond.op == "and":
            outer = [p for p in cond.parts if not p.mentions_item]
            inner = [p for p in cond.parts if p.mentions_item]
            if outer and all(not p.mentions_fact for p in inner):
                return all_of(*outer, self._some(all_of(*inner)))
        raise Unsupported(
            "a quantifier mixes conditions on the item and on the record in a way durable-rules cannot express"
        )

    def _every(self, cond: Cond) -> Cond:
        if cond.op == "true":
            return TRUE
        if cond.op == "false":
            return self.empty
        if not cond.mentions_fact:
            return any_of(self.empty, self._iall(cond))
        if not cond.mentions_item:
            return any_of(self.empty, cond)
        if cond.op == "and":
            return all_of(*(self._every(p) for p in cond.parts))
        if cond.op == "or":
            outer = [p for p in cond.parts if not p.mentions_item]
            inner = [p for p in cond.parts if p.mentions_item]
            if outer and all(not p.mentions_fact for p in inner):
                return any_of(*outer, self._every(any_of(*inner)))
        raise Unsupported(
            "a quantifier mixes conditions on the item and on the record in a way durable-rules cannot express"
        )


_STATE_LEAF: dict[str, Callable[[str], Cond]] = {
    "absent": lambda key: leaf({"$nex": {key: 1}}),
    "null": lambda key: leaf({key: None}),
    "value": lambda key: leaf({"$neq": {key: None}}),
}


def _presence_atom(cond: Cond) -> tuple[str, str] | None:
    """``(key, test)`` when ``cond`` is a presence test of a fact key: absent, null, value (present, not
    null) or present (null or a value)."""
    if cond.op != "leaf" or cond.scope != "fact" or not isinstance(cond.json, dict) or len(cond.json) != 1:
        return None
    ((name, body),) = cond.json.items()
    if name == "$nex" and isinstance(body, dict) and len(body) == 1:
        return next(iter(body)), "absent"
    if name == "$ex" and isinstance(body, dict) and len(body) == 1:
        return next(iter(body)), "present"
    if name == "$neq" and isinstance(body, dict) and len(body) == 1 and next(iter(body.values())) is None:
        return next(iter(body)), "value"
    if not name.startswith("$") and body is None:
        return name, "null"
    return None


def _presence_atoms(cond: Cond) -> Iterator[tuple[str, str]]:
    atom = _presence_atom(cond)
    if atom is not None:
        yield atom
    elif cond.op in ("and", "or"):
        for part in cond.parts:
            yield from _presence_atoms(part)


def _assign(cond: Cond, states: Mapping[str, str]) -> Cond:
    """``cond`` with presence tests of the given keys replaced by their truth in those states."""
    atom = _presence_atom(cond)
    if atom is not None and atom[0] in states:
        state, test = states[atom[0]], atom[1]
        holds = state == test or (test == "present" and state != "absent")
        return TRUE if holds else FALSE
    if cond.op == "and":
        return all_of(*(_assign(p, states) for p in cond.parts))
    if cond.op == "or":
        return any_of(*(_assign(p, states) for p in cond.parts))
    return cond


# durable-rules 2.0.28 evaluates an item of $iany/$iall by walking the item's properties and keeps only the
# result of the *last* test it ran, so an ``$or`` inside is decided by property order. What it evaluates
# correctly: a chain of tests (``$and``), and an ``$or`` of ``$nex`` tests with at most one other test (the
# ``$nex`` tests are tried first). So ``∃`` is split over a disjunction of chains, and ``∀`` over a conjunction
# of such clauses.
_ITEM_BUG = "an `or` over a list item's fields, which durable-rules 2.0.28 evaluates by field order"
MAX_ITEM_CLAUSES = 16


def _is_nex(cond: Cond) -> bool:
    return cond.op == "leaf" and isinstance(cond.json, dict) and "$nex" in cond.json


def _tested_field(cond: Cond) -> str | None:
    """The item field (``$i.q0``, or ``$i``) a test reads, or None when it is not a single-field test."""
    if cond.op != "leaf" or not isinstance(cond.json, dict) or len(cond.json) != 1:
        return None
    ((name, body),) = cond.json.items()
    if not name.startswith("$") or name.startswith("$i"):
        return str(name)
    if isinstance(body, dict) and len(body) == 1:
        (field_name,) = body
        return str(field_name) if str(field_name).startswith("$i") else None
    return None


def _item_dnf(cond: Cond) -> list[list[Cond]]:
    """An item condition as a disjunction of conjunctions of tests."""
    return _normal_form(cond, spread="or", distribute="and")


def _item_cnf(cond: Cond) -> list[list[Cond]]:
    """An item condition as a conjunction of disjunctions of tests."""
    return _normal_form(cond, spread="and", distribute="or")


def _normal_form(cond: Cond, *, spread: str, distribute: str) -> list[list[Cond]]:
    """Clauses joined by ``spread``, each a list of tests joined by ``distribute`` (DNF or CNF, its dual)."""
    # the constant that needs no clause at all, and the one that is a single empty clause
    no_clause, empty_clause = ("false", "true") if spread == "or" else ("true", "false")
    if cond.op == spread:
        out = [clause for part in cond.parts for clause in _normal_form(part, spread=spread, distribute=distribute)]
    elif cond.op == distribute:
        out = [[]]
        for part in cond.parts:
            inner = _normal_form(part, spread=spread, distribute=distribute)
            out = [a + b for a in out for b in inner]
            if len(out) > MAX_ITEM_CLAUSES:
                raise Unsupported(_ITEM_BUG)
    elif cond.op == no_clause:
        out = []
    elif cond.op == empty_clause:
        out = [[]]
    else:
        out = [[cond]]
    if len(out) > MAX_ITEM_CLAUSES:
        raise Unsupported(_ITEM_BUG)
    return out
