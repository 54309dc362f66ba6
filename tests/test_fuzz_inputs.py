"""Fuzzing with a fixed budget: no record file, pack or expression, however broken, makes svcpolicy crash.

Records go through the readers, the engine and every output format of ``svcpolicy check``; packs through the
loader, the compiler and lint; expressions through the parser and, inside a pack, the engine. Every outcome
must be a result, an invalid record, or an :class:`~svcpolicy.errors.SvcPolicyError` — never another exception
(on the command line: never exit 3). CI replays the same examples (the ``ci`` profile of conftest.py).
"""

from __future__ import annotations

import json
import re
from contextlib import redirect_stderr, redirect_stdout, suppress
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import svcpolicy
from conftest import AS_OF, MINI_PACK, operation
from svcpolicy.authoring.lint import lint_pack
from svcpolicy.cli import main
from svcpolicy.cli.exits import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK
from svcpolicy.errors import ExpressionError, InputError, SvcPolicyError
from svcpolicy.expr.parser import parse
from svcpolicy.records.readers import read_records, validate

BUDGET = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
"""Fixed: about 25 s for the whole file."""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    (root / "pack").mkdir()
    (root / "pack" / "pack.yaml").write_text(MINI_PACK, encoding="utf-8")
    return root


def check_formats() -> list[str]:
    """Every format `svcpolicy check` writes, as its --help lists them."""
    out = StringIO()
    with redirect_stdout(out), pytest.raises(SystemExit):
        main(["check", "--help"])
    found = re.search(r"--format \{([a-z,]+)\}", out.getvalue())
    assert found is not None
    return found.group(1).split(",")


# -- strategies ------------------------------------------------------------------------------------------

SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
NASTY_TEXT = st.one_of(
    st.text(max_size=12),
    st.text(st.characters(codec=None, categories=("Cc", "Cf", "Co", "Zl", "Zp")), max_size=6),
    st.tuples(st.text(max_size=3), SURROGATES, st.text(max_size=3)).map("".join),  # lone: text() has none
    st.sampled_from(["2026-02-30", "2026-13-01", "2026-01-05T25:00:00+08:00", "9" * 5000, "\x1b]8;;x\x07", ""]),
)
NASTY_NUMBERS = st.one_of(
    st.integers(), st.integers(min_value=2**63), st.floats(), st.sampled_from([10**400, -(2**64), 1e308])
)
LEAVES = st.one_of(st.none(), st.booleans(), NASTY_NUMBERS, NASTY_TEXT)
JSON_VALUES = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NASTY_TEXT, inner, max_size=3),
    max_leaves=8,
)
FIELDS = ["id", "started_at", "channel", "customer", "operations", "steps", "extra", "employee", "complaint"]


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    """A record with the model's fields holding anything, and mostly an operation the mini pack's rule reports
    (its kind goes into the message every output format writes)."""
    record: dict[str, Any] = {"id": draw(st.one_of(st.text(max_size=8), st.integers(), NASTY_TEXT))}
    if draw(st.booleans()):  # not always: most such records are invalid, and do not reach the writers
        record.update((name, draw(JSON_VALUES)) for name in draw(st.lists(st.sampled_from(FIELDS), max_size=3)))
    if draw(st.integers(0, 3)):
        record["operations"] = [operation(None, kind=draw(NASTY_TEXT))]
    return record


def deeply_nested(depth: int) -> str:
    return '{"id": "D1", "extra": {"deep": ' + "[" * depth + "]" * depth + "}}"


def render(items: list[dict[str, Any]], suffix: str) -> bytes:
    """Records as a file of the format; surrogates written as JSON escapes, as a broken exporter would."""
    if suffix == ".jsonl":
        return "".join(json.dumps(item) + "\n" for item in items).encode()
    if suffix == ".json":
        return json.dumps(items).encode()
    if suffix == ".yaml":
        return yaml.safe_dump(items, allow_unicode=False).encode()
    header = sorted({key for item in items for key in item} | {"id", "customer.²"})
    rows = [",".join(json.dumps(str(item.get(key, "")))[1:-1] for key in header) for item in items]
    return "\n".join([",".join(header), *rows]).encode("utf-8", "surrogatepass")


