"""Read a pack directory (or single file) into validated, merged definitions with positions.

Nothing is compiled here: this step only guarantees the pack is well formed and that every citation
resolves, reporting every problem it finds as ``file:line:col: message``. A rule that breaks the schema does not
hide the rest of its file: it is reported and left out, and the other rules are read and checked
(:func:`read_pack_partially` hands ``svcpolicy lint`` what did load, so it checks those rules in the same run).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from svcpolicy.errors import PackError, PackErrors, SourceLocation, shown_loc
from svcpolicy.pack.budget import PackBudget, PackTooLarge
from svcpolicy.pack.bundled import bundled_pack_path
from svcpolicy.pack.definition import PackDefinition, Site
from svcpolicy.pack.schema import PackManifest, PackPart, Source
from svcpolicy.pack.sequences import SequenceRule
from svcpolicy.pack.yaml_source import YamlDocument, load_yaml

P = TypeVar("P", PackManifest, PackPart)

MANIFEST = "pack.yaml"
MAX_INCLUDED_FILES = 500


def _report(exc: ValidationError, doc: YamlDocument, errors: list[PackError]) -> None:
    for err in exc.errors():
        loc = tuple(err["loc"])
        where = ".".join(str(p) for p in shown_loc(loc, err["type"])) or "document"
        errors.append(PackError(f"{where}: {err['msg']}", doc.location(loc)))


def _validate_part(model: type[P], doc: YamlDocument, errors: list[PackError]) -> tuple[P | None, list[int]]:
    """A pack file validated, and the position in the file of each of its rules. When only some rules break
    the schema, they are reported and the file is read without them; any other error leaves the file unread."""
    try:
        part = model.model_validate(doc.value)
        return part, list(range(len(part.rules)))
    except ValidationError as exc:
        _report(exc, doc, errors)
        broken = {_rule_index(tuple(err["loc"])) for err in exc.errors()}
    raw = doc.value
    if None in broken or not isinstance(raw, dict) or not isinstance(raw.get("rules"), list):
        return None, []
    kept = [i for i in range(len(raw["rules"])) if i not in broken]
    try:
        return model.model_validate({**raw, "rules": [raw["rules"][i] for i in kept]}), kept
    except ValidationError:  # reported above
        return None, []


def _rule_index(loc: tuple[int | str, ...]) -> int | None:
    """The position of the rule an error lies in, or None when it lies outside every rule."""
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        return loc[1]
    return None


def _resolve_pack_file(path: Path) -> tuple[Path, Path]:
    if path.is_dir():
        manifest = path / MANIFEST
        if not manifest.is_file():
            raise PackError(f"no {MANIFEST} in pack directory", SourceLocation(str(path)))
        return path, manifest
    if path.is_file():
        return path.parent, path
    raise PackError("no such pack (a directory with pack.yaml, or a YAML file)", SourceLocation(str(path)))


def _included_files(root: Path, manifest_path: Path, patterns: list[str], doc: YamlDocument) -> list[Path]:
    files: list[Path] = []
    resolved_root = root.resolve()
    for i, pattern in enumerate(patterns):
        where = doc.location(("include", i))
        if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
            raise PackError(f"include {pattern!r} must stay inside the pack directory", where)
        matches = sorted(p for p in root.glob(pattern) if p.is_file() and p != manifest_path)
        if not matches:
            only_itself = any(p.resolve() == manifest_path.resolve() for p in root.glob(pattern))
            said = f"names the pack's own {manifest_path.name}" if only_itself else "matches no file"
            raise PackError(f"include {pattern!r} {said}", where)
        for match in matches:
            if not match.resolve().is_relative_to(resolved_root):
                raise PackError(f"included file {match} lies outside the pack (symlink?)", where)
            if match not in files:
                files.append(match)
    if len(files) > MAX_INCLUDED_FILES:
        raise PackError(f"a pack includes at most {MAX_INCLUDED_FILES} files", doc.location(("include",)))
    return files


def _merge(
    name: str,
    target: dict[str, Any],
    sites: dict[str, Site],
    items: dict[str, Any],
    doc: YamlDocument,
    section: str,
    errors: list[PackError],
    base: PackDefinition | None,
) -> None:
    for key, value in items.items():
        site = Site(doc, (section, key))
        if key in target:
            errors.append(PackError(_twice(name, key, sites[key], base), site.at()))
            continue
        target[key] = value
        sites[key] = site


def _twice(name: str, key: str, first: Site, base: PackDefinition | None) -> str:
    if base is not None and first.doc.file in {str(f) for f in base.files}:
        return (
            f"{name} {key!r} is already defined by base pack {base.manifest.pack} at {first.at()}; an overlay may "
            f"add {name}s and tighten parameters, never redefine, loosen or drop what its base defines"
        )
    return f"{name} {key!r} is defined twice (first at {first.at()})"


def _check_reference(ref: str, sources: dict[str, Source], where: SourceLocation, errors: list[PackError]) -> None:
    source_id, _, provision_id = ref.partition("/")
    source = sources.get(source_id)
    if source is None:
        hint = difflib.get_close_matches(source_id, list(sources), n=1)
        extra = f" (did you mean {hint[0]!r}?)" if hint else ""
        errors.append(PackError(f"citation {ref!r}: no source {source_id!r}{extra}", where))
    elif provision_id not in source.provisions:
        hint = difflib.get_close_matches(provision_id, list(source.provisions), n=1)
        extra = f" (did you mean {source_id}/{hint[0]}?)" if hint else ""
        errors.append(PackError(f"citation {ref!r}: {source_id} has no provision {provision_id!r}{extra}", where))


def read_pack(path: str | Path, _chain: tuple[Path, ...] = (), _budget: PackBudget | None = None) -> PackDefinition:
    """Load and validate a pack (and the base it extends); raise PackErrors listing every problem found."""
    pack, errors = read_pack_partially(path, _chain, _budget)
    if errors:
        raise PackErrors(errors)
    return pack


def read_pack_partially(
    path: str | Path, _chain: tuple[Path, ...] = (), _budget: PackBudget | None = None
) -> tuple[PackDefinition, list[PackError]]:
    """The pack as far as it loads (rules that break the schema left out) and every problem found, for lint.

    Raises only when nothing can be read: no manifest, a manifest outside its rules broken, a base that fails,
    a pack past the pack-wide budget (its files and its bases' together, :mod:`svcpolicy.pack.budget`).
    """
    budget = PackBudget() if _budget is None else _budget
    root, manifest_path = _resolve_pack_file(Path(path))
    if manifest_path.resolve() in _chain:
        cycle = " -> ".join(str(p) for p in (*_chain, manifest_path.resolve()))
        raise PackError(f"packs extend each other in a cycle: {cycle}", SourceLocation(str(manifest_path)))
    errors: list[PackError] = []
    manifest_doc = load_yaml(manifest_path, budget)
    manifest, manifest_rules = _validate_part(PackManifest, manifest_doc, errors)
    if manifest is None:
        raise PackErrors(errors)
    base = _read_base(manifest, manifest_doc, root, (*_chain, manifest_path.resolve()), budget)
    pack = PackDefinition(manifest=manifest, root=root, files=[manifest_path], base=base)
    if base is not None:
        if base.manifest.timezone != manifest.timezone:
            errors.append(
                PackError(
                    f"timezone {manifest.timezone} differs from base pack's {base.manifest.timezone}",
                    manifest_doc.location(("timezone",)),
                )
            )
        pack.sources, pack.source_sites = dict(base.sources), dict(base.source_sites)
        pack.parameters, pack.parameter_sites = dict(base.parameters), dict(base.parameter_sites)
        pack.rules, pack.rule_sites = list(base.rules), list(base.rule_sites)
        pack.sequences, pack.sequence_sites = list(base.sequences), list(base.sequence_sites)
        pack.files = [*base.files, manifest_path]
    parts: list[tuple[YamlDocument, PackManifest | PackPart, list[int]]] = [(manifest_doc, manifest, manifest_rules)]
    for file in _included_files(root, manifest_path, manifest.include, manifest_doc):
        try:
            doc = load_yaml(file, budget)
        except PackTooLarge as exc:  # the files after it would only be refused too
            raise PackErrors([*errors, exc]) from exc
        except PackError as exc:
            errors.append(exc)
            continue
        included, positions = _validate_part(PackPart, doc, errors)
        pack.files.append(file)
        if included is not None:
            parts.append((doc, included, positions))

    rule_ids: dict[str, Site] = {rule.id: site for rule, site in zip(pack.rules, pack.rule_sites, strict=True)}
    sequence_ids = {s.id: site for s, site in zip(pack.sequences, pack.sequence_sites, strict=True)}
    for doc, part, positions in parts:
        _merge("source", pack.sources, pack.source_sites, part.sources, doc, "sources", errors, base)
        _merge("parameter", pack.parameters, pack.parameter_sites, part.parameters, doc, "parameters", errors, base)
        for i, rule in zip(positions, part.rules, strict=True):
            site = Site(doc, ("rules", i))
            if rule.id in rule_ids:
                errors.append(PackError(_twice("rule", rule.id, rule_ids[rule.id], base), site.at()))
                continue
            rule_ids[rule.id] = site
            pack.rules.append(rule)
            pack.rule_sites.append(site)
        _read_sequences(pack, doc, part.sequences, errors, sequence_ids)
    _apply_tightening(pack, manifest_doc, errors)
    _check_references(pack, errors)
    _check_sequence_references(pack, errors)
    return pack, errors


def _read_base(
    manifest: PackManifest, doc: YamlDocument, root: Path, chain: tuple[Path, ...], budget: PackBudget
) -> PackDefinition | None:
    if manifest.extends is None:
        if manifest.tighten:
            raise PackError("`tighten` needs a base pack to tighten: add `extends:`", doc.location(("tighten",)))
        return None
    where = doc.location(("extends",))
    if Path(manifest.extends).is_absolute() or ".." in Path(manifest.extends).parts:
        raise PackError(
            f"extends {manifest.extends!r} must stay inside the pack directory (or name a bundled pack)", where
        )
    relative = root / manifest.extends
    if relative.exists():
        if not relative.resolve().is_relative_to(root.resolve()):
            raise PackError(f"extends {manifest.extends!r} lies outside the pack (symlink?)", where)
        target = relative
    else:
        try:
            target = bundled_pack_path(manifest.extends)
        except PackError:
            raise PackError(
                f"extends {manifest.extends!r}: no such pack (a path relative to this pack, or a bundled pack's name)",
                where,
            ) from None
    return read_pack(target, chain, budget)


def _apply_tightening(pack: PackDefinition, doc: YamlDocument, errors: list[PackError]) -> None:
    """Replace base parameters with the overlay's stricter values; a looser one is an error naming both places."""
    for name, value in pack.manifest.tighten.items():
        where = doc.location(("tighten", name))
        parameter = pack.parameters.get(name)
        if parameter is None or pack.base is None or name not in pack.base.parameters:
            errors.append(PackError(f"tighten {name!r}: the base pack has no parameter of that name", where))
            continue
        base_at = pack.parameter_sites[name].at()
        if parameter.tighter is None or parameter.values is not None:
            errors.append(
                PackError(
                    f"tighten {name!r}: the base pack does not say which way is stricter (`tighter:` at {base_at})",
                    where,
                )
            )
            continue
        problem = looser(parameter.tighter, parameter.value, value)
        if problem:
            errors.append(PackError(f"tighten {name!r} {problem}; base value {parameter.value!r} at {base_at}", where))
            continue
        pack.parameters[name] = parameter.model_copy(update={"value": value})


def looser(direction: str, base: Any, value: Any) -> str | None:
    """Why ``value`` is not at least as strict as ``base`` in ``direction``, or None when it is."""
    if direction in ("lower", "higher"):
        numbers = (int, float)
        if not isinstance(value, numbers) or isinstance(value, bool) or not isinstance(base, numbers):
            return f"must be a number like its base, not {value!r}"
        if (value > base) if direction == "lower" else (value < base):
            return f"would loosen it: {value!r} is {'above' if direction == 'lower' else 'below'} the base"
        return None
    if isinstance(base, list):
        if not isinstance(value, list):
            return "must be a list like its base"
        dropped = [item for item in base if item not in value]
        return f"would drop {dropped!r} from the base list" if dropped else None
    if isinstance(base, dict):
        if not isinstance(value, dict):
            return "must be a mapping like its base"
        for key, item in base.items():
            if key not in value:
                return f"would drop the base entry {key!r}"
            problem = looser("superset", item, value[key]) if isinstance(item, list | dict) else None
            if problem or (not isinstance(item, list | dict) and value[key] != item):
                return f"entry {key!r}: {problem or 'would change a base value'}"
        return None
    return "cannot be tightened as a superset: the base value is not a list or mapping"


def _check_references(pack: PackDefinition, errors: list[PackError]) -> None:
    for source_id, source in pack.sources.items():
        for provision_id, provision in source.provisions.items():
            for j, ref in enumerate(provision.restates):
                where = pack.source_sites[source_id].at("provisions", provision_id, "restates", j)
                _check_reference(ref, pack.sources, where, errors)
    for name, parameter in pack.parameters.items():
        for j, ref in enumerate(parameter.cite):
            _check_reference(ref, pack.sources, pack.parameter_sites[name].at("cite", j), errors)
    for rule, site in zip(pack.rules, pack.rule_sites, strict=True):
        for j, ref in enumerate(rule.cite):
            _check_reference(ref, pack.sources, site.at("cite", j), errors)


def _read_sequences(
    pack: PackDefinition, doc: YamlDocument, raw: list[Any], errors: list[PackError], sites: dict[str, Site]
) -> None:
    """Validate one file's ``sequences:`` into ``pack.sequences``; every problem goes to ``errors`` with its place."""
    for i, item in enumerate(raw):
        try:
            rule = SequenceRule.model_validate(item)
        except ValidationError as exc:
            for err in exc.errors():
                loc = ("sequences", i, *err["loc"])
                where = ".".join(str(p) for p in shown_loc(loc, err["type"]))
                errors.append(PackError(f"{where}: {err['msg']}", doc.location(loc)))
            continue
        site = Site(doc, ("sequences", i))
        if rule.id in sites:
            errors.append(
                PackError(f"sequence {rule.id!r} is defined twice (first at {sites[rule.id].at()})", site.at())
            )
            continue
        sites[rule.id] = site
        pack.sequences.append(rule)
        pack.sequence_sites.append(site)


def _check_sequence_references(pack: PackDefinition, errors: list[PackError]) -> None:
    """Citations, parameters, record rules and `see` ids of every sequence must resolve."""
    rule_ids = {rule.id for rule in pack.rules}
    sequence_ids = {s.id for s in pack.sequences}
    for rule, site in zip(pack.sequences, pack.sequence_sites, strict=True):
        for j, ref in enumerate(rule.cite):
            source_id, _, provision_id = ref.partition("/")
            source = pack.sources.get(source_id)
            if source is None or provision_id not in source.provisions:
                errors.append(PackError(f"citation {ref!r}: no such provision", site.at("cite", j)))
        needed = rule.parameter_names() if rule.kind != "described" else set()
        for name in sorted(needed - set(pack.parameters)):
            errors.append(PackError(f"sequence {rule.id}: no parameter {name!r}", site.at()))
        if rule.record_rule is not None and rule.record_rule not in rule_ids:
            errors.append(PackError(f"record_rule {rule.record_rule!r}: no such rule", site.at("record_rule")))
        for j, other in enumerate(rule.see):
            if other not in sequence_ids:
                errors.append(PackError(f"see {other!r}: no such sequence", site.at("see", j)))
