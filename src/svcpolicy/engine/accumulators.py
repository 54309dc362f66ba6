"""A group's running state as one flat list: member counts, capped member references, fixed-size accumulators.

One list per group (no object per aggregate) keeps a group to a few hundred bytes, so a run can hold many groups
before it spills (``svcpolicy.engine.spill``). ``GroupLayout`` knows where each aggregate's slots sit, how a member
updates them, how the state of a later part of the stream folds in (``fold``: what one pass over both parts would
hold) and what the aggregates' values are when the input ends.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

MAX_MEMBER_REFS = 10
MAX_DISTINCT = 100_000
SMALL_DISTINCT = 8
"""Up to this many distinct values are kept in a tuple (48 bytes for one) rather than a set (216 bytes even empty)."""

MEMBERS, LEFT_OUT, FIRST_REF, FIRST_INDEX, MORE_REFS = 0, 1, 2, 3, 4
"""A group's state: members counted, members left out, the first member's reference and item index (most groups
of a rule with very many groups have one member: no list for them), the further references (None, or a flat list of
references, each followed by its item index with ``for_each``), then the accumulators' slots."""

State = list[Any]
Updater = Callable[[State, int, Any], None]
Folder = Callable[[State, State, int], None]

_FLOAT_SCALE_BITS = 1074
"""Every finite float is an integer multiple of 2**-1074, so floats are summed exactly as integers of that unit:
the total is then the same however the stream was split and merged (float addition is not associative)."""


_WHOLE_FLOATS_BELOW = 2.0**53
"""While the floats summed are whole numbers and their total stays below this in size, float addition is exact
(and so the same in any order): a sum's floats slot then holds that float total, cheaper to add than the exact
integer and smaller to keep (24 bytes against about 170). A fraction, or a larger total, turns the slot into the
exact integer."""


def _exact_float(value: float) -> int:
    numerator, denominator = value.as_integer_ratio()
    return numerator << (_FLOAT_SCALE_BITS + 1 - denominator.bit_length())


def _exact_floats(floats: float | int | None) -> int:
    """A floats slot as the exact integer of 2**-1074 units."""
    if floats is None:
        return 0
    return floats if type(floats) is int else _exact_float(floats)


def _floats_plus(floats: float | int | None, value: float) -> float | int:
    """A floats slot with one finite float added, exactly: a float total while both are whole and the total
    stays below ``_WHOLE_FLOATS_BELOW``, else the exact integer."""
    if type(floats) is not int and value.is_integer():
        total = (floats or 0.0) + value
        if -_WHOLE_FLOATS_BELOW < total < _WHOLE_FLOATS_BELOW:
            return total
    return _exact_floats(floats) + _exact_float(value)


# -- updates: one member's value into its aggregate's slots ------------------------------------------------------


def _add_sum(state: State, i: int, value: Any) -> None:
    """Slots: exact total of non-floats, then the floats' exact total (None until the first; see
    ``_WHOLE_FLOATS_BELOW``)."""
    if value is not None:
        if type(value) is float and math.isfinite(value):
            state[i + 1] = _floats_plus(state[i + 1], value)
        else:
            state[i] += value


def _add_avg(state: State, i: int, value: Any) -> None:
    """Slots: a sum's two, then the values counted."""
    if value is not None:
        _add_sum(state, i, value)
        state[i + 2] += 1


def _add_share(state: State, i: int, value: Any) -> None:
    state[i] += value is True
    state[i + 1] += 1


def _add_distinct(state: State, i: int, value: Any) -> None:
    """A tuple while the values are few, a set (capped at MAX_DISTINCT) beyond."""
    if value is None:
        return
    seen = state[i]
    if type(seen) is tuple:
        if type(value) not in _HASHABLE or (type(value) is Decimal and value.is_snan()):
            hash(value)  # an unhashable value cannot be counted, as with a set
        if value not in seen:
            state[i] = (*seen, value) if len(seen) < SMALL_DISTINCT else {*seen, value}
    elif len(seen) < MAX_DISTINCT:
        seen.add(value)


