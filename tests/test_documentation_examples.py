"""Every fenced example in README.md, docs/*.md and examples/README.md works as written.

A bank engineer copies these blocks; each is one test case named after its file and line (``README.md:69``).
``python`` blocks run in order in one namespace per document; shell blocks run their ``svcpolicy`` commands
through the venv's console script with the exit code the docs promise; ``yaml``, ``toml`` and ``json`` blocks
go through the loader or model that reads such a file; the ``mermaid`` drawing is the real import graph. A block
that is not meant to run says so just before it: ``<!-- example: not run (reason) -->``.

Commands and code run in a sandbox per document standing in for a bank's repository: ``examples/`` and
``rules/`` copied, the example records under the names the docs use (``exports/…``, ``data/…``,
``records.jsonl``), a branch overlay under ``packs/``, waivers, a baseline, a made-up 2027 year file (not the
real notice) and a short event stream.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import runpy
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

import svcpolicy

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
DOCUMENTS = [
    "README.md",
    *sorted(p.relative_to(REPO).as_posix() for p in (REPO / "docs").glob("*.md")),
    *(["examples/README.md"] if (REPO / "examples" / "README.md").exists() else []),
]
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```+|~~~+)\s*(?P<lang>[\w+-]*)")
NOT_RUN = re.compile(r"^<!--\s*example:\s*not run\s*\((?P<reason>[^)]+(?:\([^)]*\)[^)]*)*)\)\s*-->$")
MAX_NOT_RUN = 8
"""Markers are kept few: an example that does not run should be the exception, with its reason."""
SHELL_LANGUAGES = {"bash", "sh", "shell", "console"}
COMMAND_TIMEOUT = 60
AS_OF = "2026-11-27T00:00:00+08:00"
SUMMARY = re.compile(r"\d+ records?: \d+ compliant|共 \d+ 条记录")
"""The closing line of a text report, in English or Chinese."""


@dataclass(frozen=True)
class Block:
    """One fenced block of a document: where it starts, its language, its text, and a not-run marker's reason."""

    document: str
    line: int
    language: str
    text: str
    not_run: str | None

    @property
    def name(self) -> str:
        return f"{self.document}:{self.line}"


def blocks_of(document: str) -> Iterator[Block]:
    """The fenced blocks of a document, in order; a fence indented in a list item is dedented with its text."""
    lines = (REPO / document).read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        previous = next((line.strip() for line in reversed(lines[:i]) if line.strip()), "")
        marker = NOT_RUN.match(previous)
        text = "\n".join(line[indent:] for line in lines[i + 1 : end]) + "\n"
        yield Block(document, i + 1, opening["lang"].lower(), text, marker["reason"].strip() if marker else None)
        i = end + 1


BLOCKS = [block for document in DOCUMENTS for block in blocks_of(document)]
RUNNABLE = [block for block in BLOCKS if block.not_run is None]


# --- the sandbox: a stand-in for the bank's repository, one per document ------------------------------------------

EVENTS = [
    {"id": "e1", "type": "complaint.received", "at": "2026-11-02T10:00:00+08:00", "complaint_id": "CMP-1"},
    {"id": "e2", "type": "complaint.received", "at": "2026-11-03T10:00:00+08:00", "complaint_id": "CMP-2"},
    {"id": "e3", "type": "complaint.decided", "at": "2026-11-10T10:00:00+08:00", "complaint_id": "CMP-2"},
    {"id": "tick", "type": "clock", "at": "2026-11-30T00:00:00+08:00"},
]
YEAR_2027 = """\
year: 2027
source: 国务院办公厅关于2027年部分节假日安排的通知 (a stand-in for these tests — made-up days, not the notice)
days_off: [2027-01-01]
working_days: [2027-02-06]
"""
WAIVERS = """\
waivers:
  - id: W-2026-014
    rule: SVC-016-unauthorized-operation
    record: INT-20261102-000105
    reason: 客户书面授权已于 2026-11-03 补录，见工单
    approver: 合规部 王五
    expires: 2099-12-31
"""
PROJECT = """\
[tool.svcpolicy.records]
interaction = ["exports/**/*.jsonl"]
"""
CSV_ROWS = [
    {"id": "CSV-1", "channel": "counter", "branch_id": "SH-PD-001", "started_at": "2026-11-05T09:00:00+08:00",
     "wait_minutes": "52", "business_type": "deposit"},
]  # fmt: skip


