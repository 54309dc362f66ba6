"""The functions an expression may call. Nothing outside this table is reachable from a pack.

Each function checks its argument types itself and raises ``Undetermined`` with a reason on a mismatch, so a
bad value in one record makes that rule undetermined instead of crashing the run.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeGuard

from svcpolicy.calendar import DeadlineBounds, deadline_bounds
from svcpolicy.errors import CalendarNotCovered
from svcpolicy.expr.env import CalendarLike, Env
from svcpolicy.expr.text_form import normal_form
from svcpolicy.expr.undetermined import Undetermined

# A deadline beyond ten years is not a service rule; the bound keeps a hostile parameter from making the
# calendar walk millions of days.
MAX_CALENDAR_DAYS = 3660


def type_name(value: object) -> str:
    """The name a pack author knows a value's type by."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, datetime):
        return "datetime" if value.tzinfo is not None else "datetime without offset"
    if isinstance(value, date):
        return "date"
    if isinstance(value, timedelta):
        return "duration"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__


def _wrong(function: str, expected: str, value: object) -> Undetermined:
    return Undetermined(f"{function}() expects {expected}, got {type_name(value)} {value!r}")


def _is_number(value: object) -> TypeGuard[int | float | Decimal]:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _aware(function: str, value: object) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise _wrong(function, "a datetime with an offset", value)
    return value


def _day(function: str, env: Env, value: object) -> date:
    """A date as is, or the calendar date of an aware datetime in the pack's time zone."""
    if type(value) is datetime:
        zone = value.tzinfo  # a record's offset is the pack's own, most often: its date needs no conversion
        if type(zone) is timezone and (zone is env.tz or zone == env.tz):
            return value.date()
    if isinstance(value, datetime):
        if type(value.tzinfo) is not timezone:  # a fixed offset, what records hold, always has one
            _aware(function, value)
        try:
            return value.astimezone(env.tz).date()
        except OverflowError:  # within hours of year 1 or 9999: no calendar day in the pack's zone
            raise Undetermined(f"{function}(): {value.isoformat()} is out of the calendar's range") from None
    if isinstance(value, date):
        return value
    raise _wrong(function, "a date or a datetime with an offset", value)


def _len(env: Env, value: object) -> int:
    if isinstance(value, (str, list, tuple, dict)):  # a tuple: ``X | Y`` makes a union object at every call
        return len(value)
    raise _wrong("len", "a list or a string", value)


def _lower(env: Env, value: object) -> str:
    if isinstance(value, str):
        return value.lower()
    raise _wrong("lower", "a string", value)


def _upper(env: Env, value: object) -> str:
    if isinstance(value, str):
        return value.upper()
    raise _wrong("upper", "a string", value)


def _normalize(env: Env, value: object) -> str:
    """Free text in the form phrase lists are written in (:mod:`svcpolicy.expr.text_form`): spaces, invisible
    characters, full-width letters and case cannot hide a phrase."""
    if isinstance(value, str):
        return normal_form(value)
    raise _wrong("normalize", "a string", value)


def code_form(text: str) -> str:
    """A code (an operation kind, a product category, an approval level) as a pack lists it: the normal form
    without the spaces around it, so ``CLOSE_ACCOUNT``, full-width ``ｆｕｎｄ`` or a code padded by a fixed-width
    export column is the code it spells, and can neither slip past a list nor be told apart from the code it
    names. The event monitor reads codes in the same form, so both judge the same facts alike."""
    return normal_form(text).strip()


def _code(env: Env, value: object) -> str | None:
    """:func:`code_form` of a text; null stays null: a code not given is in no list."""
    if value is None:
        return None
    if isinstance(value, str):
        return code_form(value)
    raise _wrong("code", "a string", value)


def _date(env: Env, value: object) -> date:
    return _day("date", env, value)


_MONTHS_KEPT = 4096
_MONTH_NAMES: dict[int, str] = {}
"""``month()``'s text by ``year * 16 + month``: formatting costs four times a lookup, and a run meets few months."""


