"""``svcpolicy check``: evaluate record files against a pack; the compliance gate."""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import re
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import orjson

from svcpolicy.cli.config import Config, ConfigError, discover
from svcpolicy.cli.exits import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK
from svcpolicy.cli.progress import ProgressLine
from svcpolicy.engine.record_context import group_paths
from svcpolicy.errors import SourceLocation
from svcpolicy.gate.baseline import Baseline, load_baseline, write_baseline
from svcpolicy.gate.gate import Gate
from svcpolicy.gate.waivers import WaiverSet, load_waiver_files
from svcpolicy.pack.schema import Severity
from svcpolicy.policy import Policy, load_policy
from svcpolicy.reporting.formats import FILE_ENCODINGS, FORMATS, STREAMING
from svcpolicy.reporting.html import html_format_showing_customer_ids
from svcpolicy.results.dispositions import Status
from svcpolicy.results.findings import Finding
from svcpolicy.results.report import Report

NAME = "check"
HELP = "check record files against a rule pack"


def _as_of(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from exc
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"--as-of needs a time zone offset, e.g. {text}+08:00")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        help="record files: .jsonl .ndjson .json .yaml .yml .csv (globs allowed); "
        "default: the files of [tool.svcpolicy.records] in pyproject.toml",
    )
    parser.add_argument("--pack", help="pack directory or file, or a bundled pack name (default: cn-bank-service)")
    parser.add_argument("--format", choices=FORMATS, help="format written to stdout (default: text)")
    parser.add_argument(
        "--output",
        "-o",
        action="append",
        metavar="[FORMAT=]PATH",
        help="FORMAT=PATH writes that format to a file (repeatable: --output sarif=out.sarif --output junit=out.xml); "
        "a bare PATH receives the --format output instead of stdout",
    )
    parser.add_argument(
        "--fail-on",
        choices=[s.value for s in Severity],
        help="exit 1 when an open violation of this severity or above is found (default: info, i.e. any)",
    )
    parser.add_argument(
        "--fail-on-undetermined",
        action=argparse.BooleanOptionalAction,
        help="also exit 1 on open undetermined findings",
    )
    parser.add_argument("--lang", choices=("zh", "en"), help="language of messages (default zh)")
    parser.add_argument("--as-of", type=_as_of, help="reference time for open cases and waiver expiry (default: now)")
    parser.add_argument("--encoding", help="encoding of the record files (default utf-8)")
    parser.add_argument("--no-progress", action="store_true", help="never show the progress line")
    parser.add_argument(
        "--engine",
        choices=("native", "durable"),
        default="native",
        help="durable: judge record rules with durable-rules (same findings; rules it cannot express run natively "
        "and are listed on stderr)",
    )
    parser.add_argument(
        "--show-customer-ids",
        action="store_true",
        help="html format: show customer identifiers instead of masking them (svc-rules 第十条/第十五条)",
    )
    gate = parser.add_argument_group("waivers and baselines")
    gate.add_argument("--waivers", action="append", metavar="FILE", help="waiver file (YAML; repeatable)")
    gate.add_argument("--baseline", metavar="FILE", help="fail only on findings not in this baseline")
    gate.add_argument("--write-baseline", metavar="FILE", help="write this run's findings as a baseline")
    gate.add_argument(
        "--fail-on-stale-waivers",
        action=argparse.BooleanOptionalAction,
        help="exit 1 when a waiver matched nothing, expired or cannot apply",
    )
    project = parser.add_argument_group("configuration")
    project.add_argument("--config", metavar="PYPROJECT", help="read [tool.svcpolicy] from this file")
    project.add_argument("--no-config", action="store_true", help="ignore [tool.svcpolicy] in pyproject.toml")
    project.add_argument(
        "--only-configured",
        action="store_true",
        help="skip given files that no [tool.svcpolicy.records] glob matches (for pre-commit, which passes every "
        "changed file of a type)",
    )


