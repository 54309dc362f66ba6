"""A report or baseline is put in place whole: the previous file or the new one, never half of one."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from svcpolicy.replaced_file import write_replacing


def test_a_baseline_written_again_keeps_its_permissions_and_leaves_no_hidden_file(tmp_path: Path) -> None:
    target = tmp_path / "baseline.json"
    target.write_text("old\n", encoding="utf-8")
    os.chmod(target, 0o640)
    write_replacing(target, "new\n", "baseline")
    assert target.read_text(encoding="utf-8") == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["baseline.json"]


def test_a_write_that_fails_leaves_the_previous_file_and_no_hidden_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "baseline.json"
    target.write_text("old\n", encoding="utf-8")

    def disk_full(source: object, destination: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_replacing(target, "new\n", "baseline")
    assert target.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["baseline.json"]


def test_a_link_is_followed_and_a_device_is_written_in_place_not_replaced(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("old\n", encoding="utf-8")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_replacing(link, "new\n", "baseline")
    assert link.is_symlink() and real.read_text(encoding="utf-8") == "new\n"
    write_replacing(Path(os.devnull), "anything\n", "baseline")
    assert stat.S_ISCHR(Path(os.devnull).stat().st_mode)


def test_missing_folders_of_a_new_file_are_made(tmp_path: Path) -> None:
    target = tmp_path / "ci" / "gate" / "baseline.json"
    write_replacing(target, "new\n", "baseline")
    assert target.read_text(encoding="utf-8") == "new\n"
