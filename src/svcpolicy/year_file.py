"""A supplementary holiday year file: its model and how it is read, imported only when a year file is given.

Split from :mod:`svcpolicy.calendar` because defining the pydantic model costs milliseconds at every import, and
most runs read no year file (they use the official schedule, cached).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Hashable, Iterable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from svcpolicy.bounded_read import read_at_most
from svcpolicy.errors import SourceLocation, YearFileError, shown_loc

if TYPE_CHECKING:  # the YAML parser is imported when a year file is read
    import yaml

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: object) -> date:
    """Accept only ``YYYY-MM-DD`` text, so a typo cannot become a plausible date (no timestamps, no ints)."""
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError(f"expected a date written YYYY-MM-DD, got {value!r}")
    return date.fromisoformat(value)


IsoDate = Annotated[date, BeforeValidator(_iso_date)]


class YearFile(BaseModel):
    """One year's State Council holiday notice, transcribed so a bank need not wait for a package release."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)  # validated only when a file is given

    year: Annotated[int, Field(strict=True, ge=1950, le=9999)]
    source: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    days_off: tuple[IsoDate, ...]
    working_days: tuple[IsoDate, ...]

    @field_validator("days_off", "working_days")
    @classmethod
    def _dates_belong_to_the_notice(cls, days: tuple[date, ...], info: ValidationInfo) -> tuple[date, ...]:
        """A notice for year Y settles days of Y, and at most swaps some days of the December before it."""
        if info.field_name == "days_off" and not days:
            raise ValueError("a notice gives at least one day off")
        repeated = sorted({d for d in days if days.count(d) > 1})
        if repeated:
            raise ValueError(f"listed more than once: {listed_dates(repeated)}")
        year = info.data.get("year")
        if isinstance(year, int):
            stray = [d for d in days if not (d.year == year or (d.year == year - 1 and d.month == 12))]
            if stray:
                raise ValueError(f"not in {year} (nor December {year - 1}): {listed_dates(stray)}")
        return days

    @field_validator("working_days")
    @classmethod
    def _working_days_are_swapped_weekend_days(cls, days: tuple[date, ...], info: ValidationInfo) -> tuple[date, ...]:
        """Weekdays are working days anyway; listing one here is a transcription error."""
        weekdays = [d for d in days if d.weekday() < 5]
        if weekdays:
            raise ValueError(f"not a Saturday or Sunday: {listed_dates(weekdays)}")
        both = sorted(set(days) & set(info.data.get("days_off", ())))
        if both:
            raise ValueError(f"also listed in days_off: {listed_dates(both)}")
        return days


def listed_dates(days: Iterable[date]) -> str:
    """Dates as a message lists them."""
    return ", ".join(d.isoformat() for d in days)


@functools.cache
def _year_file_loader() -> type[yaml.SafeLoader]:
    """Safe YAML that keeps dates as text (validated by :func:`_iso_date`) and rejects repeated keys; made on the
    first year file read, so that a run with none never imports the YAML parser."""
    import yaml

    class YearFileLoader(yaml.SafeLoader):
        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
            seen: set[str] = set()
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    if key_node.value in seen:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"key {key_node.value!r} appears twice", key_node.start_mark
                        )
                    seen.add(key_node.value)
            return super().construct_mapping(node, deep)

    YearFileLoader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return YearFileLoader


MAX_YEAR_FILE_BYTES = 1024 * 1024
"""A year file is one notice, a few kilobytes; one larger than this is refused."""


def load_year_file(path: Path) -> YearFile:
    """Read and validate one supplementary year file; every problem is reported against the file."""
    try:
        raw = read_at_most(path, MAX_YEAR_FILE_BYTES)
        if raw is None:
            raise YearFileError(
                f"holiday year file is more than {MAX_YEAR_FILE_BYTES:,} bytes, the limit", SourceLocation(str(path))
            )
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise YearFileError(f"cannot read holiday year file: {exc}", SourceLocation(str(path))) from None
    import yaml

    loader = _year_file_loader()(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = SourceLocation(str(path), mark.line + 1, mark.column + 1) if mark else SourceLocation(str(path))
        raise YearFileError(f"not valid YAML: {exc.problem or exc.context}", where) from None
    finally:
        loader.dispose()
    try:
        return YearFile.model_validate(data)
    except ValidationError as exc:
        problems = [
            (
                _line_of(root, err["loc"]),
                _field_path(shown_loc(err["loc"], err["type"])),
                err["msg"].removeprefix("Value error, "),
            )
            for err in exc.errors()
        ]
        if len(problems) == 1:
            line, field, message = problems[0]
            raise YearFileError(f"{field}: {message}", SourceLocation(str(path), line)) from None
        listing = "\n".join(f"  line {line}: {field}: {message}" for line, field, message in problems)
        raise YearFileError(
            f"{len(problems)} problems in holiday year file:\n{listing}", SourceLocation(str(path))
        ) from None


def _field_path(loc: tuple[int | str, ...]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".") or "file"


def _line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int:
    """The 1-based line of the deepest YAML node the error path reaches (0 for an empty file)."""
    import yaml  # already imported by load_year_file, the caller

    if node is None:
        return 0
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node = child
    return node.start_mark.line + 1