@pytest.fixture(scope="module")
def baseline_text(bundled: svcpolicy.Policy, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A baseline of the example records, as `--write-baseline` writes it."""
    from svcpolicy.gate.baseline import write_baseline

    report = bundled.evaluate(REPO / "examples" / "records.jsonl", as_of=dt.datetime.fromisoformat(AS_OF))
    path = tmp_path_factory.mktemp("baseline") / "baseline.json"
    write_baseline(path, report.findings, report.findings[0].pack, dt.datetime.fromisoformat(AS_OF))
    return path.read_text(encoding="utf-8")


def build_sandbox(root: Path, baseline: str) -> Path:
    """The files the docs' commands and code name, under the names they use."""
    shutil.copytree(REPO / "examples", root / "examples")
    shutil.copytree(REPO / "rules", root / "rules")
    records = REPO / "examples" / "records.jsonl"
    for name in ("exports/2026-11-20.jsonl", "exports/2026-11.jsonl", "exports/2026-11/counter.jsonl",
                 "data/2026-11.jsonl", "records.jsonl"):  # fmt: skip
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(records, root / name)
    with (root / "records.csv").open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(CSV_ROWS[0]))
        writer.writeheader()
        writer.writerows(CSV_ROWS)
    (root / "exports" / "archive").mkdir()
    shutil.copyfile(records, root / "exports" / "archive" / "2025.jsonl")  # for `--exclude 'archive/*'`
    shutil.copytree(REPO / "examples" / "branch-overlay", root / "packs" / "sh-pudong-branch")
    (root / "compliance").mkdir()
    (root / "compliance" / "waivers.yaml").write_text(WAIVERS, encoding="utf-8")
    (root / "compliance" / "baseline.json").write_text(baseline, encoding="utf-8")
    (root / "calendars").mkdir()
    (root / "calendars" / "cn-2027.yaml").write_text(YEAR_2027, encoding="utf-8")
    (root / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in EVENTS), encoding="utf-8")
    (root / "pyproject.toml").write_text(PROJECT, encoding="utf-8")
    return root


@dataclass
class DocumentRun:
    """What one document's examples share: its sandbox, its Python namespace, and which blocks have run."""

    sandbox: Path
    namespace: dict[str, Any] = field(default_factory=dict)
    done: dict[int, BaseException | None] = field(default_factory=dict)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, baseline_text: str) -> Callable[[str], DocumentRun]:
    """Each document's run, made when its first example needs it: documents do not see each other's files."""
    made: dict[str, DocumentRun] = {}

    def run_for(document: str) -> DocumentRun:
        if document not in made:
            root = tmp_path_factory.mktemp(document.replace("/", "-").removesuffix(".md"))
            made[document] = DocumentRun(build_sandbox(root, baseline_text))
        return made[document]

    return run_for


# --- python -----------------------------------------------------------------------------------------------------


