"""Readers: every item located at its file:line, bad items become invalid records, bad files input errors."""

from __future__ import annotations

import codecs
import re
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from svcpolicy.errors import InputError
from svcpolicy.records import readers
from svcpolicy.records.readers import ByteRange, Locator, RawRecord, read_records, validate

NOT_UTF8 = "not valid utf-8 (is the file GBK? use --encoding gbk)"


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def outcomes(path: Path, **options: Any) -> list[tuple[int, str, str | None]]:
    """(line, record id or "-", error) for each item read from a file."""
    result: list[tuple[int, str, str | None]] = []
    for raw in read_records(path, **options):
        record, error, record_id = validate(raw)
        assert raw.locator.source == str(path)
        if record is not None:
            result.append((raw.locator.line, record["id"], None))
        else:
            result.append((raw.locator.line, record_id or "-", error))
    return result


# -- JSONL -------------------------------------------------------------------------------------------------


def test_jsonl_records_carry_their_line_numbers_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = write(tmp_path, "r.jsonl", '{"id": "a"}\n\n   \n{"id": "b"}\r\n{"id": "c"}')
    assert outcomes(path) == [(1, "a", None), (4, "b", None), (5, "c", None)]


def test_jsonl_payloads_are_the_raw_line_bytes_for_the_fast_path(tmp_path: Path) -> None:
    path = write(tmp_path, "r.ndjson", '{"id": "a"}\n')
    (raw,) = read_records(path)
    assert raw == RawRecord(Locator(str(path), 1), b'{"id": "a"}\n')
    assert str(raw.locator) == f"{path}:1"


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, "r.jsonl", b'\xef\xbb\xbf{"id": "a"}\n{"id": "b"}\n')
    assert outcomes(path) == [(1, "a", None), (2, "b", None)]


def test_a_broken_line_becomes_an_invalid_record_and_the_rest_are_read(tmp_path: Path) -> None:
    path = write(tmp_path, "r.jsonl", '{"id": "a"}\n{"id": "b", \n{"id": "c"}\n')
    assert outcomes(path) == [
        (1, "a", None),
        (2, "b", "invalid JSON at column 12: unexpected end of data"),  # the id is read from the raw text
        (3, "c", None),
    ]


def test_a_gbk_line_is_reported_with_a_hint_and_reading_goes_on(tmp_path: Path) -> None:
    gbk_line = '{"id": "b", "stated_need": "定期存款"}\n'.encode("gbk")
    path = write(tmp_path, "r.jsonl", b'{"id": "a"}\n' + gbk_line + '{"id": "c", "stated_need": "理财"}\n'.encode())
    assert outcomes(path) == [(1, "a", None), (2, "b", NOT_UTF8), (3, "c", None)]


def test_a_gbk_file_reads_with_its_encoding_named(tmp_path: Path) -> None:
    path = write(tmp_path, "r.jsonl", '{"id": "甲", "stated_need": "定期存款"}\n'.encode("gbk") + b"\xff\xff\n")
    raws = list(read_records(path, encoding="gbk"))
    record, _, _ = validate(raws[0])
    assert record == {"id": "甲", "stated_need": "定期存款"}
    assert raws[1] == RawRecord(Locator(str(path), 2), None, "not valid gbk")


def test_a_line_that_is_not_an_object_is_invalid(tmp_path: Path) -> None:
    path = write(tmp_path, "r.jsonl", '[{"id": "a"}]\n"text"\n')
    assert outcomes(path) == [(1, "-", "not a JSON object"), (2, "-", "not a JSON object")]


def test_an_invalid_record_keeps_its_id_and_a_compact_located_message(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "r.jsonl",
        '{"id": "R7", "operations": [{"at": "2026-01-05T10:00:00+08:00"}, {"at": "2026-01-05T10:00:00"}],'
        ' "customer": {"risk_tolerance": "高"}}\n',
    )
    assert outcomes(path) == [
        (
            1,
            "R7",
            "customer.risk_tolerance: Input should be a valid integer; "
            "operations.1.at: Input should have timezone info",
        )
    ]


