"""A validated pack as data: its manifest, sources, parameters, rules and sequences, each with where it was written.

The loader builds one; compilers, linters and coverage read one. Nothing here reads files or compiles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from svcpolicy.errors import SourceLocation
from svcpolicy.pack.schema import PackManifest, Parameter, Rule, Source
from svcpolicy.pack.sequences import SequenceRule
from svcpolicy.pack.yaml_document import Loc, YamlDocument


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
