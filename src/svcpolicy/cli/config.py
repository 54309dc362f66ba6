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

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from svcpolicy.bounded_read import read_at_most
from svcpolicy.errors import LocatedError, SourceLocation
from svcpolicy.frozen import Frozen

if TYPE_CHECKING:
    from svcpolicy.severity import Severity

PYPROJECT = "pyproject.toml"
SECTION = ("tool", "svcpolicy")


class ConfigError(LocatedError):
    """``[tool.svcpolicy]`` is malformed."""


class ConfigValues:
    """The keys of ``[tool.svcpolicy]``, as validated by :class:`~svcpolicy.cli.project_config.ProjectConfig`
    (which has the same names and defaults): the defaults are the class's, a table's values the instance's.

    A plain class, not a dataclass nor a model: defining either costs a run without a table a millisecond or two.
    """

    pack: str | None = None
    packs: Sequence[str] = ()
    fail_on: Severity | None = None
    fail_on_undetermined: bool | None = None
    fail_on_stale_waivers: bool | None = None
    format: str | None = None
    output: Sequence[str] = ()
    lang: Literal["zh", "en"] | None = None
    encoding: str | None = None
    jobs: int | None = None
    waivers: Sequence[str] = ()
    baseline: str | None = None
    holidays: Sequence[str] = ()
    records: Mapping[str, Sequence[str]] = MappingProxyType({})

    def __init__(self, validated: Mapping[str, object] = MappingProxyType({})) -> None:
        """The values of a validated table (each key of ``ProjectConfig``), or the defaults."""
        self.__dict__.update(validated)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to {name!r}: a configuration's values are read-only")


class Config(Frozen):
    """A loaded configuration and where it came from; an empty one when there is none."""

    _fields = ("values", "file")
    values: ConfigValues
    file: Path | None

    def __init__(self, values: ConfigValues | None = None, file: Path | None = None) -> None:
        self.__dict__.update(values=values if values is not None else ConfigValues(), file=file)

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


_TOML_KINDS = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "an array"}

MAX_CONFIG_BYTES = 16 * 1024 * 1024
"""A ``pyproject.toml`` larger than this is refused."""


def load_config(path: str | Path) -> Config:
    """Read ``[tool.svcpolicy]`` from a ``pyproject.toml``; errors carry ``file:line``."""
    file = Path(path)
    name = str(file)
    try:
        raw = read_at_most(file, MAX_CONFIG_BYTES)
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", SourceLocation(name)) from exc
    if raw is None:
        raise ConfigError(f"more than {MAX_CONFIG_BYTES:,} bytes, the limit for a pyproject.toml", SourceLocation(name))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 (byte {exc.start}): TOML files are UTF-8", SourceLocation(name)) from exc
    import tomllib  # see find_pyproject

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"TOML: {exc}", SourceLocation(name)) from exc
    table: Any = data
    for part in SECTION:
        table = table.get(part, {}) if isinstance(table, dict) else {}
    if not isinstance(table, dict):  # `[tool] svcpolicy = 5`
        raise ConfigError(
            f"[tool.svcpolicy] is a table of keys (pack = …), not {_TOML_KINDS.get(type(table), 'a value')}",
            SourceLocation(name, _key_line(text, "svcpolicy")),
        )
    from pydantic import ValidationError

    from svcpolicy.cli.project_config import ProjectConfig  # only for a table to validate: see its module

    try:
        validated = ProjectConfig.model_validate(table)
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
    return Config(ConfigValues(dict(validated)), file)


def discover(explicit: str | Path | None = None, *, disabled: bool = False) -> Config:
    """The configuration to use: ``explicit`` if given, else the nearest one, else none."""
    if disabled:
        return Config()
    if explicit is not None:
        return load_config(explicit)
    found = find_pyproject()
    if found is None:
        return Config()
    distrust = _distrust(found, Path.cwd())
    if distrust is not None:
        raise ConfigError(
            f"not used: {distrust}, so it could make the gate pass (another pack, other waivers); name it with "
            "--config to use it anyway, or give --no-config",
            SourceLocation(str(found)),
        )
    return load_config(found)


def _distrust(file: Path, working: Path) -> str | None:
    """Why a ``pyproject.toml`` found by walking up must not configure this run, else None: git's rule for a
    repository above the working folder, for the same reason. One that every user may write, or owned by a user
    other than root, the caller and the working folder's owner, may have been put there by someone else (a
    ``/tmp/pyproject.toml`` above the folder a check runs in)."""
    getuid = getattr(os, "getuid", None)  # Windows has no owners to compare here
    if getuid is None:
        return None
    try:
        status, folder = file.stat(), working.stat()
    except OSError:
        return None  # cannot be read either: load_config says so
    if status.st_mode & 0o002:
        return "every user may write it"
    if status.st_uid not in (0, getuid(), folder.st_uid):
        return f"it belongs to another user (uid {status.st_uid}) than the working folder"
    return None
