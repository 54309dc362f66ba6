"""A short run pays only for what it uses: commands imported when named, lint's verdict kept with the cached
pack, message templates compiled when first rendered, and a kind's generated function made only for long runs.

The timings are in ``make bench`` (startup on a one-record file); these tests pin the structure that gives them
and that none of it changes what a run reports.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import pickle
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import svcpolicy
from conftest import AS_OF, MINI_PACK, REPO, operation
from svcpolicy import user_cache
from svcpolicy.cli.commands import COMMANDS
from svcpolicy.cli.main import DEBUG_HELP, build_parser, main
from svcpolicy.engine import compiled
from svcpolicy.engine.programs import KindProgram
from svcpolicy.errors import ExpressionError, PackErrors
from svcpolicy.expr import parser
from svcpolicy.expr.compiler import Compiler
from svcpolicy.pack import cache
from svcpolicy.pack.cache import cached_verdict, read_pack_cached
from svcpolicy.pack.definition import PackDefinition, Site
from svcpolicy.pack.loader import read_pack
from svcpolicy.results.findings import Finding

NOT_FOR_A_CHECK = (
    *(f"svcpolicy.cli.commands.{command.module}" for command in COMMANDS if command.name != "check"),
    "svcpolicy.authoring.lint",
    "svcpolicy.records.events",
    "svcpolicy.monitor",
    "svcpolicy.expr.codegen",  # rules and aggregates are judged by their closures until a kind's warm-up count
    "svcpolicy.pack.loader",  # the pack comes from the cache: no YAML read, no schema validated
    "svcpolicy.pack.yaml_source",
    "logging",  # the pack's INFO line is logged only for an application that imported logging (and set a handler)
    "importlib.metadata",  # pydantic scans installed packages for plugins when it first builds a validator
    "tomllib",  # read only when a pyproject.toml is there to read
    "svcpolicy.results.decision",  # the answer of a one-record Policy.check(), not of a run over files
    "difflib",  # did-you-mean hints, for unknown names only
    "svcpolicy.pack.sequences",  # the event monitor's rules stay pickled in the cached definition until read
    "svcpolicy.cli.project_config",  # the [tool.svcpolicy] validator, for a project that has the table
    "svcpolicy.gate.waiver_file",  # the waiver model, for a run given a waiver file
    "svcpolicy.year_file",  # the holiday year file's model, for a run given a year file
    "csv",  # for CSV record files only
    "tempfile",  # a pack copied for a worker, a doubling id table, a report spilled to disk: long runs only
)
"""Modules a warm ``check`` of one valid record does not need."""


@pytest.fixture
def cache_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("SVCPOLICY_CACHE_DIR", str(directory))
    return directory


def _write_records(path: Path, count: int) -> Path:
    """``count`` records, every third with an operation done before it was authorised (a violation)."""
    lines = (
        json.dumps({"id": f"R{i}", "operations": [operation(None if i % 3 == 0 else "2026-01-05T09:58:00+08:00")]})
        for i in range(count)
    )
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _check(*args: str | Path) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["check", *map(str, args), "--no-config", "--no-progress", "--as-of", AS_OF.isoformat()])
    return code, out.getvalue()


def _cold_then_warm_check(tmp_path: Path, prelude: str, names: str) -> tuple[set[str], set[str]]:
    """Run ``check`` on one record twice in fresh processes sharing a cache (the first fills it), after ``prelude``;
    each run prints ``sorted(names)`` (module names the prelude or ``sys`` collected), returned as two sets."""
    one = _write_records(tmp_path / "one.jsonl", 1)
    run_check = (
        prelude + "import contextlib, io, json, sys\n"
        "from svcpolicy.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = main(['check', {str(one)!r}, '--format', 'jsonl', '--no-progress', '--no-config'])\n"
        "assert code in (0, 1), code\n"
        f"print(json.dumps(sorted({names})))\n"
    )
    env = {**os.environ, "SVCPOLICY_CACHE_DIR": str(tmp_path / "cache")}
    printed: list[set[str]] = []
    for _ in ("cold", "warm"):
        result = subprocess.run(
            [sys.executable, "-c", run_check], capture_output=True, text=True, check=True, env=env, cwd=tmp_path
        )
        printed.append(set(json.loads(result.stdout.splitlines()[-1])))
    cold, warm = printed
    return cold, warm


def test_a_warm_one_record_check_imports_neither_the_other_commands_nor_lint_nor_the_event_model_nor_the_generators(
    tmp_path: Path,
) -> None:
    cold, warm = _cold_then_warm_check(tmp_path, "", "sys.modules")
    assert "svcpolicy.authoring.lint" in cold, "the first run lints the pack"
    assert not {m for m in warm if m.startswith(NOT_FOR_A_CHECK)}, sorted(
        m for m in warm if m.startswith(NOT_FOR_A_CHECK)
    )


def _eager_parser() -> argparse.ArgumentParser:
    """The parser as it was built before commands were imported lazily: every command's arguments up front."""
    parser = argparse.ArgumentParser(prog="svcpolicy", description="Check service records against rule packs.")
    parser.add_argument("--version", action="version", version=f"svcpolicy {svcpolicy.__version__}")
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        subparser = sub.add_parser(command.name, help=command.help, description=command.help)
        command.load().add_arguments(subparser)
        subparser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
    return parser