def _expand(paths: Sequence[str]) -> list[str]:
    expanded: list[str] = []
    for path in paths:
        matches = sorted(glob.glob(path)) if glob.has_magic(path) else [path]
        expanded.extend(matches or [path])
    return expanded


def run(args: argparse.Namespace) -> int:
    config = discover(args.config, disabled=args.no_config)
    settings = resolve_settings(args, config)
    paths = _paths(args, config)
    if paths is None:
        print("svcpolicy: no record files given, and no [tool.svcpolicy.records] globs to find them", file=sys.stderr)
        return EXIT_ERROR
    waivers = load_waiver_files(settings.waivers) if settings.waivers else WaiverSet.empty()
    baseline = load_baseline(settings.baseline) if settings.baseline else None
    policy = load_policy(settings.pack)
    with ExitStack() as stack:
        outputs = [
            (fmt, stack.enter_context(_open(fmt, path)) if path else sys.stdout) for fmt, path in settings.outputs
        ]
        return _check(args, settings, policy, paths, waivers, baseline, outputs)


def _open(fmt: str, path: Path) -> TextIO:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("w", encoding=FILE_ENCODINGS.get(fmt, "utf-8"), newline="")


def _paths(args: argparse.Namespace, config: Config) -> list[str] | None:
    if not args.paths:
        if not config.values.records:
            return None
        return [str(p) for p in config.record_files()]
    paths = _expand(args.paths)
    if args.only_configured and config.values.records:
        wanted = config.record_file_set()
        kept = [p for p in paths if Path(p).resolve() in wanted]
        if len(kept) < len(paths):
            print(
                f"svcpolicy: skipped {len(paths) - len(kept)} file(s) that no [tool.svcpolicy.records] glob matches",
                file=sys.stderr,
            )
        paths = kept
    return paths


def _check(
    args: argparse.Namespace,
    settings: CheckSettings,
    policy: Policy,
    paths: list[str],
    waivers: WaiverSet,
    baseline: Baseline | None,
    outputs: list[tuple[str, TextIO]],
) -> int:
    progress = None if args.no_progress else ProgressLine.if_terminal()
    run = policy.iter_findings(
        paths,
        as_of=args.as_of,
        encoding=settings.encoding,
        progress=progress,
        keep_context=any(fmt == "html" for fmt, _ in settings.outputs),  # where, by whom, when
        engine=args.engine,
    )
    catalog = policy.catalog()
    gate = Gate(
        fail_on=settings.fail_on,
        fail_on_undetermined=settings.fail_on_undetermined,
        waivers=waivers,
        baseline=baseline,
        today=run.as_of.astimezone(policy.tz).date(),
        rules=catalog,
        pack=policy.ref,
        fail_on_stale_waivers=settings.fail_on_stale_waivers,
    )
    report = Report(
        pack=policy.ref,
        as_of=run.as_of,
        counts=run.counts,
        rules=catalog,
        gate=gate,
        records=run.records,
        group_paths=group_paths(policy.aggregates),
    )
    streams = [out for fmt, out in outputs if fmt in STREAMING]
    collect = settings.write_baseline is not None or any(fmt not in STREAMING for fmt, _ in outputs)
    try:
        for item in run:
            disposition = gate.observe(item, run.counts)
            for out in streams:
                line = {**item.to_dict(), **disposition.to_dict()}
                out.write(orjson.dumps(line, option=orjson.OPT_NON_STR_KEYS).decode() + "\n")
            if collect:
                if isinstance(item, Finding):
                    report.findings.append(item)
                else:
                    report.invalid.append(item)
    finally:
        if progress is not None:
            progress.close()
    report.input_failures = run.input_failures
    excused = 0
    if settings.write_baseline is not None:
        accepted = [
            f for f in report.findings if gate.waivable(f.rule) and gate.disposition(f).status is not Status.WAIVED
        ]
        written = write_baseline(settings.write_baseline, accepted, policy.ref, run.as_of)
        excused = gate.blocking_baselinable
        print(f"svcpolicy: wrote a baseline of {written} finding(s) to {settings.write_baseline}", file=sys.stderr)
    for fmt, out in outputs:
        if fmt not in STREAMING:
            reveal = fmt == "html" and args.show_customer_ids
            (html_format_showing_customer_ids if reveal else FORMATS[fmt])(report, out, settings.lang)
    for failure in run.input_failures:
        print(f"svcpolicy: {failure.source}: {failure.error}", file=sys.stderr)
    if run.engine_stats is not None:
        for rule, reason in run.engine_stats.native_rules:
            print(f"svcpolicy: {rule} runs on the closure engine: {reason}", file=sys.stderr)
        print(f"svcpolicy: {run.engine_stats.summary()}", file=sys.stderr)
    stdout_format = settings.outputs[0][0]
    if stdout_format != "text":
        print(run.counts.summary(), file=sys.stderr)
        for note in gate.notes():
            print(f"svcpolicy: {note}", file=sys.stderr)
    if run.input_failures:
        return EXIT_ERROR
    failed = gate.blocking - excused > 0 or (settings.fail_on_stale_waivers and bool(gate.stale()))
    return EXIT_FINDINGS if failed else EXIT_OK


