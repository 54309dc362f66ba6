"""Startup cost follows use: what `import svcpolicy` and a short `svcpolicy check` run bring into the process.

Structural, not timed: each test looks at ``sys.modules`` in a fresh interpreter, so it fails the day an eager
import of a heavy part (python-holidays, Jinja2, pandas, durable-rules, Spark, matplotlib, SQLite) comes back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import svcpolicy
from svcpolicy.calendar import HolidayCalendar, official_schedule
from svcpolicy.reporting.registry import FORMATS

HEAVY = ("holidays", "jinja2", "pandas", "durable", "durable_rules", "pyspark", "matplotlib", "sqlite3", "tqdm")
"""Top-level packages that only some runs need; ``durable`` is durable-rules' import name."""

SHOW_MODULES = "import json, sys; print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))"


def _printed_by(code: str, env: dict[str, str] | None = None) -> list[str]:
    """The lines ``code`` prints, run in a fresh interpreter."""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ, **(env or {})}
    )
    return result.stdout.strip().splitlines()


def _modules_after(code: str, env: dict[str, str] | None = None) -> set[str]:
    """The top-level packages loaded once ``code`` ran in a fresh interpreter (its last line prints them)."""
    loaded: list[str] = json.loads(_printed_by(code, env)[-1])
    return set(loaded)


def test_importing_svcpolicy_loads_none_of_the_heavy_parts() -> None:
    loaded = _modules_after(f"import svcpolicy\n{SHOW_MODULES}")
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
    assert not loaded & {"pydantic", "yaml", "importlib_metadata"}, "the public names are imported on first use"


def test_importing_the_command_line_loads_none_of_the_heavy_parts() -> None:
    loaded = _modules_after(f"import svcpolicy.cli.main\n{SHOW_MODULES}")
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_a_short_check_with_a_warm_cache_loads_neither_the_holiday_package_nor_other_formats_writers(
    tmp_path: Path, records_file: Path
) -> None:
    env = {"SVCPOLICY_CACHE_DIR": str(tmp_path / "cache")}
    run_check = (
        "import contextlib, io\n"
        "from svcpolicy.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = main(['check', {str(records_file)!r}, '--format', 'jsonl', '--no-progress',"
        " '--as-of', '2026-11-27T00:00:00+08:00'])\n"
        "assert code in (0, 1), code\n"
    )
    cold = _modules_after(run_check + SHOW_MODULES, env)
    warm = _modules_after(run_check + SHOW_MODULES, env)
    assert "holidays" in cold, "the record's deadlines need the holiday table, read from python-holidays once"
    assert warm.isdisjoint(HEAVY), sorted(warm & set(HEAVY))


def test_a_short_check_of_valid_records_with_a_warm_cache_does_not_import_pydantic(tmp_path: Path) -> None:
    """The pack compiles from the plain spec kept in the cache and valid records decode through msgspec: pydantic
    (a third of a short run's time) is imported only by a cold run, which validates the pack's YAML."""
    env = {"SVCPOLICY_CACHE_DIR": str(tmp_path / "cache")}
    examples = Path(__file__).resolve().parents[1] / "examples" / "records.jsonl"
    records_file = tmp_path / "valid.jsonl"
    records_file.write_text("".join(examples.read_text(encoding="utf-8").splitlines(keepends=True)[:20]), "utf-8")
    run_check = (
        "import contextlib, io, json, sys\n"
        "from svcpolicy.cli.main import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        f"    code = main(['check', {str(records_file)!r}, '--format', 'json', '--no-progress',"
        " '--as-of', '2026-11-27T00:00:00+08:00'])\n"
        "assert code in (0, 1), code\n"
        "print(json.dumps(json.loads(out.getvalue())['findings']))\n"
    )
    cold = _printed_by(run_check + SHOW_MODULES, env)
    warm = _printed_by(run_check + SHOW_MODULES, env)
    assert "pydantic" in json.loads(cold[-1]), "a cold run validates the pack with pydantic"
    assert "pydantic" not in json.loads(warm[-1])
    assert json.loads(warm[-2]) == json.loads(cold[-2]), "the same findings, from the spec as from the models"
    assert any(finding["outcome"] == "violation" for finding in json.loads(warm[-2])), "findings to compare"


def test_a_pack_from_the_cache_gives_its_rules_as_the_pack_schema_models_when_asked(tmp_path: Path) -> None:
    env = {"SVCPOLICY_CACHE_DIR": str(tmp_path)}
    _printed_by("from svcpolicy import load_policy\nload_policy()\n", env)  # fills the cache
    code = (
        "import sys\n"
        "from svcpolicy import load_policy\n"
        "policy = load_policy()\n"
        "assert 'svcpolicy.pack.schema' not in sys.modules, 'compiled from the cached spec'\n"
        "from svcpolicy.pack.schema import Rule\n"
        "rules = policy.rules\n"
        "assert all(isinstance(rule, Rule) for rule in rules)\n"
        "assert [rule.id for rule in rules] == [info.id for info in policy.catalog()]\n"
        "assert [rule.severity for rule in rules] == [info.severity for info in policy.catalog()]\n"
        "print('[]')\n"
    )
    _modules_after(code, env)


@pytest.fixture
def records_file(tmp_path: Path) -> Path:
    """One complaint from the examples: judging it asks for a deadline on the holiday calendar."""
    examples = Path(__file__).resolve().parents[1] / "examples" / "records.jsonl"
    complaint = next(line for line in examples.read_text(encoding="utf-8").splitlines() if '"complaint"' in line)
    path = tmp_path / "one.jsonl"
    path.write_text(complaint + "\n", encoding="utf-8")
    return path


def test_the_official_calendar_reads_no_holiday_table_until_a_deadline_needs_one() -> None:
    code = (
        "import sys, datetime\n"
        "from svcpolicy.calendar import HolidayCalendar\n"
        "calendar = HolidayCalendar.official()\n"
        "assert 'holidays' not in sys.modules\n"
        "assert calendar.is_working_day(datetime.date(2026, 10, 1)) is False\n"
        "assert 'holidays' in sys.modules\n"
        "print('[]')\n"
    )
    _modules_after(code, {"SVCPOLICY_CACHE_DIR": "off"})


def test_the_cached_holiday_table_is_the_one_python_holidays_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SVCPOLICY_CACHE_DIR", str(tmp_path))
    official_schedule.cache_clear()
    try:
        built = official_schedule()
        assert list(tmp_path.glob("holidays-*.pickle")), "the table is kept for the next run"
        official_schedule.cache_clear()
        read_back = official_schedule()
    finally:
        official_schedule.cache_clear()
    assert read_back == built
    assert read_back.provenance.startswith("PRC holiday calendar (python-holidays ")
    assert HolidayCalendar.official().known_years == built.known_years


def test_every_public_name_resolves_and_is_listed() -> None:
    for name in svcpolicy.__all__:
        assert getattr(svcpolicy, name) is not None
    assert set(svcpolicy.__all__) <= set(dir(svcpolicy))
    with pytest.raises(AttributeError, match="no attribute 'Nonesuch'"):
        _ = svcpolicy.Nonesuch


@pytest.mark.parametrize("name", list(FORMATS))
def test_every_format_names_a_writer_its_module_has(name: str) -> None:
    fmt = FORMATS[name]
    assert callable(fmt.write)
    assert fmt.stream is None or callable(fmt.stream)
    assert callable(fmt.writer(show_customer_ids=True))
