"""The validator of a ``[tool.svcpolicy]`` table, as pydantic model: imported only when a project has one.

Kept apart from :mod:`svcpolicy.cli.config` because defining a pydantic model costs milliseconds at every import,
and most runs of a hook find no table to validate (they use :class:`~svcpolicy.cli.config.ConfigValues`' defaults).
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator

from svcpolicy.records.model import Interaction
from svcpolicy.severity import Severity


def record_kinds() -> tuple[str, ...]:
    """The record kinds the record model knows (``interaction``)."""
    annotation = Interaction.__annotations__["kind"]
    while get_args(annotation) and not isinstance(get_args(annotation)[0], str):
        annotation = get_args(annotation)[0]
    return tuple(arg for arg in get_args(annotation) if isinstance(arg, str))


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class ProjectConfig(BaseModel):
    """The keys of ``[tool.svcpolicy]``, validated; the same names and defaults as ``ConfigValues``."""

    # defer_build: building at definition also makes pydantic scan every installed package for plugins
    # (importlib.metadata), which only the validation of a table needs
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    pack: str | None = None
    packs: list[str] = []
    fail_on: Severity | None = None
    fail_on_undetermined: StrictBool | None = None  # strict: TOML has true and false; `jobs = true` is a slip
    fail_on_stale_waivers: StrictBool | None = None
    format: str | None = None
    output: list[Annotated[str, Field(pattern=r"^[a-z]+=.+$")]] = []
    lang: Literal["zh", "en"] | None = None
    encoding: str | None = None
    jobs: Annotated[StrictInt, Field(ge=0)] | None = None
    waivers: list[str] = []
    baseline: str | None = None
    holidays: list[str] = []
    records: dict[str, list[str]] = {}

    _lists = field_validator("packs", "waivers", "output", "holidays", mode="before")(_as_list)

    @field_validator("records", mode="before")
    @classmethod
    def _record_globs(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: _as_list(v) for k, v in value.items()}
        return value

    @field_validator("records")
    @classmethod
    def _known_kinds(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        kinds = record_kinds()
        for kind in value:
            if kind not in kinds:
                import difflib  # only for an unknown kind: a valid configuration never needs it

                hint = difflib.get_close_matches(kind, kinds, n=1)
                extra = f" (did you mean {hint[0]!r}?)" if hint else f" (known: {', '.join(kinds)})"
                raise ValueError(f"unknown record kind {kind!r}{extra}")
        for pattern in (pattern for globs in value.values() for pattern in globs):
            if not pattern or PurePath(pattern).is_absolute():
                raise ValueError(f"a record glob is a pattern relative to this file's folder, not {pattern!r}")
        return value
