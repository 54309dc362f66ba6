"""A validated pack as data: its manifest, sources, parameters, rules and sequences, each with where it was written.

The loader builds one; linters and coverage read its models, the engine its :class:`~svcpolicy.pack.spec.PackSpec`.
Nothing here reads files or compiles.
"""

from __future__ import annotations

import pickle
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from svcpolicy.errors import SourceLocation
from svcpolicy.frozen import Frozen
from svcpolicy.pack.spec import PackSpec, ParameterSpec, RuleSpec, SourceSpec
from svcpolicy.pack.yaml_document import Loc, YamlDocument

if TYPE_CHECKING:  # the models are imported when an unpickled definition's are first read (see __getstate__)
    from svcpolicy.pack.schema import PackManifest, Parameter, Rule, Source
    from svcpolicy.pack.sequences import SequenceRule


class Site(Frozen):
    """Where a definition was written: its document and path inside it."""

    _fields = ("doc", "loc")
    doc: YamlDocument
    loc: Loc

    def __init__(self, doc: YamlDocument, loc: Loc) -> None:
        self.__dict__.update(doc=doc, loc=loc)

    def at(self, *sub: str | int) -> SourceLocation:
        return self.doc.location((*self.loc, *sub))

    def expression_at(self, *sub: str | int) -> SourceLocation:
        return self.doc.expression_location((*self.loc, *sub))


class PackDefinition:
    """A validated pack: metadata, and every source, parameter and rule with where it was written.

    The loader starts one with its manifest and fills the rest. Equal by content (a definition read back from
    the pack cache equals the one its YAML gave), so not hashable.
    """

    manifest: PackManifest
    root: Path
    sources: dict[str, Source]
    source_sites: dict[str, Site]
    parameters: dict[str, Parameter]
    parameter_sites: dict[str, Site]
    rules: list[Rule]
    rule_sites: list[Site]
    files: list[Path]
    base: PackDefinition | None
    sequences: list[SequenceRule]  # event-monitor rules (pack/sequences.py)
    sequence_sites: list[Site]

    def __init__(
        self, manifest: PackManifest, root: Path, *, files: list[Path] | None = None, base: PackDefinition | None = None
    ) -> None:
        self.manifest, self.root, self.base = manifest, root, base
        self.sources, self.source_sites, self.parameters, self.parameter_sites = {}, {}, {}, {}
        self.rules, self.rule_sites, self.sequences, self.sequence_sites = [], [], [], []
        self.files = [] if files is None else files

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, PackDefinition)  # noqa: S101 - checked just above, for mypy
        return all(getattr(self, name) == getattr(other, name) for name in _CONTENT)

    __hash__ = None  # type: ignore[assignment]  # equal by content, which is mutable

    def __repr__(self) -> str:
        return f"PackDefinition({self.spec.pack!r}, root={self.root!r}, rules={len(self.rules)})"

    @property
    def identifying_fields(self) -> tuple[str, ...]:
        """The record paths that identify a customer: the base pack's, then this pack's own (``privacy:``)."""
        return self.spec.identifying_fields

    @cached_property
    def spec(self) -> PackSpec:
        """The pack as the engine reads it, made from the models when first asked (once the loader is done)."""
        manifest = self.manifest
        inherited = self.base.identifying_fields if self.base is not None else ()
        return PackSpec(
            pack=manifest.pack,
            title=manifest.title,
            version=manifest.version,
            timezone=manifest.timezone,
            effective_from=manifest.effective_from,
            effective_until=manifest.effective_until,
            identifying_fields=tuple(dict.fromkeys((*inherited, *manifest.privacy.identifying_fields))),
            rules=tuple(RuleSpec(rule) for rule in self.rules),
            parameters={name: ParameterSpec(parameter) for name, parameter in self.parameters.items()},
            sources={name: SourceSpec(source) for name, source in self.sources.items()},
        )

    def __getstate__(self) -> dict[str, object]:
        """The definition as pickled (the pack cache keeps one): its spec as plain values, its pydantic models and
        its event-monitor sequences each pickled apart. A run that only judges records compiles from the spec, and
        neither imports pydantic nor unpickles the models."""
        state = dict(self.__dict__)
        state["spec"] = self.spec
        for packed, names in ((_PACKED_MODELS, _MODELS), (_PACKED_SEQUENCES, ("sequences",))):
            if names[0] in state:  # else still packed, as unpickled: kept so
                parts = {name: state.pop(name) for name in names}
                state[packed] = pickle.dumps(parts, pickle.HIGHEST_PROTOCOL)
        return state

    if not TYPE_CHECKING:  # hidden from mypy, which would otherwise accept any attribute name on a definition

        def __getattr__(self, name: str) -> object:
            """The models or sequences of an unpickled definition, unpickled when first read (called for missing
            names only)."""
            packed_as = _PACKED_SEQUENCES if name == "sequences" else _PACKED_MODELS if name in _MODELS else None
            packed = self.__dict__.get(packed_as) if packed_as is not None else None
            if packed is None:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            parts = pickle.loads(packed)  # noqa: S301 - pickled by __getstate__, in the pack cache's file
            self.__dict__.update(parts)  # set before the blob goes: a thread reading meanwhile finds one or other
            self.__dict__.pop(packed_as, None)
            return parts[name]


_CONTENT = (
    "manifest",
    "root",
    "sources",
    "source_sites",
    "parameters",
    "parameter_sites",
    "rules",
    "rule_sites",
    "files",
    "base",
    "sequences",
    "sequence_sites",
)
"""What a definition holds: what equality compares."""

_MODELS = ("manifest", "sources", "parameters", "rules")
"""The parts of a definition that are pydantic models, pickled together (``manifest`` first: it is always set)."""

_PACKED_MODELS = "_packed_models"
"""Where an unpickled definition keeps its models' pickle until one is first read."""

_PACKED_SEQUENCES = "_packed_sequences"
"""Where an unpickled definition keeps its sequences' pickle until they are first read."""