@dataclass(frozen=True)
class CheckSettings:
    """The options of one check: flags first, then [tool.svcpolicy], then defaults."""

    pack: str | None
    fail_on: Severity
    fail_on_undetermined: bool
    fail_on_stale_waivers: bool
    lang: str
    encoding: str
    outputs: list[tuple[str, Path | None]]
    """(format, file) pairs; the first is the main output (stdout unless ``-o PATH``)."""
    waivers: list[Path]
    baseline: Path | None
    write_baseline: Path | None


def _output(spec: str, where: SourceLocation | None = None) -> tuple[str | None, Path]:
    """``sarif=out.sarif`` -> ("sarif", out.sarif); a bare path (or an unknown prefix) -> (None, path)."""
    name, sep, path = spec.partition("=")
    if sep and name in FORMATS and path:
        return name, Path(path)
    if sep and re.fullmatch(r"[a-z]+", name) and not Path(spec).parent.name:
        known = ", ".join(FORMATS)
        raise ConfigError(f"--output {spec}: unknown format {name!r} (known: {known})", where)
    return None, Path(spec)


def resolve_settings(args: argparse.Namespace, config: Config) -> CheckSettings:
    """Merge the flags over [tool.svcpolicy] over the defaults; paths in the file are relative to it."""
    cfg = config.values
    where = SourceLocation(str(config.file)) if config.file else None
    fmt = args.format or cfg.format or "text"
    if fmt not in FORMATS:
        raise ConfigError(f"[tool.svcpolicy] format: unknown format {fmt!r} (known: {', '.join(FORMATS)})", where)
    main: Path | None = None
    extra: list[tuple[str, Path | None]] = []
    if args.output:
        for spec in args.output:
            name, path = _output(spec)
            if name is None:
                main = path
            else:
                extra.append((name, path))
    else:
        for spec in cfg.output:
            name, path = _output(spec, where)
            extra.append((name or fmt, config.path(str(path))))
    waivers = [Path(p) for p in args.waivers] if args.waivers else [config.path(p) for p in cfg.waivers]
    baseline = Path(args.baseline) if args.baseline else (config.path(cfg.baseline) if cfg.baseline else None)
    return CheckSettings(
        pack=args.pack or config.pack(),
        fail_on=Severity(args.fail_on) if args.fail_on else (cfg.fail_on or Severity.INFO),
        fail_on_undetermined=_first(args.fail_on_undetermined, cfg.fail_on_undetermined, False),
        fail_on_stale_waivers=_first(args.fail_on_stale_waivers, cfg.fail_on_stale_waivers, False),
        lang=args.lang or cfg.lang or "zh",
        encoding=args.encoding or cfg.encoding or "utf-8",
        outputs=[(fmt, main), *extra],
        waivers=waivers,
        baseline=baseline,
        write_baseline=Path(args.write_baseline) if args.write_baseline else None,
    )


def _first(*values: bool | None) -> bool:
    return next(v for v in values if v is not None) is True
