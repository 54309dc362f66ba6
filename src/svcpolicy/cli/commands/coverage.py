"""``svcpolicy coverage``: every provision of a pack, its class, the rules enforcing it, and totals."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, TextIO

import orjson

if TYPE_CHECKING:
    from svcpolicy.authoring.coverage import Coverage


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pack", help="pack directory or file, or a bundled pack name (default: cn-bank-service)")
    parser.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    parser.add_argument("--gaps", action="store_true", help="exit 1 when a checkable provision is not enforced")


def run(args: argparse.Namespace) -> int:
    from svcpolicy.authoring.coverage import coverage
    from svcpolicy.pack.bundled import resolve_pack
    from svcpolicy.pack.loader import read_pack

    pack = read_pack(resolve_pack(args.pack))
    matrix = coverage(pack)
    {"text": _text, "json": _json, "markdown": _markdown}[args.format](matrix, sys.stdout)
    return 1 if args.gaps and matrix.gaps else 0


def _rules(row_rules: tuple[str, ...], via: tuple[str, ...]) -> str:
    return ", ".join([*row_rules, *(f"{r} (via restated)" for r in via if r not in row_rules)]) or "-"


def _text(matrix: Coverage, out: TextIO) -> None:
    from svcpolicy.authoring.coverage import CHECKABLE

    current = None
    for row in matrix.provisions:
        if row.source != current:
            current = row.source
            out.write(f"\n{row.title}  [{row.source}]\n")
        label = row.label or "(article number unconfirmed)"
        mark = "!!" if row.gap else "  "
        detail = _rules(row.rules, row.via_restated) if row.class_ in CHECKABLE else (row.reason or row.note or "")
        out.write(f" {mark} {label:<14} {row.class_!s:<14} {detail}\n")
    out.write("\n")
    _totals(matrix, out)


def _totals(matrix: Coverage, out: TextIO) -> None:
    totals = matrix.totals()
    classes = ("record", "aggregate", "event", "not-checkable")
    out.write(f"{'source':<24}{'provisions':>11}" + "".join(f"{c:>15}" for c in classes) + f"{'enforced':>12}\n")
    grand: dict[str, int] = {}
    for source, counts in totals.items():
        for key, value in counts.items():
            grand[key] = grand.get(key, 0) + value
        out.write(_total_line(source, counts, classes))
    out.write(_total_line("all", grand, classes))
    gaps = matrix.gaps
    out.write(
        f"{len(matrix.provisions)} provisions, 100 % classified; "
        f"{grand.get('enforced', 0)} of {grand.get('checkable', 0)} checkable provisions enforced"
        + (f"; not enforced: {', '.join(g.ref for g in gaps)}\n" if gaps else "\n")
    )


def _total_line(name: str, counts: dict[str, int], classes: tuple[str, ...]) -> str:
    enforced = f"{counts.get('enforced', 0)}/{counts.get('checkable', 0)}"
    return (
        f"{name:<24}{counts.get('provisions', 0):>11}"
        + "".join(f"{counts.get(c, 0):>15}" for c in classes)
        + (f"{enforced:>12}\n")
    )


def _json(matrix: Coverage, out: TextIO) -> None:
    out.write(orjson.dumps(matrix.to_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")


def _markdown(matrix: Coverage, out: TextIO) -> None:
    from svcpolicy.authoring.coverage import CHECKABLE

    out.write(f"# Coverage of {matrix.pack} {matrix.version}\n\n")
    out.write("| provision | label | class | enforced by / reason |\n|---|---|---|---|\n")
    for row in matrix.provisions:
        detail = _rules(row.rules, row.via_restated) if row.class_ in CHECKABLE else (row.reason or row.note or "")
        flag = " **(not enforced)**" if row.gap else ""
        out.write(f"| {row.ref} | {row.label or 'unconfirmed'} | {row.class_} | {detail}{flag} |\n")
    out.write("\n| source | provisions | record | aggregate | event | not-checkable | enforced |\n")
    out.write("|---|---|---|---|---|---|---|\n")
    for source, counts in matrix.totals().items():
        cells = [counts.get(k, 0) for k in ("provisions", "record", "aggregate", "event", "not-checkable")]
        out.write(f"| {source} | " + " | ".join(map(str, cells)))
        out.write(f" | {counts.get('enforced', 0)}/{counts.get('checkable', 0)} |\n")
