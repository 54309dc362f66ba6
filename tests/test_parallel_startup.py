"""What a ``--jobs`` worker pays besides judging: the policy it receives, and how the input is cut for it."""

from __future__ import annotations

import itertools
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import svcpolicy
from conftest import REPO
from svcpolicy.engine import portable
from svcpolicy.engines.parallel import plan
from svcpolicy.pack import loader
from svcpolicy.pack.definition import PackDefinition

MIB = 1024 * 1024


def test_a_process_running_the_same_code_takes_the_validated_definition_sent_without_reading_the_pack() -> None:
    script = """
import pickle, sys
from svcpolicy.engine import portable

def refuse(*args, **kwargs):
    raise AssertionError("the pack was read again")

portable.read_pack = refuse
policy = pickle.loads(sys.stdin.buffer.read())
print(policy.id, len(policy.rules), len(portable._BUILT))
"""
    portable._own_code_stamp.cache_clear()  # the code as it is now (a session's first stamp may be older)
    policy = svcpolicy.load_policy()
    data = pickle.dumps(policy)
    out = subprocess.run([sys.executable, "-c", script], input=data, capture_output=True, check=True).stdout
    assert out.decode().split() == [policy.id, str(len(policy.rules)), "1"]


def test_a_process_running_other_code_reads_the_pack_files_instead_of_the_definition_sent(
    bundled: svcpolicy.Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = pickle.dumps(bundled)
    monkeypatch.setattr(portable, "_LOADED", {})  # nothing compiled here yet
    monkeypatch.setattr(portable, "_BUILT", {})
    monkeypatch.setattr(portable, "_own_code_stamp", lambda: "another release")
    read: list[Path] = []

    def read_pack(entry: Path) -> PackDefinition:
        read.append(Path(entry))
        return loader.read_pack(entry)

    monkeypatch.setattr(portable, "read_pack", read_pack)
    rebuilt = pickle.loads(data)  # noqa: S301 - our own pickle
    assert read == [portable.own_manifest(bundled.definition)]
    assert rebuilt is not bundled and [r.id for r in rebuilt.rules] == [r.id for r in bundled.rules]


def test_a_definition_received_where_its_pack_files_are_not_is_compiled_without_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pack = shutil.copytree(REPO / "rules" / "cn-bank-service", tmp_path / "pack")
    policy = svcpolicy.load_policy(pack)
    data = pickle.dumps(policy)
    shutil.rmtree(pack)  # as on an executor of another machine
    monkeypatch.setattr(portable, "_LOADED", {})
    monkeypatch.setattr(portable, "_BUILT", {})
    rebuilt = pickle.loads(data)  # noqa: S301 - our own pickle
    assert rebuilt is not policy and [r.id for r in rebuilt.rules] == [r.id for r in policy.rules]
    assert pickle.loads(pickle.dumps(rebuilt)) is rebuilt  # noqa: S301 - it travels on as the content it came as


@pytest.mark.parametrize(("size", "jobs"), [(148 * MIB, 2), (1480 * MIB, 2), (148 * MIB, 4), (9 * MIB, 2)])
def test_the_parts_of_a_large_file_shrink_towards_its_end_within_the_part_bounds(size: int, jobs: int) -> None:
    ends = plan.part_ends(size, jobs)
    sizes = [end - start for start, end in zip([0, *ends], [*ends, size], strict=True)]
    assert sum(sizes) == size and len(sizes) >= 2
    assert all(plan.MIN_PART_BYTES <= part <= plan.MAX_PART_BYTES for part in sizes)
    assert sizes[0] <= max(size // (jobs + 1), 2 * plan.MIN_PART_BYTES)
    assert all(later <= earlier + 1 for earlier, later in itertools.pairwise(sizes))  # +1: a byte of rounding
    assert sizes[-1] < 2 * plan.MIN_PART_BYTES  # the workers finish within a small part of each other


def test_a_file_under_two_parts_worth_is_not_split() -> None:
    assert plan.part_ends(2 * plan.MIN_PART_BYTES - 1, 2) == []
