"""``svcpolicy check``: evaluate record files against a pack; the compliance gate."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import glob
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from svcpolicy.cli.check_summary import ThresholdTally, header
from svcpolicy.cli.config import Config, ConfigError, discover
from svcpolicy.cli.exits import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK
from svcpolicy.cli.holidays import add_holidays_argument, holiday_calendar
from svcpolicy.cli.output_files import OutputFiles, refuse_unwritable
from svcpolicy.cli.progress import progress_for
from svcpolicy.cli.walk import RECORD_EXTENSIONS, record_files
from svcpolicy.engine.record_context import group_paths
from svcpolicy.errors import SourceLocation
from svcpolicy.gate.gate import Gate
from svcpolicy.gate.waivers import WaiverSet, load_waiver_files
from svcpolicy.pack.cache import cached_verdict
from svcpolicy.policy import Evaluation, Policy, load_policy
from svcpolicy.reporting.escaping import printable
from svcpolicy.reporting.masking import MaskedGate, Redactor
from svcpolicy.reporting.registry import FORMATS
from svcpolicy.reporting.wording import summary as summary_line
from svcpolicy.results.dispositions import GateVerdict, Status
from svcpolicy.results.findings import Finding, InvalidRecord
from svcpolicy.results.report import Report
from svcpolicy.severity import Severity

if TYPE_CHECKING:
    from svcpolicy.gate.baseline import Baseline
    from svcpolicy.spark import SparkRun


def _as_of(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from exc
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"--as-of needs a time zone offset, e.g. {value.isoformat()}+08:00")
    if not AS_OF_YEARS[0] <= value.year <= AS_OF_YEARS[1]:  # deadlines counted from it must stay dates
        raise argparse.ArgumentTypeError(f"--as-of must fall in the years {AS_OF_YEARS[0]} to {AS_OF_YEARS[1]}")
    return value


AS_OF_YEARS = (1000, 9000)
"""The years an --as-of may name: periods of up to ten years reckoned from it stay within Python's dates."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        help="record files: .jsonl .ndjson .json .yaml .yml .csv (globs allowed), or folders to walk for them "
        "(hidden folders skipped); default: the files of [tool.svcpolicy.records] in pyproject.toml",
    )
    parser.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="GLOB",
        help="in folders, check only files matching this glob (repeatable; default: the [tool.svcpolicy.records] "
        "files when configured, else every record file)",
    )
    parser.add_argument(
        "--exclude", action="append", default=[], metavar="GLOB", help="in folders, skip files matching this glob"
    )
    parser.add_argument("--pack", help="pack directory or file, or a bundled pack name (default: cn-bank-service)")
    parser.add_argument("--format", choices=FORMATS, help="format written to stdout (default: text)")
    parser.add_argument(
        "--output",
        "-o",
        action="append",
        metavar="[FORMAT=]PATH",
        help="FORMAT=PATH writes that format to a file (repeatable: --output sarif=out.sarif --output junit=out.xml); "
        "a bare PATH receives the --format output instead of stdout. Formats and their usual extensions: "
        + ", ".join(f"{f.name} ({f.extension})" for f in FORMATS.values()),
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
    add_holidays_argument(parser)
    parser.add_argument("--no-progress", action="store_true", help="never show the progress line")
    parser.add_argument(
        "--engine",
        choices=("native", "durable", "spark"),
        default="native",
        help="durable: judge record rules with durable-rules (same findings; rules it cannot express run natively "
        "and are listed on stderr); spark: judge on Spark (svcpolicy[spark]; same findings)",
    )
    parser.add_argument(
        "--jobs",
        "-j",
        type=int,
        metavar="N",
        help="worker processes (0: one per core; default: [tool.svcpolicy] jobs, else 1); same findings as 1",
    )
    parser.add_argument(
        "--spark-master", metavar="URL", help="with --engine spark: the cluster to run on (default: local[*])"
    )
    parser.add_argument(
        "--show-customer-ids",
        action="store_true",
        help="show customer identifiers (the pack's privacy: identifying_fields) instead of masking them in "
        "every format (svc-rules 第十条/第十五条)",
    )
    parser.add_argument(
        "--html-max-findings",
        type=_positive,
        default=HTML_MAX_FINDINGS,
        metavar="N",
        help=f"html format: show at most N findings (the counts and rates stay complete; default {HTML_MAX_FINDINGS})",
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


HTML_MAX_FINDINGS = 5000
"""Findings an HTML report shows by default: enough to work through, few enough to open and to keep in memory."""


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def _expand(paths: Sequence[str], args: argparse.Namespace, config: Config) -> list[str]:
    """Globs expanded and folders walked (:mod:`svcpolicy.cli.walk`); a plain file is kept as given."""
    configured = config.record_file_set() if config.values.records else None
    expanded: list[str] = []
    for path in paths:
        matches = sorted(glob.glob(path)) if glob.has_magic(path) else [path]
        for match in matches or [path]:
            if Path(match).is_dir():
                found = record_files(Path(match), include=args.include, exclude=args.exclude, configured=configured)
                if not found:
                    kinds = " ".join(sorted(RECORD_EXTENSIONS))
                    print(f"svcpolicy: {match}: no record files ({kinds}) in this folder", file=sys.stderr)
                expanded.extend(str(p) for p in found)
            else:
                expanded.append(match)
    return _once_each(expanded)


def _once_each(paths: list[str]) -> list[str]:
    """Each file once, in the order first named: a file named twice (``a.jsonl`` and ``dir/``, or two globs) would
    otherwise be read twice and its records reported as duplicates of themselves."""
    seen: dict[Path, str] = {}
    for path in paths:
        key = _same_file_key(path)
        if key in seen:
            if path != seen[key]:
                print(f"svcpolicy: {path}: the same file as {seen[key]}; checked once", file=sys.stderr)
            continue
        seen[key] = path
    return list(seen.values())


def _refuse_overwriting(settings: CheckSettings, paths: Sequence[str]) -> None:
    """Stop before any output file is opened over a file this run reads (it would be emptied before it is read,
    and its records lost) or over another output."""
    read = {_same_file_key(p): "record file" for p in paths}
    read |= {_same_file_key(p): "waiver file" for p in settings.waivers}
    if settings.baseline is not None:
        read[_same_file_key(settings.baseline)] = "baseline"
    written: dict[Path, str] = {}
    for option, path in _written_files(settings):
        key = _same_file_key(path)
        if key in read:
            raise ConfigError(f"{option} {path}: that is a {read[key]} of this run; writing it would destroy it")
        if key in written:
            raise ConfigError(f"{option} {path}: {written[key]} writes that file already")
        written[key] = option


def _written_files(settings: CheckSettings) -> list[tuple[str, Path]]:
    """The files this run writes, each with the option that names it."""
    targets = [(f"--output {fmt}", path) for fmt, path in settings.outputs if path is not None]
    if settings.write_baseline is not None:
        targets.append(("--write-baseline", settings.write_baseline))
    return targets


def _same_file_key(path: str | Path) -> Path:
    """The file a path names, links followed; a symbolic-link loop keeps its absolute path, so that reading it
    reports the loop as an unreadable input."""
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):
        return Path(os.path.abspath(path))


def run(args: argparse.Namespace) -> int:
    config = discover(args.config, disabled=args.no_config)
    settings = resolve_settings(args, config)
    paths = _paths(args, config)
    if paths is None:
        print("svcpolicy: no record files given, and no [tool.svcpolicy.records] globs to find them", file=sys.stderr)
        return EXIT_ERROR
    _refuse_overwriting(settings, paths)
    for option, path in _written_files(settings):
        refuse_unwritable(option, path)
    waivers = load_waiver_files(settings.waivers) if settings.waivers else WaiverSet.empty()
    baseline = None
    if settings.baseline:
        from svcpolicy.gate.baseline import load_baseline

        baseline = load_baseline(settings.baseline)
    policy = load_policy(settings.pack, calendar=holiday_calendar(args, config))
    refused = cached_verdict(policy.definition, "lint-errors", lambda: _refusals(policy))
    if refused:
        for message in refused:
            print(message, file=sys.stderr)
        print(
            f"svcpolicy: the pack has {len(refused)} lint error(s); fix them (svcpolicy lint) before checking",
            file=sys.stderr,
        )
        return EXIT_ERROR
    with OutputFiles() as files:
        outputs = [
            (fmt, files.open(f"--output {fmt}", path, FORMATS[fmt].encoding) if path else sys.stdout)
            for fmt, path in settings.outputs
        ]
        code = _check(args, settings, policy, paths, waivers, baseline, outputs)
        files.finish()
        return code


def _refusals(policy: Policy) -> list[str]:
    """What lint refuses in the pack, as printed; a message template that does not compile is raised (PackErrors),
    as loading the pack did when templates were compiled with it. Cached with the pack: a warm run neither lints
    nor compiles the templates of messages it does not write."""
    from svcpolicy.authoring.lint import lint_loaded

    policy.compile_messages()
    return [str(message) for message in lint_loaded(policy.definition).errors]


def _paths(args: argparse.Namespace, config: Config) -> list[str] | None:
    if not args.paths:
        if not config.values.records:
            return None
        return [str(p) for p in config.record_files()]
    paths = _expand(args.paths, args, config)
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
    progress = None if args.no_progress else progress_for(paths)
    keep_context = any(fmt == "html" for fmt, _ in settings.outputs)  # where, by whom, when
    masking = not args.show_customer_ids
    run: Evaluation | SparkRun
    if args.engine == "spark":
        from svcpolicy.spark import SparkRun, spark_session  # Spark only for its engine

        spark = spark_session(args.spark_master)
        run = SparkRun(
            policy,
            paths,
            spark,
            as_of=args.as_of,
            encoding=settings.encoding,
            keep_context=keep_context,
            keep_identifiers=masking,
        )
    else:
        run = policy.iter_findings(
            paths,
            as_of=args.as_of,
            encoding=settings.encoding,
            progress=progress,
            keep_context=keep_context,
            engine=args.engine,
            jobs=settings.jobs,
            keep_identifiers=masking,
            on_input_error="report",
        )
    catalog = policy.catalog()

    def gate_with(accepted: Baseline | None) -> Gate:
        return Gate(
            fail_on=settings.fail_on,
            fail_on_undetermined=settings.fail_on_undetermined,
            waivers=waivers,
            baseline=accepted,
            today=run.as_of.astimezone(policy.tz).date(),
            rules=catalog,
            pack=policy.ref,
            fail_on_stale_waivers=settings.fail_on_stale_waivers,
        )

    gate = gate_with(baseline)
    report = Report(
        pack=policy.ref,
        as_of=run.as_of,
        counts=run.counts,
        rules=catalog,
        records=run.records,
        group_paths=group_paths(policy.aggregates),
    )
    # customer identifiers are masked once, here, before any writer sees a finding
    redact = Redactor(run.identifiers, policy.definition.identifying_fields, report.group_paths) if masking else None
    collected = [(fmt, out) for fmt, out in outputs if FORMATS[fmt].stream is None]
    cap = args.html_max_findings
    collect_at_most = cap if collected and all(FORMATS[fmt].caps_findings for fmt, _ in collected) else None
    for fmt, out in outputs:
        if fmt == "text":
            out.write(header(paths, policy, settings.lang) + "\n\n")
    threshold = ThresholdTally(settings.fail_on)
    try:
        items: Iterable[Finding | InvalidRecord] = run
        if settings.write_baseline is not None:
            # writing a baseline accepts this run's findings: the run is judged by the baseline it writes
            items = list(run)
            written = _write_baseline(settings.write_baseline, items, gate, policy, run.as_of)
            gate = gate_with(written)
        # a waiver's record id may hold a customer's identifier; with a pack that declares them, it is masked
        identifying = bool(policy.definition.identifying_fields)
        waived_records = [p.waiver.record for p in waivers if p.waiver.record is not None and identifying]
        masked_gate = MaskedGate(gate, waived_records) if masking else None
        report.gate = masked_gate or gate
        streams = [
            opener(report, out, settings.lang) for fmt, out in outputs if (opener := FORMATS[fmt].stream) is not None
        ]
        for item in items:
            disposition = gate.observe(item, run.counts)
            threshold.observe(item, disposition)
            shown = redact(item) if redact is not None else item
            shown_disposition = masked_gate.shown(disposition, shown) if masked_gate is not None else disposition
            for stream in streams:
                stream.write(shown, shown_disposition)
            if collected:
                _collect(report, shown, collect_at_most, run.records)
    finally:
        run.close()  # read to the end, or stopped by Ctrl-C or an error: no worker outlives the command
        if progress is not None:
            progress.close()
    report.input_failures = run.input_failures
    verdict = gate.conclude(run.input_failures)
    for stream in streams:
        stream.close()
    for fmt, out in collected:
        shown_report = report
        if FORMATS[fmt].caps_findings and len(report.findings) > cap:
            shown_report = dataclasses.replace(report, findings=report.findings[:cap])
        FORMATS[fmt].writer(show_customer_ids=args.show_customer_ids)(shown_report, out, settings.lang)
    for failure in run.input_failures:
        print(f"svcpolicy: {printable(failure.source)}: {printable(failure.error)}", file=sys.stderr)
    below = threshold.summary(verdict, settings.lang)
    if below is not None:
        for fmt, out in outputs:
            if fmt == "text":
                out.write(below + "\n")
        if all(fmt != "text" for fmt, _ in outputs):
            print(f"svcpolicy: {below}", file=sys.stderr)
    if run.engine_stats is not None:
        for rule, reason in run.engine_stats.native_rules:
            print(f"svcpolicy: {rule} runs on the closure engine: {reason}", file=sys.stderr)
        print(f"svcpolicy: {run.engine_stats.summary()}", file=sys.stderr)
    stdout_format = settings.outputs[0][0]
    if stdout_format != "text":
        print(summary_line(run.counts, settings.lang), file=sys.stderr)
        for note in (report.gate or gate).notes():  # a waiver's id and record shown as text writes them
            print(f"svcpolicy: {printable(note)}", file=sys.stderr)
    return exit_code(verdict)


def _collect(
    report: Report, item: Finding | InvalidRecord, at_most: int | None, contexts: dict[tuple[str, int], Any]
) -> None:
    """Keep an item for the formats written at the end; past ``at_most`` findings, forget the finding and its
    record's context (a record's findings come one after another, so only the last kept one's stays)."""
    if isinstance(item, InvalidRecord):
        report.invalid.append(item)
    elif at_most is None or len(report.findings) < at_most:
        report.findings.append(item)
    else:
        locator = (item.record.source, item.record.line)
        last = report.findings[-1].record if report.findings else None
        if last is None or locator != (last.source, last.line):
            contexts.pop(locator, None)  # type: ignore[arg-type]


def exit_code(verdict: GateVerdict) -> int:
    """The gate's verdict as an exit code: 0 passed, 2 an input could not be read, 1 any other failure."""
    if verdict.passed:
        return EXIT_OK
    return EXIT_ERROR if verdict.input_failures else EXIT_FINDINGS


def _write_baseline(
    path: Path, items: list[Finding | InvalidRecord], gate: Gate, policy: Policy, as_of: dt.datetime
) -> Baseline:
    """Accept the run's findings in a baseline, except waived ones and those of rules that are not waivable."""
    accepted = [
        f
        for f in items
        if isinstance(f, Finding) and gate.waivable(f.rule) and gate.disposition(f).status is not Status.WAIVED
    ]
    from svcpolicy.gate.baseline import write_baseline

    written = write_baseline(path, accepted, policy.ref, as_of)
    print(f"svcpolicy: wrote a baseline of {len(written)} finding(s) to {path}", file=sys.stderr)
    return written


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
    jobs: int = 1
    """Worker processes (0: one per core)."""


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
        jobs=_jobs(args.jobs if args.jobs is not None else cfg.jobs),
    )


def _jobs(value: int | None) -> int:
    if value is not None and value < 0:
        raise ConfigError(f"--jobs is a number of processes (0: one per core), not {value}")
    return 1 if value is None else value


def _first(*values: bool | None) -> bool:
    return next(v for v in values if v is not None) is True