def test_error_messages_do_not_repeat_the_input_which_may_hold_customer_data(tmp_path: Path) -> None:
    path = write(tmp_path, "r.jsonl", '{"id": "R1", "customer": {"age": "SECRET-13800138000"}}\n')
    ((_, _, error),) = outcomes(path)
    assert error is not None
    assert "SECRET" not in error


def test_many_errors_are_summarised(tmp_path: Path) -> None:
    path = write(tmp_path, "r.jsonl", '{"id": "R1", "steps": [' + ", ".join(['{"at": 1.5e99}'] * 8) + "]}\n")
    ((_, _, error),) = outcomes(path)
    assert error is not None
    assert error.count("steps.") == readers.MAX_ERRORS_SHOWN
    assert error.endswith("… and 3 more")


def test_a_line_over_the_limit_is_skipped_as_an_error_without_losing_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "MAX_LINE_BYTES", 64)
    long_line = '{"id": "x", "stated_need": "' + "x" * 500 + '"}\n'
    path = write(tmp_path, "r.jsonl", '{"id": "a"}\n' + long_line + '{"id": "c"}\n' + long_line.rstrip())
    too_long = "line is longer than 0 MiB"
    assert outcomes(path) == [(1, "a", None), (2, "-", too_long), (3, "c", None), (4, "-", too_long)]


def test_a_csv_row_over_the_limit_is_an_invalid_record_and_the_rows_after_it_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "MAX_LINE_BYTES", 64)
    monkeypatch.setattr(readers, "_LINE_BLOCK", 16)  # the long row spans several blocks, the last row ends at a CR
    path = write(tmp_path, "r.csv", b"id,stated_need\nR1,short\nR2," + b"x" * 200 + b"\nR3,short\r")
    read = [(raw.locator.line, raw.payload, raw.error) for raw in read_records(path)]
    assert read == [
        (2, {"id": "R1", "stated_need": "short"}, None),
        (3, None, "line is longer than 0 MiB"),
        (4, {"id": "R3", "stated_need": "short"}, None),
    ]


def test_a_real_line_over_16_mib_is_an_invalid_record(tmp_path: Path) -> None:
    huge = b'{"id": "x", "stated_need": "' + b"x" * (16 * 1024 * 1024) + b'"}\n'
    path = write(tmp_path, "r.jsonl", huge + b'{"id": "b"}\n')
    assert outcomes(path) == [(1, "-", "line is longer than 16 MiB"), (2, "b", None)]


def test_lines_ended_by_a_lone_cr_are_each_a_record_as_an_old_mac_export_writes_them(tmp_path: Path) -> None:
    path = write(tmp_path, "r.jsonl", b'{"id": "a"}\r{"id": "b"}\r\n{"id": "c"}\n\r{"id": "e"}\r')
    assert outcomes(path) == [(1, "a", None), (2, "b", None), (3, "c", None), (5, "e", None)]


