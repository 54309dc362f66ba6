"""Round five of the hostile-input sweep, kept as tests: report and baseline paths that cannot be written are
usage errors said in words, and an interrupted run leaves no half-written report or baseline; a pack file of
megabytes is refused within seconds; a record file whose name is not UTF-8 is reported in every format; records
that cannot travel to a worker process are judged as one process judges them; and a cache file that is not the
user's own is never loaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import MINI_PACK, REPO
from gatekit import svcpolicy as run_cli
from svcpolicy import Policy
from svcpolicy import policy as policy_module
from svcpolicy.cli.exits import EXIT_ERROR, EXIT_FINDINGS, EXIT_INTERRUPTED
from svcpolicy.errors import PackError
from svcpolicy.pack import yaml_source
from svcpolicy.pack.yaml_source import MAX_NODES, load_yaml
from svcpolicy.records.readers import RawRecord, read_records
from svcpolicy.user_cache import read_checked, write_checked

AS_OF = "2026-11-27T00:00:00+08:00"


def _unauthorised(record_id: str) -> dict[str, Any]:
    """A record the mini pack finds in violation: an operation without the customer's authorisation."""
    operation = {"kind": "close_account", "affects_customer_rights": True, "at": "2026-01-05T10:00:00+08:00"}
    return {"id": record_id, "kind": "interaction", "operations": [{**operation, "authorization": None}]}


def _setup(root: Path, name: str = "records.jsonl") -> tuple[Path, Path]:
    pack = root / "pack"
    pack.mkdir(exist_ok=True)
    (pack / "pack.yaml").write_text(MINI_PACK, encoding="utf-8")
    records = root / name
    records.write_text("".join(json.dumps(_unauthorised(f"R{i}")) + "\n" for i in range(3)), encoding="utf-8")
    return pack, records


def _check(pack: Path, *args: str | Path) -> tuple[int, str, str]:
    return run_cli("check", *args, "--pack", pack, "--no-config", "--no-progress", "--lang", "en", "--as-of", AS_OF)


# -- where reports and baselines are written ---------------------------------------------------------------


@pytest.mark.parametrize(
    "option", [("-o", "{}"), ("--output", "html={}"), ("--output", "sarif={}"), ("--write-baseline", "{}")]
)
def test_a_report_or_baseline_named_as_a_folder_is_a_usage_error_in_words_not_an_errno(
    tmp_path: Path, option: tuple[str, str]
) -> None:
    pack, records = _setup(tmp_path)
    folder = tmp_path / "reports"
    folder.mkdir()
    flag, value = option
    code, _, err = _check(pack, records, flag, value.format(folder))
    assert code == EXIT_ERROR
    assert f"{folder}: that is a folder; name a file to write" in err
    assert "Errno" not in err and list(folder.iterdir()) == []


def test_a_report_under_a_file_is_a_usage_error_naming_the_file_in_the_way(tmp_path: Path) -> None:
    pack, records = _setup(tmp_path)
    (tmp_path / "reports").write_text("not a folder", encoding="utf-8")
    code, _, err = _check(pack, records, "--output", f"sarif={tmp_path / 'reports' / 'ci' / 'out.sarif'}")
    assert code == EXIT_ERROR
    assert f"{tmp_path / 'reports'} is a file, not a folder" in err and "Errno" not in err


def test_a_report_path_in_missing_folders_still_has_its_folders_made(tmp_path: Path) -> None:
    pack, records = _setup(tmp_path)
    target = tmp_path / "reports" / "ci" / "out.json"
    code, _, _ = _check(pack, records, "--output", f"json={target}")
    assert code == EXIT_FINDINGS
    assert json.loads(target.read_text(encoding="utf-8"))["counts"]["records"] == 3
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.json"]  # no hidden leftovers


def test_a_run_stopped_by_ctrl_c_exits_130_and_keeps_the_previous_report_and_baseline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pack, records = _setup(tmp_path)
    report, accepted = tmp_path / "out.sarif", tmp_path / "baseline.json"
    report.write_text("yesterday's report", encoding="utf-8")
    accepted.write_text("yesterday's baseline", encoding="utf-8")

    def interrupted(path: str | Path, *, encoding: str = "utf-8") -> Iterator[RawRecord]:
        yield next(iter(read_records(path, encoding=encoding)))
        raise KeyboardInterrupt  # Ctrl-C while the records are read

    monkeypatch.setattr(policy_module, "read_records", interrupted)
    code, _, err = _check(pack, records, "--output", f"sarif={report}", "--write-baseline", accepted)
    assert code == EXIT_INTERRUPTED == 130
    assert "interrupted; the run did not finish" in err
    assert report.read_text(encoding="utf-8") == "yesterday's report"
    assert accepted.read_text(encoding="utf-8") == "yesterday's baseline"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["baseline.json", "out.sarif", "pack", "records.jsonl"]


# -- packs -----------------------------------------------------------------------------------------------------


def test_a_pack_file_of_megabytes_of_values_is_refused_within_seconds_at_the_value_past_the_limit(
    tmp_path: Path,
) -> None:
    pack = tmp_path / "pack.yaml"
    values = ", ".join(f"k{i}: {i}" for i in range(MAX_NODES + 50_000))  # 3.5 MB on one line: ~50 s before
    pack.write_text(f"pack: big\nnotes: {{{values}}}\n", encoding="utf-8")
    with pytest.raises(PackError, match=r"more than 200,000 values") as refused:
        load_yaml(pack)
    assert refused.value.location is not None and refused.value.location.line == 2