def _month(env: Env, value: object) -> str:
    """The calendar month ("2026-11") of a date, or of an aware datetime in the pack's time zone."""
    day = _day("month", env, value)
    key = day.year * 16 + day.month
    name = _MONTH_NAMES.get(key)
    if name is None:
        if len(_MONTH_NAMES) >= _MONTHS_KEPT:
            _MONTH_NAMES.clear()
        name = _MONTH_NAMES[key] = f"{day.year:04d}-{day.month:02d}"
    return name


def _lookup(env: Env, mapping: object, key: object) -> Any:
    """A value from a mapping (a parameter table) by key; null when the key is not in it."""
    if type(mapping) is not dict and not isinstance(mapping, dict):
        raise _wrong("lookup", "a mapping as its first argument", mapping)
    if type(key) is not str and (not isinstance(key, int) or isinstance(key, bool)):
        raise _wrong("lookup", "a string or a whole number as its key", key)
    return mapping.get(key)


def _percent(env: Env, ratio: object) -> str:
    """A ratio as a percentage for a message (0.6 → ``60%``, 0.625 → ``62.5%``): one decimal, dropped when it is
    zero, so a bank-set threshold reads as set; more decimals when one would round a share to 0% or 100%."""
    if not _is_number(ratio):
        raise _wrong("percent", "a number", ratio)
    value = float(ratio) * 100
    for decimals in range(1, 5):
        shown = f"{value:.{decimals}f}"
        if value in (0, 100) or float(shown) not in (0, 100):
            break
    else:
        shown = f"{value:.1f}"
    return shown.removesuffix(".0") + "%"


def _duration(function: str, seconds: int) -> Callable[[Env, object], timedelta]:
    def duration(env: Env, amount: object) -> timedelta:
        if not _is_number(amount):
            raise _wrong(function, "a number", amount)
        try:
            return timedelta(seconds=float(amount) * seconds)
        except (OverflowError, ValueError):
            raise Undetermined(f"{function}({amount}) is out of range") from None

    return duration


def _minutes_between(env: Env, start: object, end: object) -> float:
    return (_aware("minutes_between", end) - _aware("minutes_between", start)).total_seconds() / 60


def _calendar_days(function: str, days: object) -> int:
    if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= MAX_CALENDAR_DAYS:
        raise _wrong(function, f"a whole number of days from 0 to {MAX_CALENDAR_DAYS}", days)
    return days


def _calendar_deadline(env: Env, start: object, days: object) -> date:
    day = _day("calendar_deadline", env, start)
    count = _calendar_days("calendar_deadline", days)
    try:
        return env.calendar.calendar_deadline(day, count)
    except CalendarNotCovered as exc:
        raise Undetermined(str(exc)) from None


def _latest_deadline(env: Env, start: object, days: object) -> date:
    """The last day of the period, or the latest it can be when a year involved has no known schedule."""
    day = _day("latest_deadline", env, start)
    count = _calendar_days("latest_deadline", days)
    try:
        return _bounds(env.calendar, day, count).latest
    except (CalendarNotCovered, ValueError) as exc:
        raise Undetermined(str(exc) if isinstance(exc, CalendarNotCovered) else f"latest_deadline(): {exc}") from None


_CALENDARS_KEPT = 16
_BOUNDS_KEPT = 4096
_bounds_kept: dict[int, tuple[CalendarLike, dict[tuple[date, int], DeadlineBounds]]] = {}
"""Per calendar (by identity, the calendar kept to check it), the bounds of each period met: records of a day
ask for the same few periods, and a calendar is immutable, so each walk over its working days is done once."""


