"""``[tool.svcpolicy]`` in the project's pyproject.toml: read, relative to its file, overridden by flags."""

from __future__ import annotations

import json
from pathlib import Path
from types import MappingProxyType

import pytest

from gatekit import AS_OF, authorised, disclosed, svcpolicy, unauthorised, write_gate_pack, write_records
from svcpolicy.cli.config import ConfigError, ConfigValues, load_config
from svcpolicy.cli.project_config import ProjectConfig
from svcpolicy.severity import Severity


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_gate_pack(tmp_path / "compliance" / "pack")
    write_records(tmp_path / "exports" / "a.jsonl", unauthorised("R1"), disclosed("R2"))
    write_records(tmp_path / "exports" / "b.jsonl", authorised("R3"))
    (tmp_path / "pyproject.toml").write_text(
        "[project]\nname = 'bank-data'\n\n"
        "[tool.svcpolicy]\n"
        'pack = "compliance/pack"\n'
        'fail_on = "high"\n'
        'format = "json"\n'
        'lang = "en"\n'
        'output = ["junit=reports/svcpolicy.xml"]\n'
        "\n[tool.svcpolicy.records]\n"
        'interaction = ["exports/*.jsonl"]\n',
        encoding="utf-8",
    )
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")  # found by walking up
    return tmp_path


def test_check_reads_pack_globs_format_and_outputs_from_pyproject(project: Path) -> None:
    code, out, _ = svcpolicy("check", "--as-of", AS_OF)
    assert code == 1  # the critical violation is at or above fail_on = high
    data = json.loads(out)
    assert data["pack"]["id"] == "gate" and data["counts"]["records"] == 3
    assert data["findings"][0]["message"]["en"].startswith("Operation close_account")
    assert (project / "reports" / "svcpolicy.xml").is_file()  # relative to pyproject.toml, not the cwd


def test_flags_override_the_file(project: Path) -> None:
    code, out, _ = svcpolicy("check", "--as-of", AS_OF, "--format", "text", "--fail-on", "critical", "--lang", "zh")
    assert code == 1 and "未经客户授权" in out
    write_records(project / "exports" / "a.jsonl", disclosed("R2"))
    assert svcpolicy("check", "--as-of", AS_OF)[0] == 0  # medium is below high
    assert svcpolicy("check", "--as-of", AS_OF, "--fail-on", "medium")[0] == 1
    assert (
        svcpolicy(
            "check",
            "--as-of",
            AS_OF,
            "--no-config",
            "--pack",
            project / "compliance" / "pack",
            project / "exports" / "a.jsonl",
        )[0]
        == 1
    )


def test_only_configured_skips_files_no_record_glob_matches(project: Path) -> None:
    stray = write_records(project / "fixtures" / "stray.jsonl", unauthorised("X1"))
    code, out, err = svcpolicy("check", "--as-of", AS_OF, "--only-configured", project / "exports" / "b.jsonl", stray)
    assert code == 0 and json.loads(out)["counts"]["records"] == 1
    assert "skipped 1 file(s) that no [tool.svcpolicy.records] glob matches" in err


def test_an_unknown_key_is_an_error_at_its_line_with_a_suggestion(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('[tool.other]\nx = 1\n\n[tool.svcpolicy]\npack = "p"\nfail_onn = "high"\n', encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"pyproject\.toml:6: \[tool\.svcpolicy\] fail_onn: unknown key \(did you mean 'fail_on'\?\)"
    ):
        load_config(path)


def test_bad_values_and_record_kinds_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('[tool.svcpolicy]\nfail_on = "severe"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r":2: \[tool\.svcpolicy\] fail_on: Input should be 'info', 'low'"):
        load_config(path)
    path.write_text('[tool.svcpolicy.records]\ninteractions = ["*.jsonl"]\n', encoding="utf-8")
    with pytest.raises(
        ConfigError,
        match=r":1: \[tool\.svcpolicy\] records: .*unknown record kind 'interactions' \(did you mean 'interaction'\?\)",
    ):
        load_config(path)


def test_a_broken_config_stops_the_check_with_exit_2(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.svcpolicy]\nformat = "pdf"\n', encoding="utf-8")
    code, _, err = svcpolicy("check", "--as-of", AS_OF, "x.jsonl")
    assert code == 2 and "unknown format 'pdf'" in err


def test_without_paths_or_globs_check_says_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = svcpolicy("check", "--no-config")
    assert code == 2 and "no record files given" in err


def test_lint_and_test_take_their_packs_from_the_file(project: Path) -> None:
    code, out, _ = svcpolicy("test")
    assert code == 0 and out.strip() == "0 passed, 0 failed"
    code, out, _ = svcpolicy("lint")
    assert "1 pack(s) linted: 0 error(s)" in out


def test_the_values_of_a_configuration_have_the_keys_and_defaults_of_the_table_validator() -> None:
    """``ConfigValues`` (what a run without a table uses) and ``ProjectConfig`` (what validates a table) name the
    same keys with the same defaults, so a key added to one and not the other fails here."""
    keys = list(ProjectConfig.model_fields)
    assert list(ConfigValues.__annotations__) == keys
    plain = {key: getattr(ConfigValues(), key) for key in keys}
    validated = dict(ProjectConfig())
    assert {key: _as_plain(value) for key, value in plain.items()} == validated


def _as_plain(value: object) -> object:
    """A default as pydantic gives it: an empty tuple as a list, a read-only mapping as a dict."""
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, MappingProxyType):
        return dict(value)
    return value


def test_a_configuration_read_from_a_file_holds_its_validated_values(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('[tool.svcpolicy]\nfail_on = "high"\nwaivers = "w.yaml"\njobs = 2\n', encoding="utf-8")
    values = load_config(path).values
    assert (values.fail_on, values.waivers, values.jobs, values.packs) == (Severity.HIGH, ["w.yaml"], 2, [])
