"""Where the packs that ship with svcpolicy live: inside the installed wheel, or the checkout's rules/."""

from __future__ import annotations

from pathlib import Path

from svcpolicy.errors import PackError

DEFAULT_PACK = "cn-bank-service"


def bundled_pack_path(name: str = DEFAULT_PACK) -> Path:
    """The directory of a bundled pack by name; a PackError naming the known packs when there is none."""
    # the package's own directory, not importlib.resources: that imports zipfile (and its compressors) for a path
    # that is always a directory, since the packs are read as files
    package = Path(__file__).resolve().parents[1]
    packaged = package / "_bundled_packs"
    checkout = package.parents[1] / "rules"
    for root in (packaged, checkout):
        if (root / name / "pack.yaml").is_file():
            return root / name
    known = sorted(p.parent.name for root in (packaged, checkout) for p in root.glob("*/pack.yaml"))
    raise PackError(f"no bundled pack named {name!r} (bundled: {', '.join(known) or 'none'})")


def resolve_pack(pack: str | Path | None) -> Path:
    """A pack argument as a path: an existing path as given, else a bundled pack's name (None: the default)."""
    if pack is None:
        return bundled_pack_path()
    if isinstance(pack, Path) or Path(pack).exists() or "/" in pack or pack.endswith((".yaml", ".yml")):
        return Path(pack)
    return bundled_pack_path(pack)