def test_a_csv_saved_with_lone_cr_line_ends_gives_one_record_per_row(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", b'id,stated_need\rR1,"two\rlines"\rR2,plain\r')
    records = [(raw.locator.line, raw.payload) for raw in read_records(path)]
    assert records == [(2, {"id": "R1", "stated_need": "two\rlines"}), (4, {"id": "R2", "stated_need": "plain"})]


def test_jsonl_is_streamed_up_to_the_size_it_had_when_reading_began(tmp_path: Path) -> None:
    path = write(tmp_path, "r.jsonl", '{"id": "a"}\n{"id": "b"}\n')
    records = read_records(path)
    assert next(records).locator.line == 1
    with path.open("ab") as more:  # appended after reading began: left for the next run, as --jobs leaves it
        more.write(b'{"id": "c"}\n')
    assert [raw.locator.line for raw in records] == [2]


def lines_one_by_one(data: bytes, limit: int) -> list[tuple[int, bytes | None]]:
    """What a JSONL reader yields, worked out a line at a time: (line, raw line with its ending, or None when the
    line holds more than ``limit`` bytes); a line ends at a LF, a CRLF or a lone CR; blank lines are skipped and a
    first line loses its byte order mark."""
    expected: list[tuple[int, bytes | None]] = []
    lines = re.split(rb"(\r\n|\r|\n)", data)  # texts at even places, each followed by its ending
    for number, (text, ending) in enumerate(zip(lines[::2], [*lines[1::2], b""], strict=True), start=1):
        if len(text) + len(ending) > limit + (1 if ending else 0):  # a CRLF's CR counts, as it always did
            expected.append((number, None))
            continue
        if number == 1:
            text = text.removeprefix(codecs.BOM_UTF8)
        line = text + ending
        if line and not line.isspace():
            expected.append((number, line))
    return expected


JSONL_PIECES = st.sampled_from(
    [b'{"id": "a"}', b'{"id": "\xe7\x94\xb2"}', b"", b"  ", b"\r", b"[1]", b"x" * 20, b"y" * 9]
)


@settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(JSONL_PIECES, max_size=12),
    ending=st.sampled_from([b"\n", b"\r\n", b"\r"]),
    bom=st.booleans(),
    newline_at_end=st.booleans(),
    block=st.integers(1, 40),
    cut=st.integers(0, 12),
)
def test_jsonl_read_in_blocks_gives_every_line_as_reading_line_by_line_would(
    pieces: list[bytes], ending: bytes, bom: bool, newline_at_end: bool, block: int, cut: int
) -> None:
    """Lines cross block boundaries anywhere (a CRLF too), and lines over the limit span several blocks or end one."""
    data = (codecs.BOM_UTF8 if bom else b"") + ending.join(pieces) + (ending if newline_at_end and pieces else b"")
    with tempfile.TemporaryDirectory() as folder, mock.patch.multiple(readers, MAX_LINE_BYTES=12, _LINE_BLOCK=block):
        path = Path(folder) / "r.jsonl"
        path.write_bytes(data)
        read = [(raw.locator.line, raw.payload if raw.error is None else None) for raw in read_records(path)]
        assert read == lines_one_by_one(data, 12)
        assert all(raw.error == "line is longer than 0 MiB" for raw in read_records(path) if raw.payload is None)
        # the same file read in two parts split at a line start: the lines of the whole file, once each
        starts = [0] + [match.end() for match in re.finditer(rb"\r\n|\r|\n", data)]
        start = starts[min(cut, len(starts) - 1)]
        parts = [ByteRange(0, start, 1), ByteRange(start, len(data), starts.index(start) + 1)]
        in_parts = [
            (raw.locator.line, raw.payload if raw.error is None else None)
            for part in parts
            for raw in read_records(path, part=part)
        ]
        assert in_parts == read


# -- CSV ---------------------------------------------------------------------------------------------------


def test_csv_dotted_headers_build_nested_records_with_lists(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "r.csv",
        "id,customer.risk_tolerance,operations.0.kind,operations.0.at,operations.1.kind,offers.0.statements.0\n"
        "A,2,close_account,2026-01-05T10:00:00+08:00,transfer,保本\n",
    )
    (raw,) = read_records(path)
    assert raw.payload == {
        "id": "A",
        "customer": {"risk_tolerance": 2},  # CSV text read as the model's number
        "operations": [{"kind": "close_account", "at": "2026-01-05T10:00:00+08:00"}, {"kind": "transfer"}],
        "offers": [{"statements": ["保本"]}],
    }
    record, error, _ = validate(raw)
    assert error is None
    assert record is not None
    assert record["customer"] == {"risk_tolerance": 2}


def test_csv_empty_cells_are_absent(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "id,channel,operations.0.kind,operations.1.kind\nA,,,transfer\n")
    (raw,) = read_records(path)
    assert raw.payload == {"id": "A", "operations": [{"kind": "transfer"}]}


def test_csv_line_numbers_count_quoted_newlines_and_blank_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "r.csv",
        '\ufeffid,stated_need\nA,"two\nlines"\n\nB,"three\n\nlines"\nC,plain\nD,"not closed\n',
    )
    assert [(raw.locator.line, raw.error) for raw in read_records(path)] == [
        (2, None),
        (5, None),
        (8, None),
        (9, "bad CSV row: unexpected end of data"),
    ]


def test_a_gbk_csv_row_is_invalid_and_the_next_rows_are_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "r.csv",
        b"id,stated_need\nA,ok\n" + 'B,"定期\n存款"\n'.encode("gbk") + "C,理财\n".encode(),
    )
    assert outcomes(path) == [(2, "A", None), (3, "-", NOT_UTF8), (5, "C", None)]