def test_without_libyaml_a_pack_reads_the_same_only_slower(monkeypatch: pytest.MonkeyPatch) -> None:
    """PyYAML built without libyaml (no wheel for the platform) parses in Python: same values, same positions."""
    files = sorted((REPO / "rules").rglob("*.yaml"))
    with_libyaml = [load_yaml(path) for path in files]
    monkeypatch.delattr(yaml, "CSafeLoader")
    python_loader = yaml_source._loader_type()
    assert python_loader is not yaml_source._BoundedLoader
    monkeypatch.setattr(yaml_source, "_BoundedLoader", python_loader)
    for path, expected in zip(files, with_libyaml, strict=True):
        assert load_yaml(path) == expected, path
    with pytest.raises(PackError, match="nested more than 100 levels deep"):
        yaml_source.load_yaml_text("a: " + "[" * 150, "deep.yaml")


def test_a_syntax_error_in_a_pack_keeps_its_exact_line_and_column(tmp_path: Path) -> None:
    pack = tmp_path / "pack.yaml"
    pack.write_text("pack: mini\ntitle: 规则包\nrules:\n  - id: a\n    when: x: y\n", encoding="utf-8")
    with pytest.raises(PackError, match="YAML syntax: mapping values are not allowed") as refused:
        load_yaml(pack)
    assert str(refused.value).startswith(f"{pack}:5:12: ")


# -- record files --------------------------------------------------------------------------------------------


def test_a_named_pipe_named_on_the_command_line_is_an_input_error_and_the_other_files_are_checked(
    tmp_path: Path,
) -> None:
    pack, records = _setup(tmp_path)
    pipe = tmp_path / "export.jsonl"
    os.mkfifo(pipe)
    command = [sys.executable, "-m", "svcpolicy.cli.main", "check", str(pipe), str(records), "--pack", str(pack)]
    done = subprocess.run(
        [*command, "--no-config", "--no-progress", "--as-of", AS_OF], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == EXIT_ERROR
    assert f"{pipe}: is a named pipe, socket or device, not a record file" in done.stderr
    assert "共 3 条记录" in done.stdout


@pytest.mark.parametrize("fmt", ["json", "jsonl", "sarif", "gitlab", "csv"])
def test_a_record_file_whose_name_is_not_utf8_is_reported_with_the_bytes_escaped_in_every_format(
    tmp_path: Path, fmt: str
) -> None:
    pack, records = _setup(tmp_path, "n\udcff.jsonl")  # the bytes n, 0xff: a Latin-1 name on a UTF-8 system
    loop = tmp_path / "loop\udcfe.jsonl"
    loop.symlink_to(loop)  # unreadable: its name reaches the input failures too
    out = tmp_path / f"report.{fmt}"
    code, _, err = _check(pack, records, loop, "--output", f"{fmt}={out}", "--format", "text")
    assert code == EXIT_ERROR, err
    assert "internal error" not in err
    written = out.read_text(encoding="utf-8-sig")
    escaped = {"csv": "n\\xff.jsonl", "sarif": "n%FF.jsonl"}.get(
        fmt, "n\\\\xff.jsonl"
    )  # JSON writes \\; SARIF: the real byte
    assert escaped in written
    if fmt in ("json", "sarif"):
        assert ("loop%FE.jsonl" if fmt == "sarif" else "loop\\\\xfe.jsonl") in written


def test_records_that_cannot_be_pickled_are_judged_alike_with_worker_processes(mini: Policy) -> None:
    records = [{**_unauthorised("R1"), "customer": {"name": lambda: "not data"}}, _unauthorised("R2")]
    alone = mini.evaluate(records, as_of=_as_of())
    shared = mini.evaluate(records, as_of=_as_of(), jobs=2)
    assert [(f.rule, f.record.line) for f in shared.findings] == [(f.rule, f.record.line) for f in alone.findings]
    assert shared.counts == alone.counts and alone.counts.records == 2


def _as_of() -> Any:
    import datetime as dt

    return dt.datetime.fromisoformat(AS_OF)


# -- the user cache ------------------------------------------------------------------------------------------


def test_a_cache_file_others_may_write_is_not_loaded(tmp_path: Path) -> None:
    cached = tmp_path / "pack-x.pickle"
    write_checked(cached, b"compiled pack")
    assert read_checked(cached) == b"compiled pack"
    cached.chmod(0o666)
    assert read_checked(cached) is None


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="giving a file away needs root")
def test_a_cache_file_another_user_owns_is_not_loaded(tmp_path: Path) -> None:
    cached = tmp_path / "pack-x.pickle"
    write_checked(cached, b"compiled pack")
    os.chown(cached, 65534, 65534)
    assert read_checked(cached) is None


def test_a_named_pipe_in_the_place_of_a_cache_file_is_not_waited_on(tmp_path: Path) -> None:
    cached = tmp_path / "pack-x.pickle"
    os.mkfifo(cached)
    assert read_checked(cached) is None