def _help(parser: argparse.ArgumentParser, args: list[str]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        parser.parse_args([*args, "--help"])
    return out.getvalue()


@pytest.mark.parametrize("command", [None, *(c.name for c in COMMANDS)])
def test_the_help_of_svcpolicy_and_of_each_command_reads_as_if_every_command_were_built(command: str | None) -> None:
    args = [command] if command else []
    assert _help(build_parser(), args) == _help(_eager_parser(), args)


def test_a_command_parses_its_own_options_and_debug_before_or_after_its_name(tmp_path: Path) -> None:
    args = build_parser().parse_args(["--debug", "check", "x.jsonl", "--format", "jsonl"])
    assert (args.command, args.paths, args.format, args.debug) == ("check", ["x.jsonl"], "jsonl", True)
    assert build_parser().parse_args(["calendar", "--debug"]).debug is True


def test_an_unknown_command_is_refused_with_the_list_of_commands() -> None:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit):
        build_parser().parse_args(["chek"])
    assert "invalid choice: 'chek'" in err.getvalue()
    assert all(command.name in err.getvalue() for command in COMMANDS)


def test_a_second_check_of_an_unchanged_pack_is_not_linted_again(
    cache_in: Path, write_pack: Callable[..., Path]
) -> None:
    root = write_pack()
    judged: list[str] = []

    def judge() -> list[str]:
        judged.append("judged")
        return ["a refusal"]

    assert cached_verdict(read_pack_cached(root), "test", judge) == ["a refusal"]
    assert cached_verdict(read_pack_cached(root), "test", judge) == ["a refusal"]
    assert judged == ["judged"]


def test_an_edited_pack_is_linted_again_not_given_the_verdict_of_its_old_content(
    cache_in: Path, write_pack: Callable[..., Path], tmp_path: Path
) -> None:
    root = write_pack()
    records = _write_records(tmp_path / "records.jsonl", 2)
    assert _check(records, "--pack", root)[0] == 1  # a clean pack: findings, so exit 1
    assert _check(records, "--pack", root)[0] == 1
    broken = MINI_PACK.replace("op.authorization.at > op.at", "op.authorisation.at > op.at")
    (root / "pack.yaml").write_text(broken, encoding="utf-8")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code, _ = _check(records, "--pack", root)
    assert code == 2
    assert "unknown field" in err.getvalue() and "lint error" in err.getvalue()