_HASHABLE = frozenset({str, int, float, bool, Decimal})
"""Types whose values hash (but a signalling NaN decimal): ``distinct`` probes the others with ``hash`` while it
keeps its values in a tuple, which compares them without hashing (hashing a fresh Decimal costs a microsecond)."""


def _add_min(state: State, i: int, value: Any) -> None:
    if value is not None and (state[i] is None or value < state[i]):
        state[i] = value


def _add_max(state: State, i: int, value: Any) -> None:
    if value is not None and (state[i] is None or value > state[i]):
        state[i] = value


def _add_peak(state: State, i: int, value: Any) -> None:
    """Slot: the events as one flat list (when, change, when, change, …), () before the first, None once there are
    too many to order."""
    if not isinstance(value, list | tuple) or len(value) != 2 or value[0] is None:
        raise TypeError("peak() takes a pair (when, change) with a known time")
    at, change = value
    if isinstance(change, bool) or not isinstance(change, int | float | Decimal):
        raise TypeError("peak()'s change is a number")
    events = state[i]
    if events is None:
        return
    if type(events) is tuple:
        state[i] = [at, change]
        return
    events += (at, change)
    if len(events) > 2 * MAX_DISTINCT:
        state[i] = None  # too many to order: the result is unknown rather than a guess


# -- folds: the same group's state from a later part of the stream ------------------------------------------------


def _fold_sum(mine: State, theirs: State, i: int) -> None:
    mine[i] += theirs[i]
    floats, later = mine[i + 1], theirs[i + 1]
    if floats is None or later is None:
        mine[i + 1] = later if floats is None else floats
    elif type(floats) is float and type(later) is float and -_WHOLE_FLOATS_BELOW < floats + later < _WHOLE_FLOATS_BELOW:
        mine[i + 1] = floats + later
    else:
        mine[i + 1] = _exact_floats(floats) + _exact_floats(later)


def _fold_avg(mine: State, theirs: State, i: int) -> None:
    _fold_sum(mine, theirs, i)
    mine[i + 2] += theirs[i + 2]


def _fold_share(mine: State, theirs: State, i: int) -> None:
    mine[i] += theirs[i]
    mine[i + 1] += theirs[i + 1]


def _fold_distinct(mine: State, theirs: State, i: int) -> None:
    """Only the size is read: capped at MAX_DISTINCT, it is min(cap, distinct values) as in one pass."""
    merged = {*mine[i], *theirs[i]}
    if len(merged) <= SMALL_DISTINCT:
        mine[i] = tuple(merged)
    elif len(merged) <= MAX_DISTINCT:
        mine[i] = merged
    else:
        mine[i] = set(list(merged)[:MAX_DISTINCT])


def _fold_min(mine: State, theirs: State, i: int) -> None:
    """Ties keep the earlier value, as ``_add_min`` does."""
    if theirs[i] is not None and (mine[i] is None or theirs[i] < mine[i]):
        mine[i] = theirs[i]


def _fold_max(mine: State, theirs: State, i: int) -> None:
    if theirs[i] is not None and (mine[i] is None or theirs[i] > mine[i]):
        mine[i] = theirs[i]


def _fold_peak(mine: State, theirs: State, i: int) -> None:
    events, later = mine[i], theirs[i]
    if events is None or later is None or len(events) + len(later) > 2 * MAX_DISTINCT:
        mine[i] = None
    elif later:
        mine[i] = [*events, *later]


# -- values when the input ends -----------------------------------------------------------------------------------


def _sum(state: State, i: int) -> Any:
    """A sum's value: exact for integers and decimals, correctly rounded for floats."""
    total, floats = state[i], state[i + 1]
    if floats is None:
        return total
    try:  # a float total is exact (whole floats below _WHOLE_FLOATS_BELOW)
        rounded = floats if type(floats) is float else floats / (1 << _FLOAT_SCALE_BITS)  # int / int: correctly rounded
    except OverflowError:  # past the largest float: infinite, as adding the floats one by one gives
        rounded = math.inf if floats > 0 else -math.inf
    if isinstance(total, Decimal):
        return total + Decimal(rounded)
    return total + rounded


