"""A validated pack as data: its manifest, sources, parameters, rules and sequences, each with where it was written.

The loader builds one; compilers, linters and coverage read one. Nothing here reads files or compiles.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from svcpolicy.errors import SourceLocation
from svcpolicy.pack.schema import PackManifest, Parameter, Rule, Source
from svcpolicy.pack.yaml_document import Loc, YamlDocument

if TYPE_CHECKING:  # the sequence model is imported when a definition's sequences are first read (see __getstate__)
    from svcpolicy.pack.sequences import SequenceRule


@dataclass(frozen=True)
class Site:
    """Where a definition was written: its document and path inside it."""

    doc: YamlDocument
    loc: Loc

    def at(self, *sub: str | int) -> SourceLocation:
        return self.doc.location((*self.loc, *sub))

    def expression_at(self, *sub: str | int) -> SourceLocation:
        return self.doc.expression_location((*self.loc, *sub))


@dataclass
class PackDefinition:
    """A validated pack: metadata, and every source, parameter and rule with where it was written."""

    manifest: PackManifest
    root: Path
    sources: dict[str, Source] = field(default_factory=dict)
    source_sites: dict[str, Site] = field(default_factory=dict)
    parameters: dict[str, Parameter] = field(default_factory=dict)
    parameter_sites: dict[str, Site] = field(default_factory=dict)
    rules: list[Rule] = field(default_factory=list)
    rule_sites: list[Site] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    base: PackDefinition | None = None
    sequences: list[SequenceRule] = field(default_factory=list)  # event-monitor rules (pack/sequences.py)
    sequence_sites: list[Site] = field(default_factory=list)

    @property
    def identifying_fields(self) -> tuple[str, ...]:
        """The record paths that identify a customer: the base pack's, then this pack's own (``privacy:``)."""
        inherited = self.base.identifying_fields if self.base is not None else ()
        return tuple(dict.fromkeys((*inherited, *self.manifest.privacy.identifying_fields)))

    def __getstate__(self) -> dict[str, object]:
        """The definition as pickled (the pack cache keeps one): its event-monitor sequences pickled apart, so a
        run that only judges records neither imports the sequence model nor unpickles them."""
        state = dict(self.__dict__)
        if "sequences" in state:  # else still packed, as unpickled: kept so
            state[_PACKED_SEQUENCES] = pickle.dumps(state.pop("sequences"), pickle.HIGHEST_PROTOCOL)
        return state

    if not TYPE_CHECKING:  # hidden from mypy, which would otherwise accept any attribute name on a definition

        def __getattr__(self, name: str) -> object:
            """``sequences`` of an unpickled definition, unpickled when first read (called for missing names only)."""
            packed = self.__dict__.get(_PACKED_SEQUENCES) if name == "sequences" else None
            if packed is None:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            sequences = pickle.loads(packed)  # noqa: S301 - pickled by __getstate__, in the pack cache's file
            self.sequences = sequences  # set before the blob goes: a thread reading them meanwhile finds one or other
            self.__dict__.pop(_PACKED_SEQUENCES, None)
            return sequences


_PACKED_SEQUENCES = "_packed_sequences"
"""Where an unpickled definition keeps its sequences' pickle until they are first read."""