def _bounds(calendar: CalendarLike, start: date, days: int) -> DeadlineBounds:
    """``deadline_bounds(calendar, start, days)``, computed once per calendar, start day and length."""
    entry = _bounds_kept.get(id(calendar))
    if entry is None or entry[0] is not calendar:
        if len(_bounds_kept) >= _CALENDARS_KEPT:
            _bounds_kept.clear()
        entry = _bounds_kept[id(calendar)] = (calendar, {})
    kept = entry[1]
    bounds = kept.get((start, days))
    if bounds is None:
        if len(kept) >= _BOUNDS_KEPT:
            kept.clear()
        bounds = kept[(start, days)] = deadline_bounds(calendar, start, days)
    return bounds


def _deadline_passed(env: Env, start: object, days: object, on: object) -> bool:
    """Whether the period has ended before day ``on``: undetermined only if an unknown schedule decides it."""
    day = _day("deadline_passed", env, start)
    count = _calendar_days("deadline_passed", days)
    judged = _day("deadline_passed", env, on)
    try:
        return _bounds(env.calendar, day, count).passed_on(judged)
    except CalendarNotCovered as exc:
        raise Undetermined(str(exc)) from None
    except ValueError as exc:
        raise Undetermined(f"deadline_passed(): {exc}") from None


def _is_working_day(env: Env, value: object) -> bool:
    day = _day("is_working_day", env, value)
    try:
        return env.calendar.is_working_day(day)
    except CalendarNotCovered as exc:
        raise Undetermined(str(exc)) from None


def _phrases(phrases: object) -> tuple[str, ...]:
    if isinstance(phrases, str):
        return (phrases,)
    if not isinstance(phrases, list | tuple) or not all(isinstance(p, str) for p in phrases):
        raise _wrong("contains_any", "a phrase or a list of phrases as its second argument", phrases)
    return tuple(phrases)


def _finder(phrases: tuple[str, ...]) -> Callable[[str], object]:
    """Whether any of ``phrases`` occurs in a text (a match, or None), in one scan: one compiled alternation
    instead of a search per phrase (``re`` skips the positions no phrase can start at). Made once per
    constant phrase list, outside the record loop."""
    if not phrases:
        return _nothing
    return re.compile("|".join(re.escape(phrase) for phrase in phrases)).search


def _nothing(text: str) -> None:
    return None


def _scan(phrases: tuple[str, ...], text: str) -> bool | None:
    """What ``_finder``'s search says, by a search per phrase: for a phrase list used once."""
    return True if any(phrase in text for phrase in phrases) else None


def _contains_any_of(phrases: object) -> Callable[[object], bool]:
    """contains_any with its phrases fixed (checked once): the common case, phrases from a parameter."""
    search = _finder(_phrases(phrases))

    def contains(haystack: object) -> bool:
        if type(haystack) is str:
            return search(haystack) is not None
        if isinstance(haystack, list | tuple) and all(isinstance(t, str) for t in haystack):
            return any(search(text) is not None for text in haystack)
        raise _wrong("contains_any", "a string or a list of strings as its first argument", haystack)

    return contains


def _contains_any(env: Env, haystack: object, phrases: object) -> bool:
    """contains_any with phrases only known per record: a search per phrase (no pattern worth compiling)."""
    fixed = _phrases(phrases)
    if type(haystack) is str:
        return any(phrase in haystack for phrase in fixed)
    if isinstance(haystack, list | tuple) and all(isinstance(t, str) for t in haystack):
        return any(phrase in text for text in haystack for phrase in fixed)
    raise _wrong("contains_any", "a string or a list of strings as its first argument", haystack)


def _contains_unnegated(env: Env, haystack: object, phrases: object, negations: object) -> bool:
    """Whether a phrase occurs somewhere no negation covers it: "不保本，但其实保本" still promises 保本."""
    return _unnegated_test(phrases, negations, compiled=False)(haystack)


def _contains_unnegated_of(phrases: object, negations: object) -> Callable[[object], bool]:
    """contains_unnegated with its phrases and negations fixed (checked once), as parameters give them."""
    return _unnegated_test(phrases, negations, compiled=True)