def _avg(state: State, i: int) -> Any:
    return _sum(state, i) / state[i + 2] if state[i + 2] else None


def _share(state: State, i: int) -> Any:
    return state[i] / state[i + 1] if state[i + 1] else None


def _distinct(state: State, i: int) -> int:
    return len(state[i])


def _peak(state: State, i: int) -> Any:
    """The highest running total of the changes taken in time order (decreases first at equal times), from 0."""
    events = state[i]
    if events is None:
        return None
    try:
        ordered = sorted(zip(events[::2], events[1::2], strict=True), key=lambda event: (event[0], event[1]))
    except TypeError:  # times of different kinds (a date and a datetime) have no order
        return None
    running = highest = 0
    for _, change in ordered:
        running += change
        highest = max(highest, running)
    return highest


def _count(state: State, i: int) -> int:
    return int(state[MEMBERS])


def _slot(state: State, i: int) -> Any:
    return state[i]


class _Function:
    """How one aggregate function keeps its slots: their initial values (immutable, so a template list can be
    copied shallowly), the update, the fold and the final value."""

    __slots__ = ("fold", "initial", "update", "value")

    def __init__(
        self, initial: tuple[Any, ...], update: Updater | None, fold: Folder | None, value: Callable[[State, int], Any]
    ) -> None:
        self.initial = initial
        self.update = update
        self.fold = fold
        self.value = value


_FUNCTIONS: dict[str, _Function] = {
    "count": _Function((), None, None, _count),
    "sum": _Function((0, None), _add_sum, _fold_sum, _sum),
    "avg": _Function((0, None, 0), _add_avg, _fold_avg, _avg),
    "share": _Function((0, 0), _add_share, _fold_share, _share),
    "distinct": _Function(((),), _add_distinct, _fold_distinct, _distinct),
    "min": _Function((None,), _add_min, _fold_min, _slot),
    "max": _Function((None,), _add_max, _fold_max, _slot),
    "peak": _Function(((),), _add_peak, _fold_peak, _peak),
}


