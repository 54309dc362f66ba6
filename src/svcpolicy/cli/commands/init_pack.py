"""``svcpolicy init-pack NAME [--extends BASE]``: scaffold a pack (a branch overlay when it extends one).

The scaffold is a working pack: one example rule with embedded examples, one test file, and the bank's own
source document with a placeholder where the article is to be transcribed verbatim (``svcpolicy lint`` warns
until it is). ``svcpolicy lint NAME`` and ``svcpolicy test NAME`` pass on it as generated.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from svcpolicy.authoring.lint import SCAFFOLD_MARKER
from svcpolicy.cli.exits import EXIT_ERROR, EXIT_OK
from svcpolicy.errors import PackError, PackErrors
from svcpolicy.pack.loader import read_pack
from svcpolicy.pack.schema import RULE_ID_PATTERN

PACK_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
SOURCE_ID = "branch-rules"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="the pack id: lower-case letters, digits and hyphens (e.g. sh-pudong-branch)")
    parser.add_argument("--extends", metavar="BASE", help="base pack: a bundled pack name or a pack directory")
    parser.add_argument("--dir", type=Path, help="where to create the pack (default: ./NAME)")
    parser.add_argument("--title", help="the pack's title (default: derived from NAME)")


def rule_prefix(name: str) -> str:
    """A rule-id prefix from a pack id: ``sh-pudong-branch`` -> ``SHPUDONGBRANCH`` (letters first)."""
    prefix = re.sub(r"[^A-Z0-9]", "", name.upper()).lstrip("0123456789")[:12]
    return prefix or "BR"


def scaffold_files(name: str, *, extends: str | None, timezone: str, title: str) -> dict[str, str]:
    """The files of a new pack, by path relative to its directory."""
    rule_id = f"{rule_prefix(name)}-001-counter-wait"
    assert re.match(RULE_ID_PATTERN, rule_id)  # noqa: S101 - rule_prefix guarantees it
    extends_lines = (
        f"extends: {extends}                 # the base pack: its rules all apply; this pack adds to them\n"
        "# tighten:                          # give base parameters stricter values (never looser), e.g.\n"
        "#   max_wait_minutes: 20\n"
        if extends
        else ""
    )
    kind = "branch overlay" if extends else "pack"
    pack_yaml = f"""\
# A {kind} scaffolded by `svcpolicy init-pack`. Check it with `svcpolicy lint` and `svcpolicy test`.
# An overlay may add sources, parameters and rules and tighten its base's parameters; it never drops or
# loosens what the base defines.
pack: {name}
title: {title}
version: "0.1"
{extends_lines}timezone: "{timezone}"
include:
  - sources/*.yaml
  - rules/*.yaml
"""
    sources_yaml = f"""\
# The bank's own document this pack transcribes. Copy each article's text verbatim: findings quote it.
sources:
  {SOURCE_ID}:
    title: {title}
    kind: bank
    reference: null            # e.g. the document number of the branch's rules
    provisions:
      "1":
        label: 第一条
        chapter: null
        class: record
        text: "{SCAFFOLD_MARKER}: 逐字抄录本行细则的条文 (transcribe the article verbatim)"
"""
    rules_yaml = f"""\
# One example rule. Copy it to write more; every rule cites the provisions it enforces.
parameters:
  branch_counter_wait_minutes:
    unit: minutes
    description: 柜面客户最长等候时间 (本行细则)
    value: 15
    cite: [{SOURCE_ID}/1]
    bank_set: true

rules:
  - id: {rule_id}
    title: A counter customer waited longer than this bank's own target
    title_zh: 柜面客户等候时间超过本行自定目标
    cite: [{SOURCE_ID}/1]
    severity: low
    applies_if: channel == "counter"
    when: wait_minutes > params.branch_counter_wait_minutes
    message:
      zh: "柜面客户等候 {{wait_minutes}} 分钟，超过本行承诺的 {{params.branch_counter_wait_minutes}} 分钟"
      en: >-
        A counter customer waited {{wait_minutes}} minutes,
        more than this bank's {{params.branch_counter_wait_minutes}}
    examples:
      - name: waited 45 minutes
        violates: {{channel: counter, wait_minutes: 45}}
      - name: waited 16 minutes
        violates: {{channel: counter, wait_minutes: 16}}
      - name: waited 15 minutes, the target itself
        complies: {{channel: counter, wait_minutes: 15}}
      - name: phone queues are not judged by this rule
        complies: {{channel: phone, wait_minutes: 45}}
      - name: the export does not give the wait
        undetermined: {{channel: counter}}
        missing: wait_minutes
"""
    tests_yaml = f"""\
# Cases for `svcpolicy test`: records, and exactly the findings the pack must give them.
as_of: 2026-11-27T00:00:00+08:00
cases:
  - name: a 40-minute wait at the counter breaches the target
    records:
      - {{id: R1, channel: counter, wait_minutes: 40}}
    rules: [{rule_id}]
    expect:
      - {{rule: {rule_id}, record: R1, outcome: violation}}
  - name: a 10-minute wait is within it
    records:
      - {{id: R2, channel: counter, wait_minutes: 10}}
    rules: [{rule_id}]
    expect: []
  - name: a record without the wait cannot be decided
    records:
      - {{id: R3, channel: counter}}
    rules: [{rule_id}]
    expect:
      - {{rule: {rule_id}, record: R3, outcome: undetermined, missing: wait_minutes}}
"""
    return {
        "pack.yaml": pack_yaml,
        "sources/branch-rules.yaml": sources_yaml,
        "rules/example.yaml": rules_yaml,
        "tests/example.yaml": tests_yaml,
    }


def run(args: argparse.Namespace) -> int:
    name: str = args.name
    if not PACK_ID.match(name):
        print(f"svcpolicy init-pack: {name!r} is not a pack id (lower-case letters, digits, hyphens)", file=sys.stderr)
        return EXIT_ERROR
    target: Path = args.dir if args.dir is not None else Path(name)
    if target.exists() and any(target.iterdir()):
        print(f"svcpolicy init-pack: {target} exists and is not empty; nothing written", file=sys.stderr)
        return EXIT_ERROR
    timezone = "+08:00"
    extends: str | None = args.extends
    if extends is not None:
        base_path = Path(extends)
        try:
            base = read_pack(base_path if base_path.exists() else _bundled(extends))
        except (PackError, PackErrors) as exc:
            print(f"svcpolicy init-pack: the base pack {extends!r} does not load:\n{exc}", file=sys.stderr)
            return EXIT_ERROR
        timezone = base.manifest.timezone
        if base_path.exists():  # written relative to the new pack's directory, as `extends:` reads it
            extends = Path(os.path.relpath(base_path.resolve(), target.resolve())).as_posix()
    title = args.title or f"{name} 客户服务细则"
    for relative, text in scaffold_files(name, extends=extends, timezone=timezone, title=title).items():
        path = target / relative
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:  # a read-only folder, a file in the way: said in words, not as an errno
            print(f"svcpolicy init-pack: cannot write {exc.filename or path}: {exc.strerror}", file=sys.stderr)
            return EXIT_ERROR
        print(f"created {path}")
    print(
        f"next: transcribe the article in {target / 'sources/branch-rules.yaml'}, then run "
        f"`svcpolicy lint {target}` and `svcpolicy test {target}`"
    )
    return EXIT_OK


def _bundled(name: str) -> Path:
    from svcpolicy.pack.bundled import bundled_pack_path

    return bundled_pack_path(name)