def _unnegated_test(phrases: object, negations: object, *, compiled: bool) -> Callable[[object], bool]:
    """The test of contains_unnegated; ``compiled`` when it is kept for many texts (worth a compiled pattern)."""
    wanted = tuple(p for p in _phrases(phrases) if p)
    negating = tuple(n for n in _phrases(negations) if n)
    search = _finder(wanted) if compiled else functools.partial(_scan, wanted)

    def contains(haystack: object) -> bool:
        # most texts hold no phrase at all: one scan says so, and only the others are read phrase by phrase
        if type(haystack) is str:  # one text, the common case: no generator to make (it costs more than the scan)
            return search(haystack) is not None and _unnegated_in(haystack, wanted, negating)
        if isinstance(haystack, list | tuple) and all(isinstance(t, str) for t in haystack):
            return any(search(text) is not None and _unnegated_in(text, wanted, negating) for text in haystack)
        raise _wrong("contains_unnegated", "a string or a list of strings as its first argument", haystack)

    return contains


def _unnegated_in(text: str, phrases: tuple[str, ...], negations: tuple[str, ...]) -> bool:
    found = [(i, phrase) for phrase in phrases if phrase in text for i in _occurrences(text, phrase)]
    if not found:  # the common case: no banned phrase at all, so no negation needs looking for
        return False
    covered = [(i, i + len(neg)) for neg in negations if neg in text for i in _occurrences(text, neg)]
    return any(not any(lo <= i and i + len(phrase) <= hi for lo, hi in covered) for i, phrase in found)


def _occurrences(text: str, phrase: str) -> list[int]:
    found, i = [], text.find(phrase)
    while i >= 0:
        found.append(i)
        i = text.find(phrase, i + 1)
    return found


@dataclass(frozen=True, slots=True)
class Function:
    """A callable the language exposes; ``impl`` receives the environment then the evaluated arguments."""

    arity: int
    impl: Callable[..., Any]
    signature: str
    specialize: Callable[..., Callable[[Any], Any]] | None = None
    """Build a one-argument version once every argument after the first is a constant (checked once)."""


CALENDAR_FUNCTIONS = frozenset(
    {"date", "calendar_deadline", "latest_deadline", "deadline_passed", "is_working_day", "minutes_between"}
)
"""Functions of dates and the holiday calendar: arithmetic no rule engine without a calendar can do."""

FUNCTIONS: dict[str, Function] = {
    "len": Function(1, _len, "len(x)"),
    "lower": Function(1, _lower, "lower(s)"),
    "upper": Function(1, _upper, "upper(s)"),
    "normalize": Function(1, _normalize, "normalize(s)"),
    "code": Function(1, _code, "code(s)"),
    "date": Function(1, _date, "date(t)"),
    "month": Function(1, _month, "month(t)"),
    "lookup": Function(2, _lookup, "lookup(mapping, key)"),
    "percent": Function(1, _percent, "percent(ratio)"),
    "days": Function(1, _duration("days", 86400), "days(n)"),
    "hours": Function(1, _duration("hours", 3600), "hours(n)"),
    "minutes": Function(1, _duration("minutes", 60), "minutes(n)"),
    "minutes_between": Function(2, _minutes_between, "minutes_between(a, b)"),
    "calendar_deadline": Function(2, _calendar_deadline, "calendar_deadline(start, n)"),
    "is_working_day": Function(1, _is_working_day, "is_working_day(d)"),
    "contains_any": Function(2, _contains_any, "contains_any(text_or_list, phrases)", _contains_any_of),
    "contains_unnegated": Function(
        3, _contains_unnegated, "contains_unnegated(text_or_list, phrases, negations)", _contains_unnegated_of
    ),
    "latest_deadline": Function(2, _latest_deadline, "latest_deadline(start, n)"),
    "deadline_passed": Function(3, _deadline_passed, "deadline_passed(start, n, day)"),
}