class GroupLayout:
    """The slots of one aggregate rule's groups, from its aggregate functions in order (``count`` has none)."""

    def __init__(self, functions: Sequence[str], ref_stride: int) -> None:
        """``ref_stride`` is 1 when a member is a record, 2 when it is an item (record reference, item index)."""
        self.functions = tuple(functions)
        self.ref_stride = ref_stride
        self.more_refs_cap = (MAX_MEMBER_REFS - 1) * ref_stride
        template: list[Any] = [0, 0, None, None, None]
        offsets: list[int] = []
        for function in self.functions:
            offsets.append(len(template))
            template.extend(_FUNCTIONS[function].initial)
        self.template = template
        self.offsets = tuple(offsets)
        self.updates = tuple(
            (offset, update)
            for function, offset in zip(self.functions, offsets, strict=True)
            if (update := _FUNCTIONS[function].update) is not None
        )
        self.folds = tuple(
            (offset, fold)
            for function, offset in zip(self.functions, offsets, strict=True)
            if (fold := _FUNCTIONS[function].fold) is not None
        )
        self.values = tuple(
            (offset, _FUNCTIONS[function].value) for function, offset in zip(self.functions, offsets, strict=True)
        )
        self.add = _adder(self)

    def new(self) -> State:
        return self.template.copy()

    def update_lines(self, state: str, values: Sequence[str], bind: Callable[[Any], str]) -> list[str]:
        """Python statements adding one member's values (local names, one per update, in order) into the group
        ``state``: what ``add`` runs, for a generated feed to write inline. ``bind`` names an object the statements
        call (in the generated code's namespace). They raise TypeError as the update functions do (e.g. sum over
        text), after the updates before it took effect."""
        lines: list[str] = []
        for (offset, update), value in zip(self.updates, values, strict=True):
            inline = _INLINE.get(update)
            if inline is None:
                lines.append(f"{bind(update)}({state}, {offset:d}, {value})")
            else:
                lines.extend(inline(state, offset, value, bind))
        return lines

    def counted_lines(self, state: str, ref: str, index: str) -> list[str]:
        """Python statements counting a member into the group ``state`` and keeping its reference while the group
        has fewer than MAX_MEMBER_REFS: ``keep_ref`` inline, for a generated feed. A group that counted
        MAX_MEMBER_REFS members holds as many references (each member and left-out member offers its reference
        while there is room, and ``fold`` keeps as many as both parts'), so a big group's member costs one test
        of the count it reads anyway instead of ``keep_ref``'s three and a ``len``."""
        kept = f"{ref}, {index}" if self.ref_stride == 2 else ref
        grow = f"more += ({kept})" if self.ref_stride == 2 else f"more.append({ref})"
        return [
            f"members = {state}[{MEMBERS:d}]",
            f"if members < {MAX_MEMBER_REFS:d}:",
            f"    if {state}[{FIRST_REF:d}] is None:",
            f"        {state}[{FIRST_REF:d}] = {ref}",
            f"        {state}[{FIRST_INDEX:d}] = {index}",
            "    else:",
            f"        more = {state}[{MORE_REFS:d}]",
            "        if more is None:",
            f"            {state}[{MORE_REFS:d}] = [{kept}]",
            f"        elif len(more) < {self.more_refs_cap:d}:",
            f"            {grow}",
            f"{state}[{MEMBERS:d}] = members + 1",
        ]

    def keep_ref(self, state: State, ref: Any, index: int | None) -> None:
        """Keep a member's reference (and item index) while the group has fewer than MAX_MEMBER_REFS."""
        if state[FIRST_REF] is None:
            state[FIRST_REF] = ref
            state[FIRST_INDEX] = index
            return
        more = state[MORE_REFS]
        if more is None:
            state[MORE_REFS] = [ref] if self.ref_stride == 1 else [ref, index]
        elif len(more) < self.more_refs_cap:
            if self.ref_stride == 1:
                more.append(ref)
            else:
                more += (ref, index)

    def refs(self, state: State) -> list[tuple[Any, int | None]]:
        """The kept member references with their item indexes (None for records), first member first."""
        if state[FIRST_REF] is None:
            return []
        kept: list[tuple[Any, int | None]] = [(state[FIRST_REF], state[FIRST_INDEX])]
        more = state[MORE_REFS] or ()
        if self.ref_stride == 1:
            kept.extend((ref, None) for ref in more)
        else:
            kept.extend(zip(more[::2], more[1::2], strict=True))
        return kept

    def fold(self, mine: State, later: State) -> None:
        """Fold in the same group's state from a later part of the stream: first references kept, ties earlier."""
        mine[MEMBERS] += later[MEMBERS]
        mine[LEFT_OUT] += later[LEFT_OUT]
        if mine[FIRST_REF] is None:
            mine[FIRST_REF], mine[FIRST_INDEX], mine[MORE_REFS] = later[FIRST_REF], later[FIRST_INDEX], later[MORE_REFS]
        elif later[FIRST_REF] is not None and len(mine[MORE_REFS] or ()) < self.more_refs_cap:
            for ref, index in self.refs(later):
                self.keep_ref(mine, ref, index)
        for offset, fold in self.folds:
            fold(mine, later, offset)

    def results(self, state: State) -> list[Any]:
        """Each aggregate's value, in the rule's order."""
        return [value(state, offset) for offset, value in self.values]