def run_python(block: Block, run: DocumentRun, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the document's Python blocks up to this one, in order, as a reader pasting them would."""
    monkeypatch.chdir(run.sandbox)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    for earlier in (b for b in RUNNABLE if b.document == block.document and b.language == "python"):
        if earlier.line not in run.done:
            try:
                exec(compile(earlier.text, earlier.name, "exec"), run.namespace)  # noqa: S102 - the docs' own code
                run.done[earlier.line] = None
            except Exception as exc:  # reported by the block's own test case
                run.done[earlier.line] = exc
        if earlier.line == block.line:
            break
    error = run.done[block.line]
    if error is not None:
        raise AssertionError(f"{block.name}: {type(error).__name__}: {error}") from error


# --- shell ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    line: int
    text: str
    output: tuple[str, ...]  # the lines a console block shows after it


def commands_of(block: Block) -> Iterator[Command]:
    """A console block's ``$`` lines with the output shown under them; otherwise every line, ``\\`` joined."""
    lines = block.text.splitlines()
    console = any(line.startswith("$ ") for line in lines)
    i = 0
    while i < len(lines):
        start, text = i, lines[i]
        i += 1
        if console and not text.startswith("$ "):
            continue
        text = text.removeprefix("$ ")
        while text.rstrip().endswith("\\") and i < len(lines):
            text = text.rstrip()[:-1] + " " + lines[i].strip()
            i += 1
        output: list[str] = []
        while console and i < len(lines) and not lines[i].startswith("$ "):
            output.append(lines[i])
            i += 1
        if words(text):  # not a comment continuing the line above
            yield Command(block.line + 1 + start, text.strip(), tuple(output))


def words(command: str) -> list[str]:
    return shlex.split(command, comments=True)


def expected_exit(argv: list[str]) -> int:
    """The exit code the docs promise for a command on the sandbox (README "Exit codes", compliance-gate.md):
    the example records hold violations and an invalid record, so `check` fails; so does `watch` on an event
    stream with an overdue complaint; every other command succeeds."""
    sub = argv[1] if len(argv) > 1 else ""
    if sub in ("check", "watch"):
        return 1
    return 0


def check_substance(argv: list[str], sandbox: Path, stdout: str, env: dict[str, str]) -> None:
    """What the command is said to produce is there: reports, files, the summary line."""
    sub = argv[1]
    options = dict(zip(argv, [*argv[1:], ""], strict=True))
    if sub == "check":
        fmt = options.get("--format", "text")
        if "-o" in options:
            written = (sandbox / options["-o"]).read_text(encoding="utf-8")
            assert SUMMARY.search(written), written[-300:]
        elif fmt == "json":
            assert {"counts", "findings", "gate"} <= json.loads(stdout).keys()
        elif fmt == "text":
            assert SUMMARY.search(stdout), stdout[-300:]
            assert "--pack" in options or "cn-bank-service" in stdout, "the bundled pack is not named as the default"
        if "--exclude" in options:
            assert options["--exclude"].split("/")[0] not in stdout, "an excluded file was read"
        for i, word in enumerate(argv):
            if word == "--output":
                target = argv[i + 1].partition("=")[2] or argv[i + 1]
                assert (sandbox / re.sub(r"\$(\w+)", lambda m: env[m[1]], target)).stat().st_size > 0, (
                    f"{target} not written"
                )
        if "--write-baseline" in options:
            assert "findings" in json.loads((sandbox / options["--write-baseline"]).read_text(encoding="utf-8"))
    elif sub in ("schema", "event-schema"):
        assert "$schema" in json.loads(stdout)
    elif sub == "watch":
        assert [json.loads(line)["rule"] for line in stdout.splitlines()], "no finding on an overdue complaint"
    elif sub == "init-pack":
        assert (sandbox / argv[2] / "pack.yaml").is_file()
    elif sub == "calendar":
        assert stdout.startswith("known years: ")
    elif sub == "explain":
        assert "第十六条" in stdout or argv[2] in stdout


def shown_output_matches(shown: tuple[str, ...], actual: str) -> None:
    """Each line a console block shows appears in the real output, in order; ``…``/``...`` stand for anything."""
    remaining = actual.splitlines()
    for line in (line for line in shown if line.strip() not in ("", "...", "…")):
        pattern = re.compile(".*".join(re.escape(part) for part in re.split(r"…|\.\.\.", line.strip())))
        at = next((i for i, real in enumerate(remaining) if pattern.fullmatch(real.strip())), None)
        assert at is not None, f"shown output {line!r} is not in the real output:\n{actual[-2000:]}"
        remaining = remaining[at + 1 :]


def makefile_targets() -> set[str]:
    text = (REPO / "Makefile").read_text(encoding="utf-8")
    return {target for line in text.splitlines() if (m := re.match(r"^([\w-]+):", line)) for target in [m[1]]}


def optional_extras() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return set(project["optional-dependencies"])


def run_command(command: Command, block: Block, sandbox: Path) -> None:
    argv = words(command.text)
    where = f"{block.document}:{command.line}: {command.text}"
    if argv[0] == "make":
        assert set(argv[1:]) <= makefile_targets(), f"{where}: no such make target"
        return
    if argv[:2] == ["pip", "install"]:
        extras = {e for spec in argv[2:] if (m := re.search(r"\[(.*)\]", spec)) for e in m[1].split(",")}
        assert extras and extras <= optional_extras(), f"{where}: unknown extra"
        return
    stdin = None
    if argv[:2] == ["tail", "-F"] and "|" in argv:  # following a growing file: the test reads it once
        stdin = (sandbox / argv[2]).read_bytes()
        argv = argv[argv.index("|") + 1 :]
        text = command.text.split("|", 1)[1].strip()
    else:
        text = command.text
    if argv[:3] == ["python", "-m", "svcpolicy"]:  # run as written (the venv's python is first on PATH)
        argv = ["svcpolicy", *argv[3:]]
    assert argv[0] == "svcpolicy", f"{where}: not an svcpolicy command; mark the block if it is not meant to run"
    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "GITHUB_STEP_SUMMARY": str(sandbox / "step-summary.md"),
    }
    result = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {text}"],
        cwd=sandbox,
        env=env,
        input=stdin,
        capture_output=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    stdout = result.stdout.decode("utf-8", "replace")
    stderr = result.stderr.decode("utf-8", "replace")
    assert result.returncode == expected_exit(argv), f"{where}: exit {result.returncode}\n{stderr[-2000:]}"
    if ">" not in argv:
        check_substance(argv, sandbox, stdout, env)
    elif argv[1] in ("schema", "event-schema"):
        check_substance(argv, sandbox, (sandbox / argv[argv.index(">") + 1]).read_text(encoding="utf-8"), env)
    shown_output_matches(command.output, stdout + stderr)


