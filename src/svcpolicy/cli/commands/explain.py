"""``svcpolicy explain``: a provision's text and the rules that enforce it, or a rule and what it cites."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, TextIO

from svcpolicy.errors import SvcPolicyError
from svcpolicy.reporting.escaping import printable

if TYPE_CHECKING:
    from svcpolicy.authoring.coverage import ProvisionCoverage
    from svcpolicy.pack.definition import PackDefinition
    from svcpolicy.pack.schema import Rule


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query", help="an article label (第十六条), a provision reference (svc-rules/16) or a rule id")
    parser.add_argument("--pack", help="pack directory or file, or a bundled pack name (default: cn-bank-service)")


def run(args: argparse.Namespace) -> int:
    from svcpolicy.authoring.coverage import coverage
    from svcpolicy.pack.bundled import resolve_pack
    from svcpolicy.pack.loader import read_pack

    pack = read_pack(resolve_pack(args.pack))
    rows = coverage(pack).provisions
    rules = {rule.id: rule for rule in pack.rules}
    query = args.query.strip()
    if not query:
        raise SvcPolicyError("explain needs an article label (第十六条), a provision reference or a rule id")
    matches = [r for r in rows if query in (r.ref, r.label)]
    if matches:
        for row in matches:
            _provision(row, rules, sys.stdout)
        return 0
    rule = rules.get(query) or _only_rule_starting(query, pack)
    if rule is not None:
        _rule(rule, pack, sys.stdout)
        return 0
    raise SvcPolicyError(
        f"nothing in pack {pack.manifest.pack} is called {printable(repr(query))} (try a label like 第十六条)"
    )


def _only_rule_starting(prefix: str, pack: PackDefinition) -> Rule | None:
    """The one rule whose id starts with the prefix (``SVC-016``); a prefix several ids share is an error naming
    them, rather than the first of them explained as if it were the one meant."""
    found = [rule for rule in pack.rules if rule.id.startswith(prefix)]
    if len(found) > 1:
        named = ", ".join(rule.id for rule in found[:AMBIGUOUS_NAMED])
        more = f" and {len(found) - AMBIGUOUS_NAMED} more" if len(found) > AMBIGUOUS_NAMED else ""
        raise SvcPolicyError(f"{len(found)} rules start with {printable(repr(prefix))}: {named}{more}; name one")
    return found[0] if found else None


AMBIGUOUS_NAMED = 10
"""An ambiguous rule id prefix is answered with at most this many of the rules it could mean."""


def _provision(row: ProvisionCoverage, rules: dict[str, Rule], out: TextIO) -> None:
    chapter = f" {row.chapter}" if row.chapter else ""
    out.write(f"{row.title} {row.label or '(article number unconfirmed)'}{chapter}  [{row.ref}]\n")
    out.write(f"  「{row.text}」\n  class: {row.class_}")
    out.write(f" — {row.reason}\n" if row.reason else "\n")
    if row.note:
        out.write(f"  note: {row.note}\n")
    if row.restates:
        out.write(f"  restates: {', '.join(row.restates)}\n")
    enforcing = [*row.rules, *(r for r in row.via_restated if r not in row.rules)]
    if not enforcing:
        out.write("  enforced by: no rule\n\n")
        return
    out.write("  enforced by:\n")
    for rule_id in enforcing:
        rule = rules[rule_id]
        out.write(f"    {rule.id} [{rule.severity}] {rule.title}\n      when: {' '.join(rule.when.split())}\n")
    out.write("\n")


def _rule(rule: Rule, pack: PackDefinition, out: TextIO) -> None:
    out.write(f"{rule.id} [{rule.severity}] {rule.title}\n")
    if rule.title_zh:
        out.write(f"  {rule.title_zh}\n")
    for description in (rule.description, rule.description_zh):
        if description:
            out.write(f"  {' '.join(description.split())}\n")
    for ref in rule.cite:
        source_id, _, provision_id = ref.partition("/")
        source = pack.sources[source_id]
        provision = source.provisions[provision_id]
        out.write(f"  cites {source.title} {provision.label or '(article number unconfirmed)'} [{ref}]\n")
        out.write(f"    「{provision.text}」\n")
    for key in ("kind", "applies_if", "for_each", "where"):
        value = getattr(rule, key)
        if value and value != "record":
            out.write(f"  {key}: {value}\n")
    for label, mapping in (("let", rule.let), ("group_by", rule.group_by), ("aggregate", rule.aggregate)):
        for name, text in mapping.items():
            out.write(f"  {label} {name} = {' '.join(text.split())}\n")
    out.write(f"  when: {' '.join(rule.when.split())}\n  message: {rule.message.zh} / {rule.message.en}\n")
    counts = {k: sum(e.expected == k for e in rule.examples) for k in ("violation", "compliant", "undetermined")}
    out.write(
        f"  examples: {counts['violation']} violating, {counts['compliant']} compliant, "
        f"{counts['undetermined']} undetermined\n"
    )
    for example in rule.examples:
        out.write(f"    - {example.expected}: {example.name or ''}\n")
