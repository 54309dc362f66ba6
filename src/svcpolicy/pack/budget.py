"""What all the files of one pack may hold together, its base packs included.

Each file is bounded by itself (:data:`~svcpolicy.pack.yaml_source.MAX_FILE_BYTES`, ``MAX_NODES``), but a pack
includes up to 500 files: 500 files each just under those limits would hold a command for minutes before
anything was wrong. The budget is spent file by file as the pack is read, so the file where it runs out is
refused, with its name, before the rest are read. The bundled pack holds 0.3 MB and 8,000 values: the limits
leave room for packs fifty times its size, and keep the worst pack to the time of two files at their own limit
(a few seconds; 200,000 values take about 2-5 s to compose).
"""

from __future__ import annotations

from dataclasses import dataclass

from svcpolicy.errors import PackError

__all__ = ["MAX_PACK_BYTES", "MAX_PACK_VALUES", "PackBudget", "PackTooLarge"]

MAX_PACK_BYTES = 16 * 1024 * 1024
MAX_PACK_VALUES = 400_000


@dataclass
class PackBudget:
    """The bytes and values the files of a pack may still hold; one budget is shared by a pack and its bases."""

    bytes_left: int = MAX_PACK_BYTES
    values_left: int = MAX_PACK_VALUES

    def spend_bytes(self, size: int) -> bool:
        """Take ``size`` bytes from the budget; False (and nothing taken) when there are not that many left."""
        if size > self.bytes_left:
            return False
        self.bytes_left -= size
        return True

    def spend_values(self, count: int) -> None:
        """Take ``count`` values, which the loader has already held within :attr:`values_left`."""
        self.values_left -= count


class PackTooLarge(PackError):
    """A pack's files together hold more than its budget: the loader stops at the file named, reading no more."""