def test_a_pack_the_cache_did_not_give_is_judged_every_time(cache_in: Path, write_pack: Callable[..., Path]) -> None:
    definition = read_pack(write_pack())
    judged: list[str] = []

    def judge() -> list[str]:
        judged.append("judged")
        return []

    for _ in range(2):
        cached_verdict(definition, "test", judge)
    assert judged == ["judged", "judged"]
    assert not list(cache_in.glob("verdict-*"))


def test_the_cache_keeps_only_the_newest_verdicts(
    cache_in: Path, write_pack: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache, "KEEP_PACKS", 2)
    root = write_pack()
    for version in range(4):
        write_pack({"pack.yaml": MINI_PACK.replace('version: "1"', f'version: "{version}"')})
        cached_verdict(read_pack_cached(root), "test", list)
    assert len(list(cache_in.glob("verdict-test-*.json"))) == 2


BAD_PLACEHOLDER = MINI_PACK.replace('{op.kind}"\n    ', '{op.__class__}"\n    ', 1)


def test_a_bad_message_placeholder_is_reported_by_lint_and_refused_by_every_check_before_any_output(
    cache_in: Path, write_pack: Callable[..., Path], tmp_path: Path
) -> None:
    assert BAD_PLACEHOLDER != MINI_PACK
    root = write_pack({"pack.yaml": BAD_PLACEHOLDER})
    from svcpolicy.authoring.lint import lint_pack

    assert any("names starting with __" in message.message for message in lint_pack(root).errors)
    records = _write_records(tmp_path / "records.jsonl", 1)
    for _ in ("cold", "warm"):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code, out = _check(records, "--pack", root, "--format", "jsonl")
        assert (code, out) == (2, "")
        assert "pack.yaml:25:31: `.__class__`: names starting with __ are not allowed" in err.getvalue()


def test_a_message_template_is_compiled_when_first_rendered(write_pack: Callable[..., Path], tmp_path: Path) -> None:
    policy = svcpolicy.load_policy(write_pack({"pack.yaml": BAD_PLACEHOLDER}))
    compliant = tmp_path / "compliant.jsonl"
    compliant.write_text(json.dumps({"id": "R1", "operations": [operation("2026-01-05T09:58:00+08:00")]}) + "\n")
    assert policy.evaluate(compliant, as_of=AS_OF).counts.with_violations == 0  # no message written, none compiled
    with pytest.raises(ExpressionError, match=re.escape("pack.yaml:25:31: `.__class__`")):
        policy.evaluate(_write_records(tmp_path / "violating.jsonl", 1), as_of=AS_OF)
    with pytest.raises(PackErrors, match="__class__"):
        policy.compile_messages()


def _as_reported(findings: list[Finding]) -> list[tuple[object, ...]]:
    """What a finding says, without the file it came from."""
    return [(f.rule, f.outcome, f.record.id, f.record.path, f.message_zh, f.message_en, f.evidence) for f in findings]