def test_a_csv_row_with_more_cells_than_the_header_is_invalid(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "id,channel\nA,counter,extra\nB\n")
    assert outcomes(path) == [(2, "-", "row has 3 cells, the header 2"), (3, "B", None)]


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("id,operations.0.kind,operations.kind", "mixes list positions and field names"),
        ("id,customer,customer.id", "is inside another column"),
        ("id,customer.id,customer", "repeats or contains another column"),
        ("id,id", "repeats or contains another column"),
        ("id,,channel", "is not a dotted field name"),
        ("0.id", "is not a dotted field name"),
    ],
)
def test_a_csv_header_that_cannot_map_to_records_is_an_input_error(tmp_path: Path, header: str, problem: str) -> None:
    path = write(tmp_path, "r.csv", header + "\nA,B,C\n")
    with pytest.raises(InputError, match=problem) as caught:
        read_records(path)
    assert str(caught.value).startswith(f"{path}:1: CSV header")


# -- JSON --------------------------------------------------------------------------------------------------

JSON_ARRAY = """\
[
  {"id": "a"},
  {
    "id": "b",
    "fees": [{"amount": 10.10}]
  }, 42,

  {"id": "c", "note": "a [ and a \\" and a\\n in text"}]
"""


def test_json_array_items_are_located_at_the_line_they_start_on(tmp_path: Path) -> None:
    path = write(tmp_path, "r.json", JSON_ARRAY)
    assert outcomes(path) == [(2, "a", None), (3, "b", None), (6, "-", "not a JSON object"), (8, "c", None)]


def test_json_numbers_stay_exact(tmp_path: Path) -> None:
    path = write(tmp_path, "r.json", JSON_ARRAY)
    record, _, _ = validate(list(read_records(path))[1])
    assert record is not None
    assert record["fees"][0]["amount"] == Decimal("10.10")


def test_a_json_file_may_hold_one_object_and_a_byte_order_mark(tmp_path: Path) -> None:
    path = write(tmp_path, "r.json", b'\xef\xbb\xbf\n\n {"id": "only"}\n')
    assert outcomes(path) == [(3, "only", None)]


@pytest.mark.parametrize(
    ("content", "location", "problem"),
    [
        ('[{"id": "a"},\n {"id": }]', ":2:9:", "invalid JSON: Expecting value"),
        ('[{"id": "a"}\n {"id": "b"}]', ":2:2:", "expected ',' or ']'"),
        ('[{"id": "a"}] []', ":1:15:", "extra data"),
        ('[{"amount": NaN}]', ":", "NaN is not JSON"),
        ("12", ":1:", "expected an array of records or one record"),
    ],
)
def test_a_json_file_that_does_not_parse_is_an_input_error_before_any_record(
    tmp_path: Path, content: str, location: str, problem: str
) -> None:
    path = write(tmp_path, "r.json", content)
    with pytest.raises(InputError, match=problem) as caught:
        read_records(path)
    assert str(caught.value).startswith(f"{path}{location}")


def test_a_json_file_in_gbk_is_an_input_error_naming_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "r.json", '[\n{"id": "a"},\n{"id": "定期"}]'.encode("gbk"))
    with pytest.raises(InputError) as caught:
        read_records(path)
    assert str(caught.value) == f"{path}:3: {NOT_UTF8}"
    assert outcomes(path, encoding="gbk") == [(2, "a", None), (3, "定期", None)]


@pytest.mark.parametrize("name", ["r.jsonl", "r.csv"])
@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32"])
def test_a_line_based_file_saved_as_utf16_or_utf32_is_an_input_error_saying_so(
    tmp_path: Path, name: str, codec: str
) -> None:
    """Excel's "Unicode text" and Notepad's "Unicode" are UTF-16: read as lines, every record would be invalid with
    a misleading "is the file GBK?"; the byte order mark says what the file is."""
    text = '{"id": "a"}\n{"id": "b"}\n' if name.endswith(".jsonl") else "id\na\nb\n"
    mark = {"utf-16": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE, "utf-32": codecs.BOM_UTF32_LE}[codec]
    encoded = text.encode(codec)
    path = write(tmp_path, name, encoded if encoded.startswith(mark) else mark + encoded)
    with pytest.raises(InputError, match="save it as UTF-8") as caught:
        list(read_records(path))
    assert str(caught.value).startswith(f"{path}:1: the file is {codec[:6].upper()}")


