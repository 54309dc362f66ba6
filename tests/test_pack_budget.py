"""A pack's files together are held to a budget of bytes and values, refused at the file where it runs out.

Each file is bounded by itself, but a pack includes up to 500 files; the budget bounds them all, its base packs'
files included. Most tests run with a small budget (patched into the loader) so that a few small files cross it;
the bundled pack loads under the real one with a wide margin.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import svcpolicy
from conftest import MINI_PACK
from svcpolicy.pack import loader
from svcpolicy.pack.budget import MAX_PACK_BYTES, MAX_PACK_VALUES, PackBudget, PackTooLarge
from svcpolicy.pack.bundled import bundled_pack_path
from svcpolicy.pack.loader import read_pack
from svcpolicy.pack.yaml_source import MAX_FILE_BYTES


def table(name: str, values: int) -> str:
    """An included file holding one parameter whose value is a list of ``values`` numbers."""
    return f"parameters:\n  {name}:\n    bank_set: true\n    value: {list(range(values))}\n"


def pack_of_tables(write_pack: Callable[..., Path], names: list[str], values: int, last: str = "") -> Path:
    """The mini pack including one table file per name, in that order, then ``last`` (any text) as z.yaml."""
    include = "include: [" + ", ".join(f"{n}.yaml" for n in names) + (", z.yaml]" if last else "]")
    files = {f"{n}.yaml": table(f"table_{n}", values) for n in names}
    if last:
        files["z.yaml"] = last
    return write_pack({"pack.yaml": MINI_PACK + include + "\n", **files})


def refusal(path: Path) -> PackTooLarge:
    with pytest.raises(svcpolicy.PackErrors) as caught:
        read_pack(path)
    errors = caught.value.errors
    assert isinstance(errors[-1], PackTooLarge), [str(e) for e in errors]
    return errors[-1]


@pytest.fixture
def small_budget(monkeypatch: pytest.MonkeyPatch) -> Callable[[int, int], None]:
    """Give every pack read from now on a budget of so many bytes and values."""

    def limit(bytes_left: int, values_left: int) -> None:
        monkeypatch.setattr(loader, "PackBudget", lambda: PackBudget(bytes_left, values_left))

    return limit


def test_the_bundled_pack_and_its_branch_overlay_load_within_a_tenth_of_the_budget() -> None:
    for path in (bundled_pack_path("cn-bank-service"), Path("examples/branch-overlay")):
        budget = PackBudget()
        read_pack(path, _budget=budget)
        assert MAX_PACK_BYTES - budget.bytes_left < MAX_PACK_BYTES / 10
        assert 0 < MAX_PACK_VALUES - budget.values_left < MAX_PACK_VALUES / 10


def test_files_under_the_budget_together_load(
    write_pack: Callable[..., Path], small_budget: Callable[[int, int], None]
) -> None:
    small_budget(1_000_000, 2_000)
    pack = read_pack(pack_of_tables(write_pack, ["a", "b", "c"], 600))
    assert [len(pack.parameters[f"table_{n}"].value) for n in "abc"] == [600, 600, 600]


def test_values_running_out_are_refused_at_the_file_and_line_where_they_do(
    write_pack: Callable[..., Path], small_budget: Callable[[int, int], None]
) -> None:
    small_budget(1_000_000, 2_500)
    error = refusal(pack_of_tables(write_pack, ["a", "b", "c", "d"], 1_000))
    assert error.location is not None
    assert Path(error.location.file).name == "c.yaml" and error.location.line == 4
    assert "values together, the limit for a pack" in error.message


def test_the_files_after_the_one_refused_are_not_read(
    write_pack: Callable[..., Path], small_budget: Callable[[int, int], None]
) -> None:
    small_budget(1_000_000, 1_500)
    with pytest.raises(svcpolicy.PackErrors) as caught:
        read_pack(pack_of_tables(write_pack, ["a", "b"], 1_000, last="rules: [unclosed\n"))
    (error,) = caught.value.errors  # z.yaml's syntax error would be reported too had it been read
    assert isinstance(error, PackTooLarge) and error.location is not None
    assert Path(error.location.file).name == "b.yaml"


def test_an_alias_expanding_past_the_budget_is_refused_in_its_file(
    write_pack: Callable[..., Path], small_budget: Callable[[int, int], None]
) -> None:
    small_budget(1_000_000, 2_000)
    bomb = "x-table: &t " + str(list(range(500))) + "\nparameters:\n  copies:\n    value: [*t, *t, *t, *t, *t]\n"
    error = refusal(write_pack({"pack.yaml": MINI_PACK + "include: [bomb.yaml]\n", "bomb.yaml": bomb}))
    assert error.location is not None and Path(error.location.file).name == "bomb.yaml"


def test_bytes_running_out_are_refused_at_the_file_before_it_is_read(
    write_pack: Callable[..., Path], small_budget: Callable[[int, int], None]
) -> None:
    small_budget(len(MINI_PACK.encode()) + 100 + 2 * len(table("table_a", 300)), 1_000_000)
    error = refusal(pack_of_tables(write_pack, ["a", "b", "c"], 300))
    assert error.location is not None
    assert Path(error.location.file).name == "c.yaml" and error.location.line == 0  # no line: it was not read
    assert "bytes together, the limit for a pack" in error.message


def test_a_base_packs_files_count_towards_its_overlays_budget(
    write_pack: Callable[..., Path], small_budget: Callable[[int, int], None]
) -> None:
    spent = PackBudget()
    read_pack(bundled_pack_path("cn-bank-service"), _budget=spent)
    base_values = MAX_PACK_VALUES - spent.values_left
    small_budget(MAX_PACK_BYTES, base_values + 500)
    overlay = 'pack: overlay\ntitle: t\nversion: "1"\nextends: cn-bank-service\ntimezone: "+08:00"\ninclude: [a.yaml]\n'
    error = refusal(write_pack({"pack.yaml": overlay, "a.yaml": table("table_a", 1_000)}))
    assert error.location is not None and Path(error.location.file).name == "a.yaml"


def test_files_each_under_the_file_limit_are_refused_once_together_past_the_real_byte_budget(
    write_pack: Callable[..., Path],
) -> None:
    comment = "# " + "x" * 1_000 + "\n"
    padding = comment * ((MAX_PACK_BYTES // 2 + 1_000) // len(comment))  # over half the budget, under a file's limit
    assert len(padding) < MAX_FILE_BYTES
    error = refusal(
        write_pack({"pack.yaml": MINI_PACK + "include: [a.yaml, b.yaml]\n", "a.yaml": padding, "b.yaml": padding})
    )
    assert error.location is not None and Path(error.location.file).name == "b.yaml"
