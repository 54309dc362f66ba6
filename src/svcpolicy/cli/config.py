"""Project configuration: ``[tool.svcpolicy]`` in the project's ``pyproject.toml``.

```toml
[tool.svcpolicy]
pack = "compliance/branch-sh"          # what `svcpolicy check` evaluates against (a path or a bundled name)
packs = ["compliance/branch-sh"]       # what `svcpolicy lint` / `svcpolicy test` check (default: pack)
fail_on = "high"
fail_on_undetermined = false
format = "text"
output = ["sarif=reports/svcpolicy.reporting.sarif", "junit=reports/svcpolicy.xml"]
lang = "zh"
waivers = "compliance/waivers.yaml"    # or a list of files
baseline = "compliance/baseline.json"
holidays = ["calendars/cn-2027.yaml"]   # holiday year files added to the official calendar (docs/holidays.md)

[tool.svcpolicy.records]                # record kind -> globs of the files holding such records
interaction = ["exports/**/*.jsonl", "fixtures/*.yaml"]
```

Paths are relative to the directory of ``pyproject.toml``. Command-line flags override every key. The file is
found by walking up from the working directory to the first ``pyproject.toml`` with a ``[tool.svcpolicy]``
table; ``--config FILE`` names one, ``--no-config`` ignores it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from svcpolicy.errors import LocatedError, SourceLocation
from svcpolicy.pack.schema import Severity
from svcpolicy.records.model import Interaction

PYPROJECT = "pyproject.toml"
SECTION = ("tool", "svcpolicy")


class ConfigError(LocatedError):
    """``[tool.svcpolicy]`` is malformed."""


def record_kinds() -> tuple[str, ...]:
    """The record kinds the record model knows (``interaction``)."""
    annotation = Interaction.__annotations__["kind"]
    while get_args(annotation) and not isinstance(get_args(annotation)[0], str):
        annotation = get_args(annotation)[0]
    return tuple(arg for arg in get_args(annotation) if isinstance(arg, str))


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class ProjectConfig(BaseModel):
    """The keys of ``[tool.svcpolicy]``."""

    # defer_build: built when a project has a [tool.svcpolicy] table; building at import also makes pydantic scan
    # every installed package for plugins (importlib.metadata), which a run without a table should not pay for
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    pack: str | None = None
    packs: list[str] = []
    fail_on: Severity | None = None
    fail_on_undetermined: bool | None = None
    fail_on_stale_waivers: bool | None = None
    format: str | None = None
    output: list[Annotated[str, Field(pattern=r"^[a-z]+=.+$")]] = []
    lang: Literal["zh", "en"] | None = None
    encoding: str | None = None
    jobs: Annotated[int, Field(ge=0)] | None = None
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
        return value


@dataclass(frozen=True)
class Config:
    """A loaded configuration and where it came from; an empty one when there is none."""

    # the defaults need no validation: constructed, so a run without a configuration never builds the validator
    values: ProjectConfig = field(default_factory=ProjectConfig.model_construct)
    file: Path | None = None

    @property
    def root(self) -> Path:
        return self.file.parent if self.file is not None else Path.cwd()

    def path(self, value: str) -> Path:
        """A path from the file, relative to its directory."""
        path = Path(value)
        return path if path.is_absolute() else self.root / path

    def pack(self) -> str | None:
        """The pack for ``check``: a path relative to the file when it exists there, else a bundled name."""
        return self._pack_ref(self.values.pack) if self.values.pack else None

    def packs(self) -> list[str]:
        """The packs for ``lint`` and ``test``: ``packs``, else ``pack``."""
        names = self.values.packs or ([self.values.pack] if self.values.pack else [])
        return [self._pack_ref(name) for name in names]

    def _pack_ref(self, name: str) -> str:
        candidate = self.path(name)
        return str(candidate) if candidate.exists() or "/" in name else name

    def record_files(self) -> list[Path]:
        """Every existing file matched by a ``[tool.svcpolicy.records]`` glob, sorted, without repeats."""
        found: dict[Path, None] = {}
        for globs in self.values.records.values():
            for pattern in globs:
                for match in sorted(self.root.glob(pattern)):
                    if match.is_file():
                        found.setdefault(match, None)
        return list(found)

    def record_file_set(self) -> set[Path]:
        """The resolved paths of :meth:`record_files`, to test files given on the command line against."""
        return {p.resolve() for p in self.record_files()}


def find_pyproject(start: Path | None = None) -> Path | None:
    """The nearest ``pyproject.toml`` (from ``start`` up) that has a ``[tool.svcpolicy]`` table."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / PYPROJECT
        if candidate.is_file():
            import tomllib  # only when there is a file to read: most runs of a hook find none

            try:
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                return candidate  # reported when loaded
            if isinstance(data.get("tool"), dict) and "svcpolicy" in data["tool"]:
                return candidate
    return None


def _key_line(text: str, key: str) -> int:
    """The line of ``key = …`` inside ``[tool.svcpolicy]`` (or its sub-tables), 0 when not found."""
    inside = False
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            inside = bool(re.match(r"^\[\s*tool\s*\.\s*svcpolicy\s*(\]|\.)", stripped))
            if inside and key and stripped.replace(" ", "").startswith(f"[tool.svcpolicy.{key}]"):
                return number
            continue
        if inside and re.match(rf"^\"?{re.escape(key)}\"?\s*=", stripped):
            return number
    return 0


def load_config(path: str | Path) -> Config:
    """Read ``[tool.svcpolicy]`` from a ``pyproject.toml``; errors carry ``file:line``."""
    file = Path(path)
    name = str(file)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", SourceLocation(name)) from exc
    import tomllib  # see find_pyproject

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"TOML: {exc}", SourceLocation(name)) from exc
    table: Any = data
    for part in SECTION:
        table = table.get(part, {}) if isinstance(table, dict) else {}
    try:
        values = ProjectConfig.model_validate(table)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        loc = [str(p) for p in first["loc"]]
        key = loc[0] if loc else ""
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            import difflib  # only for an unknown key: a valid configuration never needs it

            hint = difflib.get_close_matches(key, list(ProjectConfig.model_fields), n=1)
            message = f"unknown key{f' (did you mean {hint[0]!r}?)' if hint else ''}"
        where = SourceLocation(name, _key_line(text, key))
        raise ConfigError(f"[tool.svcpolicy] {'.'.join(loc)}: {message}", where) from exc
    return Config(values, file)


def discover(explicit: str | Path | None = None, *, disabled: bool = False) -> Config:
    """The configuration to use: ``explicit`` if given, else the nearest one, else none."""
    if disabled:
        return Config()
    if explicit is not None:
        return load_config(explicit)
    found = find_pyproject()
    return load_config(found) if found is not None else Config()