def test_the_first_records_of_a_kind_are_judged_by_the_closures_and_the_rest_by_its_generated_function(
    mini: svcpolicy.Policy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[int] = []
    generate = KindProgram.generate

    def counted(programs: tuple[object, ...], generator: object) -> KindProgram | None:
        made.append(len(programs))
        return generate(programs, generator)  # type: ignore[arg-type]

    monkeypatch.setattr(KindProgram, "generate", counted)
    short = _write_records(tmp_path / "short.jsonl", compiled.JUDGED_BY_CLOSURES)
    long = _write_records(tmp_path / "long.jsonl", 3 * compiled.JUDGED_BY_CLOSURES)
    short_report = mini.evaluate(short, as_of=AS_OF)
    assert made == [], "a short run does not generate the kind's function"
    long_report = mini.evaluate(long, as_of=AS_OF)
    assert made == [1]

    assert len(long_report.findings) == compiled.JUDGED_BY_CLOSURES  # every third record of three times as many

    monkeypatch.setattr(compiled, "JUDGED_BY_CLOSURES", 0)
    all_generated = svcpolicy.load_policy(mini.definition.root).evaluate(long, as_of=AS_OF)
    assert long_report.findings == all_generated.findings
    assert _as_reported(short_report.findings) == _as_reported(all_generated.findings)[: len(short_report.findings)]


def test_the_bundled_demo_records_give_the_same_findings_whichever_way_they_are_judged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    examples = REPO / "examples" / "records.jsonl"
    by_closures = svcpolicy.load_policy().evaluate(examples, as_of=AS_OF)
    monkeypatch.setattr(compiled, "JUDGED_BY_CLOSURES", 0)
    generated = svcpolicy.load_policy().evaluate(examples, as_of=AS_OF)
    assert by_closures.findings == generated.findings


GUARDED_RULE = """\
  - id: SVC-017-phone-wait
    title: A phone customer waited longer than the minimum score allows
    cite: [svc-rules/16]
    severity: medium
    applies_if: channel == "phone"
    when: wait_minutes > params.min_score
    message:
      zh: "电话客户等待 {wait_minutes} 分钟"
      en: "A phone customer waited {wait_minutes} minutes"
"""
PHONE_WAIT = "wait_minutes > params.min_score"


def _records(path: Path, *channels: str) -> Path:
    """One record per channel, each waiting 10 minutes with an unauthorised operation (a violation of SVC-016)."""
    lines = (
        json.dumps({"id": f"R{i}", "channel": channel, "wait_minutes": 10, "operations": [operation(None)]})
        for i, channel in enumerate(channels)
    )
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_a_pack_that_compiled_before_compiles_each_rule_when_a_record_first_reaches_it_and_judges_alike(
    cache_in: Path, write_pack: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_pack({"pack.yaml": MINI_PACK + GUARDED_RULE})
    counter_then_phone = _records(tmp_path / "both.jsonl", "counter", "phone")
    whole = svcpolicy.load_policy(root)  # the first load compiles every rule, and keeps the verdict
    compiled_sources: list[str] = []
    compile_expression = Compiler.compile

    def counted(self: Compiler, source: str, **kwargs: Any) -> Any:
        compiled_sources.append(source)
        return compile_expression(self, source, **kwargs)

    monkeypatch.setattr(Compiler, "compile", counted)
    deferred = svcpolicy.load_policy(root)
    assert compiled_sources == [], "nothing compiled before a record needs it"

    deferred.evaluate(_records(tmp_path / "counter.jsonl", "counter"), as_of=AS_OF)
    assert 'channel == "phone"' in compiled_sources, "the guard decides whether the rule applies"
    assert PHONE_WAIT not in compiled_sources, "a rule whose guard excludes every record met is not compiled"

    report = deferred.evaluate(counter_then_phone, as_of=AS_OF)
    assert PHONE_WAIT in compiled_sources
    assert [(f.rule, f.record.id) for f in report.findings] == [
        ("SVC-016-unauthorized-operation", "R0"),
        ("SVC-016-unauthorized-operation", "R1"),
        ("SVC-017-phone-wait", "R1"),
    ]
    assert _as_reported(report.findings) == _as_reported(whole.evaluate(counter_then_phone, as_of=AS_OF).findings)
    assert [p.when.source for p in deferred.programs] == [p.when.source for p in whole.programs]


def test_a_warm_load_takes_the_rules_parsed_expressions_from_the_cache_and_parses_none_of_them(
    cache_in: Path, write_pack: Callable[..., Path], tmp_path: Path
) -> None:
    root = write_pack({"pack.yaml": MINI_PACK + GUARDED_RULE})
    phone = _records(tmp_path / "phone.jsonl", "phone")
    run = (
        "import datetime, json, svcpolicy\n"
        "from svcpolicy.expr import parser\n"
        "parsed = []\n"
        "parse = parser._Parser.parse\n"
        "def counted(self):\n"
        "    parsed.append(self.source)\n"
        "    return parse(self)\n"
        "parser._Parser.parse = counted\n"
        f"policy = svcpolicy.load_policy({str(root)!r})\n"
        f"report = policy.evaluate({str(phone)!r}, as_of=datetime.datetime.fromisoformat({AS_OF.isoformat()!r}))\n"
        "print(json.dumps([parsed, [(f.rule, f.message_en) for f in report.findings]]))\n"
    )
    runs = []
    for _ in ("cold", "warm"):
        result = subprocess.run([sys.executable, "-c", run], capture_output=True, text=True, check=True)
        runs.append(json.loads(result.stdout.splitlines()[-1]))
    (cold_parsed, cold_findings), (warm_parsed, warm_findings) = runs
    assert {PHONE_WAIT, 'channel == "phone"'} <= set(cold_parsed)
    assert not {PHONE_WAIT, 'channel == "phone"'} & set(warm_parsed), warm_parsed
    assert warm_findings == cold_findings
    assert [rule for rule, _ in warm_findings] == ["SVC-016-unauthorized-operation", "SVC-017-phone-wait"]


def test_a_pack_that_does_not_compile_is_refused_with_the_rule_location_at_every_load(
    cache_in: Path, write_pack: Callable[..., Path]
) -> None:
    root = write_pack(
        {"pack.yaml": MINI_PACK.replace("op.authorization.at > op.at", "op.authorization.at > params.max_score")}
    )
    for _ in ("cold", "warm"):
        with pytest.raises(PackErrors, match=r"pack\.yaml:\d+:\d+: .*max_score"):
            svcpolicy.load_policy(root)
    assert not list(cache_in.glob("kept-parsed-trees-*")), "a refusal is not kept: the pack is compiled whole each time"


def test_the_bundled_demo_records_give_the_same_findings_from_a_pack_compiled_whole_or_rule_by_rule(
    cache_in: Path,
) -> None:
    examples = REPO / "examples" / "records.jsonl"
    whole = svcpolicy.load_policy().evaluate(examples, as_of=AS_OF)
    assert list(cache_in.glob("kept-parsed-trees-*")), "the verdict the next load defers compiling on"
    rule_by_rule = svcpolicy.load_policy().evaluate(examples, as_of=AS_OF)
    assert rule_by_rule.findings == whole.findings


def test_a_damaged_set_of_kept_expressions_makes_the_next_load_compile_the_pack_whole_and_keep_them_anew(
    cache_in: Path,
) -> None:
    """A truncated or foreign file where the parsed expressions are kept is never trusted: the pack is parsed
    and compiled whole, as on a first run, and the file is written again."""
    examples = REPO / "examples" / "records.jsonl"
    whole = svcpolicy.load_policy().evaluate(examples, as_of=AS_OF)
    (kept,) = cache_in.glob("kept-parsed-trees-*")
    kept.write_bytes(b"\x80\x05not a pickle")
    again = svcpolicy.load_policy()
    assert all("applies_if" in vars(program) for program in again.programs), "compiled whole, not on first use"
    assert again.evaluate(examples, as_of=AS_OF).findings == whole.findings
    assert kept.read_bytes() != b"\x80\x05not a pickle", "kept anew by the load that compiled whole"


YAML_IMPORTERS = (
    "import builtins, sys\n"
    "importers = set()\n"
    "plain_import = builtins.__import__\n"
    "def noting_import(name, globals=None, *args, **kwargs):\n"
    "    if name.split('.')[0] == 'yaml' and globals and globals.get('__name__', '').startswith('svcpolicy'):\n"
    "        importers.add(globals['__name__'])\n"
    "    return plain_import(name, globals, *args, **kwargs)\n"
    "builtins.__import__ = noting_import\n"
)
"""Notes each svcpolicy module whose code runs ``import yaml`` (at its top, or in a function when called)."""


def test_a_warm_check_of_a_jsonl_file_never_imports_the_yaml_parser(tmp_path: Path) -> None:
    """The pack comes from the cache, no year file is given and the records are JSONL: neither the pack loader, nor
    the calendar, nor the record reader (which imports the parser for ``.yaml`` record files only) reads YAML."""
    cold, warm = _cold_then_warm_check(tmp_path, YAML_IMPORTERS, "importers")
    assert "svcpolicy.pack.yaml_source" in cold, "the first run reads the pack's YAML"
    assert not warm, sorted(warm)


def _sites(definition: PackDefinition) -> list[Site]:
    return [
        *definition.rule_sites,
        *definition.source_sites.values(),
        *definition.parameter_sites.values(),
        *definition.sequence_sites,
    ]


def test_every_position_in_a_pack_from_the_cache_is_the_one_its_yaml_gave() -> None:
    """The cached documents keep their positions packed until asked: each path's ``file:line:col`` (of a value, and
    of an expression's first character inside its quotes) is what reading the YAML gave, and so is each value."""
    read = read_pack(REPO / "rules" / "cn-bank-service")
    unpickled = pickle.loads(pickle.dumps(read, pickle.HIGHEST_PROTOCOL))  # noqa: S301 - pickled just above
    documents = {id(site.doc): site.doc for site in _sites(read)}
    again = {site.doc.file: site.doc for site in _sites(unpickled)}
    assert len(documents) == len(again) > 10
    for document in documents.values():
        kept = again[document.file]
        assert kept.positions, document.file
        for loc in document.positions:
            assert str(kept.location(loc)) == str(document.location(loc))
            assert kept.expression_location(loc) == document.expression_location(loc)
        assert kept.value == document.value
        assert kept == document


def test_a_definition_from_the_cache_unpickles_its_sequences_when_first_read_and_they_equal_the_yamls(
    cache_in: Path,
) -> None:
    read = read_pack(REPO / "rules" / "cn-bank-service")
    svcpolicy.load_policy()  # keeps the definition in the cache
    warm = read_pack_cached(REPO / "rules" / "cn-bank-service")
    assert "sequences" not in vars(warm), "still pickled"
    again = pickle.loads(pickle.dumps(warm, pickle.HIGHEST_PROTOCOL))  # noqa: S301 - pickled just above
    assert "sequences" not in vars(again), "pickled again (to a worker) without being unpickled"
    assert read.sequences and warm.sequences == read.sequences and again.sequences == read.sequences
    assert warm == read
    with pytest.raises(AttributeError, match="no attribute 'sequencez'"):
        warm.sequencez  # type: ignore[attr-defined]  # noqa: B018 - the attribute read is the test


def test_a_document_from_the_cache_unpacks_only_the_group_of_positions_asked_for(cache_in: Path) -> None:
    """Placing a rule's ``id`` unpacks the positions under it, not its examples' (nor the document's value)."""
    svcpolicy.load_policy()  # compiles whole, keeps the definition and its trees
    warm = read_pack_cached(REPO / "rules" / "cn-bank-service")
    site = warm.rule_sites[0]
    assert site.doc._groups.is_packed(), "nothing unpacked before a position is asked for"
    assert site.at("id").line > 0
    groups = site.doc._groups.get()
    assert not isinstance(groups[(*site.loc, "id")], bytes), "the group asked for is unpacked"
    assert isinstance(groups[(*site.loc, "examples")], bytes), "the examples' positions are still packed"
    assert site.doc._value.is_packed(), "the value is still packed"


def test_a_damaged_kept_tree_is_parsed_again_and_judges_alike(cache_in: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each kept tree is unpickled when its rule compiles: one that cannot be read is parsed from its source."""
    examples = REPO / "examples" / "records.jsonl"
    whole = svcpolicy.load_policy().evaluate(examples, as_of=AS_OF)
    (kept,) = cache_in.glob("kept-parsed-trees-*")
    trees = pickle.loads(user_cache.read_checked(kept) or b"")  # noqa: S301 - written by the load above
    user_cache.write_checked(kept, pickle.dumps({key: b"\x80\x05damaged" for key in trees}))  # the digest holds
    monkeypatch.setattr(parser, "_earlier", {})
    parser._parse.cache_clear()
    again = svcpolicy.load_policy()
    assert again.evaluate(examples, as_of=AS_OF).findings == whole.findings
