"""Immutable value classes that cost nothing to define.

A frozen dataclass ``exec``s generated source for each of its methods when its class is defined: about a
millisecond a class, paid by every run however short (a pre-commit check of one record defines dozens). A
:class:`Frozen` subclass names its fields once and shares these methods instead.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from operator import attrgetter
from typing import Any, ClassVar


class Frozen:
    """Immutable, compared, hashed and shown by the fields its class names in ``_fields``, as a frozen dataclass.

    A subclass sets its fields in ``__init__`` with ``self.__dict__.update(...)`` (past the ``__setattr__`` that
    refuses assignment); attributes not named in ``_fields`` take no part in equality. Fields live in the
    instance's ``__dict__``, so pickling needs no method of its own; a subclass with ``__slots__`` (no
    ``__dict__``) sets them with ``object.__setattr__`` and pickles by a ``__reduce__`` of its own.
    """

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    _compared: ClassVar[Any]
    """Reads the fields equality and the hash compare (one field's value alone, a tuple of several)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._compared = attrgetter(*cls._fields) if cls._fields else _no_fields

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        compared = type(self)._compared
        return bool(compared(self) == compared(other))

    def __hash__(self) -> int:
        return hash(type(self)._compared(self))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__qualname__}({shown})"

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")


def _no_fields(value: Frozen) -> tuple[()]:
    """What a value without fields compares: nothing, so any two of its class are equal."""
    return ()