def test_a_whole_file_format_over_the_size_cap_is_refused_suggesting_jsonl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "MAX_FILE_BYTES", 10)
    path = write(tmp_path, "r.json", '[{"id": "a"}, {"id": "b"}]')
    with pytest.raises(InputError, match="export records as JSONL"):
        read_records(path)


# -- YAML --------------------------------------------------------------------------------------------------


def test_yaml_list_items_and_documents_are_located_at_their_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "r.yaml",
        "- id: a\n  started_at: 2026-01-05T10:00:00+08:00\n- id: 12\n- just text\n---\nid: z\n---\n",
    )
    assert outcomes(path) == [(1, "a", None), (3, "12", None), (4, "-", "not a mapping"), (6, "z", None)]


def test_yaml_times_without_offset_are_invalid(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yml", "- id: a\n  started_at: 2026-01-05 10:00:00\n")
    assert outcomes(path) == [(1, "a", "started_at: Input should have timezone info")]


def test_yaml_aliases_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yaml", "- &op {id: a}\n- *op\n")
    with pytest.raises(InputError, match="anchors and aliases are not allowed"):
        read_records(path)


def test_a_yaml_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    layers = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    layers += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    path = write(tmp_path, "r.yaml", "\n".join(layers) + "\n")
    started = time.perf_counter()
    with pytest.raises(InputError, match="aliases"):
        read_records(path)
    assert time.perf_counter() - started < 10  # generous: expanding the 10**9 aliases would take hours


def test_yaml_items_with_unsafe_tags_are_invalid_and_never_constructed(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yaml", "- id: a\n- !!python/object/apply:os.system {args: [echo hi]}\n- id: c\n")
    ((line, record_id, error),) = [item for item in outcomes(path) if item[2] is not None]
    assert (line, record_id) == (2, "-")
    assert error is not None
    assert error.startswith("cannot load: could not determine a constructor for the tag")


def test_a_yaml_syntax_error_is_an_input_error_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yaml", "- id: a\n- id: [b\n")
    with pytest.raises(InputError, match="invalid YAML") as caught:
        read_records(path)
    assert caught.value.location is not None
    assert caught.value.location.line == 3


# -- files that cannot be read -----------------------------------------------------------------------------


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_records(tmp_path / "absent.jsonl")


def test_a_directory_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").mkdir()
    with pytest.raises(InputError, match="is a directory"):
        read_records(tmp_path / "d.jsonl")


def test_an_unknown_extension_is_an_input_error_listing_the_known_ones(tmp_path: Path) -> None:
    path = write(tmp_path, "r.txt", '{"id": "a"}\n')
    with pytest.raises(InputError, match=r"unknown record file type '\.txt' \(known: \.csv, \.json, "):
        read_records(path)


def test_an_unknown_or_unsuitable_encoding_is_an_input_error(tmp_path: Path) -> None:
    path = write(tmp_path, "r.jsonl", '{"id": "a"}\n')
    with pytest.raises(InputError, match="unknown encoding"):
        read_records(path, encoding="no-such-codec")
    with pytest.raises(InputError, match="not supported for line-based files"):
        read_records(path, encoding="utf-16")


# -- validating items that did not come from files ---------------------------------------------------------


def test_mappings_validate_and_parse_errors_pass_through() -> None:
    here = Locator("<input>", 1)
    assert validate(RawRecord(here, {"id": "a", "kind": "interaction"})) == (
        {"id": "a", "kind": "interaction"},
        None,
        None,
    )
    assert validate(RawRecord(here, {"id": 7, "wait_minutes": -1})) == (
        None,
        "wait_minutes: Input should be greater than or equal to 0",
        "7",
    )
    assert validate(RawRecord(here, None, "not a record: int")) == (None, "not a record: int", None)
