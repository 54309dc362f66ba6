"""The validated-pack cache: a second run reads the pack from it, an edited pack is read afresh, and it stays small."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from svcpolicy import user_cache
from svcpolicy.pack import cache
from svcpolicy.pack.cache import read_pack_cached
from svcpolicy.pack.loader import read_pack


@pytest.fixture
def cache_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("SVCPOLICY_CACHE_DIR", str(directory))
    return directory


def test_a_second_load_of_an_unchanged_pack_comes_from_the_cache(
    cache_in: Path, write_pack: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_pack()
    first = read_pack_cached(root)
    assert len(list(cache_in.glob("pack-*.pickle"))) == 1

    def no_reading(path: Path) -> None:
        raise AssertionError("the pack was read again although nothing changed")

    monkeypatch.setattr(cache, "read_pack", no_reading)
    again = read_pack_cached(root)
    assert [rule.id for rule in again.rules] == [rule.id for rule in first.rules]


def test_an_edited_rule_file_is_read_afresh_not_from_the_cache(cache_in: Path, write_pack: Callable[..., Path]) -> None:
    root = write_pack()
    assert read_pack_cached(root).rules[0].severity == "critical"
    pack_file = root / "pack.yaml"
    pack_file.write_text(pack_file.read_text(encoding="utf-8").replace("critical", "low"), encoding="utf-8")
    assert read_pack_cached(root).rules[0].severity == "low"
    assert read_pack_cached(root).rules[0].severity == read_pack(root).rules[0].severity


def test_the_cache_keeps_only_the_newest_packs(
    cache_in: Path, write_pack: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache, "KEEP_PACKS", 3)
    root = write_pack()
    pack_file = root / "pack.yaml"
    text = pack_file.read_text(encoding="utf-8")
    for version in range(6):
        pack_file.write_text(text.replace('version: "1"', f'version: "{version}"'), encoding="utf-8")
        assert read_pack_cached(root).manifest.version == str(version)
    assert len(list(cache_in.glob("pack-*.pickle"))) == 3
    assert read_pack_cached(root).manifest.version == "5"


def test_no_cache_is_written_when_it_is_turned_off(
    tmp_path: Path, write_pack: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SVCPOLICY_CACHE_DIR", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    read_pack_cached(write_pack())
    assert not (tmp_path / "xdg").exists()


def test_a_truncated_cached_pack_is_read_afresh_with_the_same_positions_and_cached_anew(
    cache_in: Path, write_pack: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The definition's documents are unpickled lazily, but a damaged file is refused whole, before any of it is used:
    the pack is read again, and every position is the one its YAML gives."""
    root = write_pack()
    read_pack_cached(root)
    (cached,) = cache_in.glob("pack-*.pickle")
    cached.write_bytes(cached.read_bytes()[: cached.stat().st_size // 2])
    again = read_pack_cached(root)
    fresh = read_pack(root)
    assert [str(site.expression_at("when")) for site in again.rule_sites] == [
        str(site.expression_at("when")) for site in fresh.rule_sites
    ]

    def no_reading(path: Path) -> None:
        raise AssertionError("the pack was read again although the cache was written anew")

    monkeypatch.setattr(cache, "read_pack", no_reading)
    assert read_pack_cached(root).rule_sites[0].doc == fresh.rule_sites[0].doc


def test_a_cached_pack_with_one_byte_changed_on_disk_is_read_afresh_never_trusted(
    cache_in: Path, write_pack: Callable[..., Path]
) -> None:
    """A pickle holds no check of its own: a bit flipped inside a rule's text or a parameter's value would still
    unpickle, and change findings silently. The digest written with the file refuses it."""
    root = write_pack()
    read_pack_cached(root)
    (cached,) = cache_in.glob("pack-*.pickle")
    condition = b"op.authorization.at > op.at"
    assert condition in cached.read_bytes()
    cached.write_bytes(cached.read_bytes().replace(condition, b"op.authorization.at < op.at"))  # still unpickles
    again = read_pack_cached(root)
    assert condition.decode() in again.spec.rules[0].when and condition.decode() in again.rules[0].when
    assert b"op.authorization.at < op.at" not in cached.read_bytes(), "the damaged file was written anew"


@pytest.mark.parametrize("damage", ["one byte changed", "cut short", "written before digests"])
def test_a_damaged_cache_file_reads_as_missing(tmp_path: Path, damage: str) -> None:
    target = tmp_path / "kept.pickle"
    user_cache.write_checked(target, b"the kept bytes")
    assert user_cache.read_checked(target) == b"the kept bytes"
    raw = target.read_bytes()
    damaged = {
        "one byte changed": raw[:-1] + b"S",
        "cut short": raw[:-3],
        "written before digests": b"the kept bytes",
    }[damage]
    target.write_bytes(damaged)
    assert user_cache.read_checked(target) is None
    assert user_cache.read_checked(tmp_path / "missing.pickle") is None