def _adder(layout: GroupLayout) -> Callable[[State, tuple[Any, ...]], None]:
    """One member's values (one per aggregate that reads a value, in order) into a group's slots, as one function
    written for this layout: it runs for every member, and a call per aggregate cost as much as the updates. The
    common updates are inlined (the same statements as their functions, so they raise the same TypeErrors at the
    same point); the others are called."""
    namespace: dict[str, Any] = {}

    def bind(value: Any) -> str:
        name = f"k{len(namespace):d}"
        namespace[name] = value
        return name

    values = [f"v{position:d}" for position in range(len(layout.updates))]
    lines = ["def add(state, values):"]
    if values:
        lines.append(f"    {''.join(f'{value}, ' for value in values)}= values")
    lines.extend(f"    {line}" for line in layout.update_lines("state", values, bind))
    lines.append("    return None")
    exec(compile("\n".join(lines), "<svcpolicy group layout>", "exec"), namespace)  # noqa: S102 - our own text
    add: Callable[[State, tuple[Any, ...]], None] = namespace["add"]
    return add


Inline = Callable[[str, int, str, Callable[[Any], str]], list[str]]
"""The statements of an update on a group ``state``'s slots from ``offset``, for a value local, binding the
helpers they call by name."""


def _inline_sum(state: str, i: int, v: str, bind: Callable[[Any], str], counted: bool = False) -> list[str]:
    """``_add_sum`` (and ``_add_avg``'s count when ``counted``) as statements, ``_floats_plus``'s float total
    written out. A float is tested first: a whole one (so finite) takes the float total without ``isfinite``; a
    non-finite one goes to the total, as in ``_add_sum``."""
    below = bind(_WHOLE_FLOATS_BELOW)
    count = [f"    {state}[{i + 2:d}] += 1"] if counted else []
    return [
        f"if type({v}) is float:",
        f"    floats = {state}[{i + 1:d}]",
        f"    if {v}.is_integer() and type(floats) is not int"
        f" and -{below} < (floats := (floats or 0.0) + {v}) < {below}:",
        f"        {state}[{i + 1:d}] = floats",
        f"    elif {bind(math.isfinite)}({v}):",
        f"        {state}[{i + 1:d}] = {bind(_floats_plus)}({state}[{i + 1:d}], {v})",
        "    else:",
        f"        {state}[{i:d}] += {v}",
        *count,
        f"elif {v} is not None:",
        f"    {state}[{i:d}] += {v}",
        *count,
    ]


def _inline_avg(state: str, i: int, v: str, bind: Callable[[Any], str]) -> list[str]:
    return _inline_sum(state, i, v, bind, counted=True)


def _inline_share(state: str, i: int, v: str, bind: Callable[[Any], str]) -> list[str]:
    return [f"{state}[{i:d}] += {v} is True", f"{state}[{i + 1:d}] += 1"]


def _inline_min(state: str, i: int, v: str, bind: Callable[[Any], str]) -> list[str]:
    return [f"if {v} is not None and ({state}[{i:d}] is None or {v} < {state}[{i:d}]):", f"    {state}[{i:d}] = {v}"]


def _inline_max(state: str, i: int, v: str, bind: Callable[[Any], str]) -> list[str]:
    return [f"if {v} is not None and ({state}[{i:d}] is None or {v} > {state}[{i:d}]):", f"    {state}[{i:d}] = {v}"]


def _inline_distinct(state: str, i: int, v: str, bind: Callable[[Any], str]) -> list[str]:
    """``_add_distinct`` as statements, the slot read once."""
    return [
        f"if {v} is not None:",
        f"    seen = {state}[{i:d}]",
        "    if type(seen) is tuple:",
        f"        if type({v}) not in {bind(_HASHABLE)} or (type({v}) is {bind(Decimal)} and {v}.is_snan()):",
        f"            hash({v})",
        f"        if {v} not in seen:",
        f"            {state}[{i:d}] = (*seen, {v}) if len(seen) < {SMALL_DISTINCT:d} else {{*seen, {v}}}",
        f"    elif len(seen) < {MAX_DISTINCT:d}:",
        f"        seen.add({v})",
    ]


_INLINE: dict[Updater, Inline] = {
    _add_sum: _inline_sum,
    _add_avg: _inline_avg,
    _add_share: _inline_share,
    _add_distinct: _inline_distinct,
    _add_min: _inline_min,
    _add_max: _inline_max,
}
"""The updates written inline (by ``_adder`` and generated feeds), as the statements of their functions above."""