@st.composite
def record_files(draw: st.DrawFn) -> tuple[str, bytes]:
    suffix = draw(st.sampled_from([".jsonl", ".json", ".yaml", ".csv"]))
    rendered = st.lists(records(), min_size=1, max_size=3).map(lambda items: render(items, suffix))
    content = draw(
        st.one_of(
            rendered,
            rendered,  # twice: records that parse reach the engine and the writers, where most can go wrong
            st.binary(max_size=200),
            st.integers(0, 3000).map(lambda depth: deeply_nested(depth).encode()),
        )
    )
    return suffix, content


PACK_SCALARS = st.one_of(
    NASTY_TEXT,
    st.sampled_from(
        ["2026-02-30", "!!bool maybe", "!!timestamp soon", "!!int x", "9" * 5000, "[" * 700 + "]" * 700, "&a [*a]"]
    ),
    st.text(st.sampled_from("[]{}:,-?*&!|>'\"#%@`\n \t\x00\x01\ufffe"), max_size=12),
)
PACK_PLACES = ['version: "1"', "value: 3", "class: record", "severity: critical", "for_each: op in operations"]


@st.composite
def packs(draw: st.DrawFn) -> str:
    """The mini pack with one value replaced, or random text inserted anywhere."""
    if draw(st.booleans()):
        place = draw(st.sampled_from(PACK_PLACES))
        key = place.split(":", 1)[0]
        return MINI_PACK.replace(place, f"{key}: {draw(PACK_SCALARS)}")
    at = draw(st.integers(0, len(MINI_PACK)))
    return MINI_PACK[:at] + draw(PACK_SCALARS) + MINI_PACK[at:]


TOKENS = [
    "customer",
    ".",
    "id",
    "ᵢd",
    "ｃ",
    "ﬁ",
    "op",
    "operations",
    "params.min_score",
    "as_of",
    "(",
    ")",
    "[",
    "]",
    "-",
    "not ",
    " and ",
    " or ",
    "==",
    " in ",
    " is None",
    "'a'",
    '"',
    "0",
    "1e309",
    "10**20",
    "any(",
    " for x in ",
    "x",
    " if ",
    " else ",
    "lambda",
    ":",
    ",",
    "__class__",
    "len(",
    "upper(",
    "\\",
    "\n",
    "[-" * 40,
    "(" * 30,
    " ",
]
EXPRESSIONS = st.one_of(st.lists(st.sampled_from(TOKENS), max_size=25).map("".join), st.text(max_size=40))


# -- the fuzz runs ---------------------------------------------------------------------------------------


@BUDGET
@given(record_files())
def test_no_record_file_crashes_the_readers_the_engine_or_any_output_format(
    workdir: Path, file: tuple[str, bytes]
) -> None:
    suffix, content = file
    path = workdir / f"records{suffix}"
    path.write_bytes(content)
    try:
        for raw in read_records(path):
            validate(raw)
    except InputError:
        pass
    outputs = [f"--output={fmt}={workdir / ('out.' + fmt)}" for fmt in check_formats()]
    err = StringIO()
    with redirect_stdout(StringIO()), redirect_stderr(err):
        code = main(
            [
                "check",
                str(path),
                "--pack",
                str(workdir / "pack"),
                "--as-of",
                AS_OF.isoformat(),
                "--no-config",
                "--no-progress",
                "--debug",
                *outputs,
            ]
        )
    assert code in (EXIT_OK, EXIT_FINDINGS, EXIT_ERROR), err.getvalue()


@BUDGET
@given(packs())
def test_no_pack_file_crashes_the_loader_the_compiler_or_lint(workdir: Path, text: str) -> None:
    pack = workdir / "fuzzed-pack"
    pack.mkdir(exist_ok=True)
    (pack / "pack.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
    with suppress(SvcPolicyError):
        svcpolicy.load_policy(pack)
    lint_pack(pack)


@settings(max_examples=300, deadline=None)
@given(EXPRESSIONS)
def test_no_expression_crashes_the_parser(source: str) -> None:
    with suppress(ExpressionError):
        parse(source)


@BUDGET
@given(EXPRESSIONS, st.lists(records(), max_size=2))
def test_no_expression_in_a_pack_crashes_the_engine(workdir: Path, source: str, items: list[dict[str, Any]]) -> None:
    pack = workdir / "expression-pack"
    pack.mkdir(exist_ok=True)
    when = "op.affects_customer_rights and (op.authorization is None or op.authorization.at > op.at)"
    text = MINI_PACK.replace(when, json.dumps(source))
    (pack / "pack.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        policy = svcpolicy.load_policy(pack)
    except SvcPolicyError:
        return
    policy.evaluate([*items, {"id": "R1", "operations": [operation(None)]}], as_of=AS_OF)
