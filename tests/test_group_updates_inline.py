"""The accumulator updates written inline (``GroupLayout.update_lines``, run by ``GroupLayout.add`` and by the
generated feeds) leave a group's slots exactly as the update functions of ``svcpolicy.engine.accumulators`` do,
for any values: the same totals, the same float or exact-integer floats slot, the same distinct values, and a
TypeError at the same member, after the same partial update."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from svcpolicy.engine import accumulators
from svcpolicy.engine.accumulators import SMALL_DISTINCT, GroupLayout

VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**60), 2**60),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1.0, 2.0**52, 2.0**53, -(2.0**53), 1e300, 0.5, math.inf, -math.inf, math.nan]),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, max_value=10**6, min_value=-(10**6)),
    st.sampled_from([Decimal("sNaN"), Decimal("NaN"), "text", "", 3]),
)


def _comparable(slot: Any) -> Any:
    """A slot as a value that compares NaNs equal, and sets by their members."""
    if isinstance(slot, float) and math.isnan(slot):
        return "float nan"
    if isinstance(slot, Decimal) and slot.is_nan():
        return f"decimal {slot!r}"
    if isinstance(slot, set):
        return ("set", sorted(map(repr, slot)))
    if isinstance(slot, tuple | list):
        return (type(slot).__name__, [_comparable(part) for part in slot])
    return (type(slot).__name__, slot)


def _fed(values: list[Any], add: Any) -> list[Any]:
    """Each value added in turn; the kind of error a refused one raises (TypeError: left out of its group; a
    signalling NaN decimal's InvalidOperation) is noted and the stream goes on."""
    outcomes = []
    for value in values:
        try:
            add(value)
        except (TypeError, ArithmeticError) as exc:
            outcomes.append(type(exc).__name__)
        else:
            outcomes.append("taken")
    return outcomes


@settings(max_examples=300, deadline=None)
@given(
    function=st.sampled_from(["sum", "avg", "share", "distinct", "min", "max"]),
    values=st.lists(VALUES, max_size=3 * SMALL_DISTINCT),
)
def test_inline_updates_leave_the_slots_the_update_functions_leave(function: str, values: list[Any]) -> None:
    layout = GroupLayout([function], ref_stride=1)
    (offset,) = layout.offsets
    update = accumulators._FUNCTIONS[function].update
    assert update is not None
    inline, by_function = layout.new(), layout.new()
    taken_inline = _fed(values, lambda value: layout.add(inline, (value,)))
    taken_by_function = _fed(values, lambda value: update(by_function, offset, value))
    assert taken_inline == taken_by_function
    assert [_comparable(slot) for slot in inline] == [_comparable(slot) for slot in by_function]