# --- yaml, toml, json, mermaid ------------------------------------------------------------------------------------


def check_yaml(block: Block, tmp_path: Path) -> None:
    from svcpolicy.pack.schema import PackManifest, PackPart
    from svcpolicy.pack.sequences import SequenceRule
    from svcpolicy.pack.yaml_source import load_yaml

    path = tmp_path / "example.yaml"
    path.write_text(block.text, encoding="utf-8")
    data = load_yaml(path).value
    assert isinstance(data, dict), f"{block.name}: not a mapping"
    keys = set(data)
    if "pack" in keys:
        PackManifest.model_validate(data)
    elif keys <= set(PackPart.model_fields):
        PackPart.model_validate(data)
        for sequence in data.get("sequences", []):
            SequenceRule.model_validate(sequence)
    elif "waivers" in keys:
        from svcpolicy.gate.waivers import load_waivers

        assert len(list(load_waivers(path))) == len(data["waivers"])
    elif "cases" in keys:
        from svcpolicy.authoring.packtest import SuiteFile

        SuiteFile.model_validate(data)
    elif "year" in keys:
        from svcpolicy.year_file import load_year_file

        load_year_file(path)
    elif "repos" in keys:
        hooks = {hook["id"] for hook in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
        used = {hook["id"] for repo in data["repos"] for hook in repo["hooks"]}
        assert used <= hooks, f"{block.name}: hooks {sorted(used - hooks)} are not in .pre-commit-hooks.yaml"
    else:
        raise AssertionError(f"{block.name}: a YAML block of no known kind (keys {sorted(keys)})")


def check_toml(block: Block, tmp_path: Path) -> None:
    from svcpolicy.cli.config import load_config

    path = tmp_path / "pyproject.toml"
    path.write_text(block.text, encoding="utf-8")
    assert "svcpolicy" in tomllib.loads(block.text).get("tool", {}), f"{block.name}: not a [tool.svcpolicy] table"
    load_config(path)


def check_json(block: Block, policy: svcpolicy.Policy, sandbox: Path) -> None:
    """A record is judged, not refused; a finding has the shape and values of the real one it shows."""
    data = json.loads(block.text)
    if "rule" not in data:
        decision = policy.check(data, as_of=dt.datetime.fromisoformat(AS_OF))
        assert str(decision.outcome) != "invalid", f"{block.name}: {decision}"
        return
    result = subprocess.run(
        [str(VENV_BIN / "svcpolicy"), "check", "examples/records.jsonl", "--format", "jsonl", "--as-of", AS_OF],
        cwd=sandbox,
        capture_output=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    real = [json.loads(line) for line in result.stdout.decode().splitlines()]
    same = [f for f in real if f.get("rule") == data["rule"] and f["record"] == data["record"]]
    assert same, f"{block.name}: no finding of {data['rule']} on {data['record']} in the example records"
    assert data.keys() == same[0].keys(), f"{block.name}: the finding's keys are not the format's"
    agrees(data, same[0], block.name)


def agrees(shown: Any, real: Any, where: str) -> None:
    """What an example shows is in the real value: a mapping may leave keys out, a list may stop early."""
    if isinstance(shown, dict):
        assert isinstance(real, dict), where
        for key, value in shown.items():
            assert key in real, f"{where}.{key}: no such key"
            agrees(value, real[key], f"{where}.{key}")
    elif isinstance(shown, list):
        assert isinstance(real, list) and len(shown) <= len(real), where
        for i, (item, real_item) in enumerate(zip(shown, real, strict=False)):
            agrees(item, real_item, f"{where}[{i}]")
    else:
        assert shown == real, f"{where}: shown {shown!r}, real {real!r}"


def check_mermaid(block: Block) -> None:
    """The drawing is what `make import-graph` draws from the real imports today."""
    script = runpy.run_path(str(REPO / "scripts" / "import_graph.py"))
    drawn = script["mermaid"](script["rooms"](script["grimp"].build_graph(script["ROOT"])))
    assert f"```mermaid\n{block.text}```" == drawn, f"{block.name}: not the import graph; run `make import-graph`"


# --- the cases ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("block", RUNNABLE, ids=[block.name for block in RUNNABLE])
def test_every_documented_example_works_as_written(
    block: Block,
    runs: Callable[[str], DocumentRun],
    bundled: svcpolicy.Policy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if block.language == "python":
        run_python(block, runs(block.document), monkeypatch)
    elif block.language in SHELL_LANGUAGES:
        for command in commands_of(block):
            run_command(command, block, runs(block.document).sandbox)
    elif block.language in ("yaml", "yml"):
        check_yaml(block, tmp_path)
    elif block.language == "toml":
        check_toml(block, tmp_path)
    elif block.language == "json":
        check_json(block, bundled, runs(block.document).sandbox)
    elif block.language == "mermaid":
        check_mermaid(block)
    else:
        pytest.fail(
            f"{block.name}: a ```{block.language or '(no language)'} block the test cannot classify: give it a "
            "language (python, console, yaml, toml, json) or mark it <!-- example: not run (reason) -->"
        )


def test_examples_not_run_are_few_and_say_why() -> None:
    skipped = [block for block in BLOCKS if block.not_run is not None]
    assert len(skipped) <= MAX_NOT_RUN, [block.name for block in skipped]
    for block in skipped:
        assert len(block.not_run or "") >= 10, f"{block.name}: say why it is not run"


def test_the_documents_have_examples_to_check() -> None:
    assert {block.document for block in RUNNABLE} >= {"README.md", "docs/compliance-gate.md", "docs/holidays.md"}
