"""Optional dependencies: pandas and matplotlib come with ``pip install 'svcpolicy[notebook]'``, pyspark with
``svcpolicy[spark]``.

They are imported only when a view that needs them is asked for, so the engine, the command line and the HTML
report work without them; a missing one is a :class:`MissingDependency` that says what to install.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from svcpolicy.errors import SvcPolicyError

EXTRA = "notebook"


class MissingDependency(SvcPolicyError, ImportError):
    """A feature needs a package from an optional extra that is not installed."""

    def __init__(self, package: str, feature: str, extra: str = EXTRA) -> None:
        self.package = package
        self.feature = feature
        super().__init__(f"{feature} needs {package}, which is not installed: pip install 'svcpolicy[{extra}]'")


@contextmanager
def needs(package: str, feature: str, extra: str = EXTRA) -> Iterator[None]:
    """Turn a failed import inside the block into a :class:`MissingDependency` naming the extra."""
    try:
        yield
    except ImportError as exc:
        if isinstance(exc, MissingDependency):
            raise
        raise MissingDependency(package, feature, extra) from exc
