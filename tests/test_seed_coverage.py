"""Every provision of the seed regulation is in the bundled pack, with one class, and every checkable one is enforced.

The test does not trust the pack's own reading of the seed: it re-reads the copy shipped beside the pack
(rules/cn-bank-service/seed/), cuts each of the eleven documents into provisions by the markers written in the
text (第X章, 第X条, ``1.``, ``1.1``, ``一、``, the named sections of the PSBC text, the unnumbered preambles and
closing paragraphs) and then requires a one-to-one match: each provision found is exactly one pack provision
with the same text, label and chapter, and the pack holds no seed provision the text does not have. Because the
provisions found tile each document, no sentence of the seed can be left out.

Only PyYAML is used, so this holds whatever the engine does.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

PACK = Path(__file__).resolve().parents[1] / "rules" / "cn-bank-service"
SEED = PACK / "seed" / "000_cd703e736dc0dd10.txt"
SEQUENCES = PACK / "monitor" / "sequences.yaml"
CLASSES = ("record", "aggregate", "event", "not-checkable")

# -- the seed, read independently of the pack ------------------------------------------------------------------

# Lines 1-4 are the header of the .docx export (title, format, size, page count), not part of any document.
HEADER = ("银行客户服务管理制度【最新版】", "- 格式:docx", "- 大小:18.68 KB", "- 文档页数:11")


@dataclass(frozen=True)
class Document:
    source: str  # the pack's source id for it
    first_line: int  # 1-based line of the seed where it starts; it runs to the next document's first line
    title: str | None  # printed at the start of its first line (None: the document starts without a title)
    sections: tuple[str, ...] = ()  # unnumbered section names it uses as headings, at the start of a line


DOCUMENTS = (
    Document("svc-rules", 5, "银行客户服务规章制度"),
    Document("overview-a", 26, None),
    Document("accounts-1994", 37, "银行客户服务管理制度(2)"),
    Document("model-rules", 41, "银行客户服务管理制度范本"),
    Document("intro", 55, "银行客户服务管理制度导言:"),
    Document("post-rules", 73, "银行业客户服务岗位的管理制度"),
    Document("overview-b", 92, "银行客户服务管理制度"),
    Document("plan-2024", 106, "2024年银行客户服务管理制度"),
    Document(
        "psbc-2023",
        124,
        "中国邮政储蓄银行客户服务管理办法(2023年版)",
        ("概述", "客户服务原则", "客户服务内容", "客户服务保障", "客户服务责任", "生效与修订"),
    ),
    Document("overview-c", 144, "银行客户服务管理制度"),
    Document("svc-system", 161, "银行客户服务制度"),
)

# Paragraphs that follow a numbered list without belonging to its last item: a summary or an editorial note.
CLOSINGS = {"以上是": "结语", "以上为": "结语", "银行客户服务管理制度的建立和执行": "结语", "注:": "注"}

CN_DIGITS = "一二三四五六七八九"
MARKER = re.compile(
    r"(?P<chapter>第[一二三四五六七八九十]+章)"
    r"|(?P<article>第[一二三四五六七八九十百]+条)"
    r"|(?P<section>(?<![\d.])[一二三四五六七八九十]+、)"
    r"|(?P<sub>(?<![\d.])\d+\.\d+(?!\d))"
    r"|(?P<item>(?<![\d.])\d+\.(?!\d))"
)


def cn_number(numeral: str) -> int:
    """一 … 九十九 (enough for 第二十一条)."""
    if "十" not in numeral:
        return CN_DIGITS.index(numeral) + 1
    tens, _, units = numeral.partition("十")
    return (CN_DIGITS.index(tens) + 1 if tens else 1) * 10 + (CN_DIGITS.index(units) + 1 if units else 0)


@dataclass(frozen=True)
class Marker:
    kind: str  # chapter | article | section | sub | item | named | closing | preamble
    text: str  # the marker as written ("" for a preamble)
    start: int  # where it starts in the document body
    end: int  # where its segment starts (closings belong to their own text)


@dataclass(frozen=True)
class Found:
    source: str
    label: str
    chapter: str | None
    text: str
    line: int  # seed line where the provision starts

    @property
    def key(self) -> str:
        return f"{self.source} {self.label} (seed line {self.line})"


def _markers(body: str, document: Document) -> list[Marker]:
    found = [Marker(m.lastgroup or "", m.group(), m.start(), m.end()) for m in MARKER.finditer(body)]
    line_starts = [0, *(i + 1 for i, ch in enumerate(body) if ch == "\n")]
    for start in line_starts:
        rest = body[start:]
        found += [
            Marker("named", name, start, start + len(name)) for name in document.sections if rest.startswith(name)
        ]
        found += [Marker("closing", opening, start, start) for opening in CLOSINGS if rest.startswith(opening)]
    found.sort(key=lambda m: m.start)
    if found and body[: found[0].start].strip():
        found.insert(0, Marker("preamble", "", 0, 0))
    return found


def _seed_lines() -> list[str]:
    return SEED.read_text(encoding="utf-8").split("\n")


def _document_bodies() -> list[tuple[Document, str, int]]:
    """(document, its text without the title, the seed line of that text's first character)."""
    lines = _seed_lines()
    ends = [d.first_line - 1 for d in DOCUMENTS[1:]] + [len(lines)]
    bodies = []
    for document, last in zip(DOCUMENTS, ends, strict=True):
        text = "\n".join(lines[document.first_line - 1 : last])
        if document.title is not None:
            assert text.startswith(document.title), f"{document.source}: line {document.first_line} has no title"
            text = text[len(document.title) :]
        first_line = document.first_line
        if text.startswith("\n"):  # a title alone on its line
            text, first_line = text[1:], first_line + 1
        bodies.append((document, text, first_line))
    return bodies


def find_provisions() -> list[Found]:
    """Every provision of every document, found from the markers in the seed text alone."""
    found: list[Found] = []
    for document, body, first_line in _document_bodies():
        markers = _markers(body, document)
        chapter: str | None = None  # current heading (第一章总则, 一、客户服务原则, 客户服务原则)
        parent: str | None = None  # label prefix of numbered items (第十一条 -> 第十一条第1项, 一、 -> 一、1.)
        for i, marker in enumerate(markers):
            nxt = markers[i + 1] if i + 1 < len(markers) else None
            segment = body[marker.end : nxt.start if nxt else len(body)]
            text = segment.strip()
            line = first_line + body.count("\n", 0, marker.start)
            same_line_item = nxt is not None and nxt.kind in ("item", "sub") and "\n" not in segment
            if marker.kind == "chapter" or (marker.kind in ("section", "named") and same_line_item):
                heading = marker.text + text
                assert heading and "\n" not in heading, f"{document.source}: heading {marker.text} at line {line}"
                assert text or marker.kind == "named", f"{document.source}: heading {marker.text} has no title"
                chapter, parent = heading, marker.text if marker.kind == "section" else None
                continue
            if marker.kind == "article":
                label, parent = marker.text, marker.text
            elif marker.kind == "item":
                number = marker.text.rstrip(".")
                if parent is not None and parent.startswith("第"):
                    label = f"{parent}第{number}项"
                else:
                    label = f"{parent or ''}{marker.text}"
            elif marker.kind == "closing":
                label, chapter, parent = CLOSINGS[marker.text], None, None
            elif marker.kind == "preamble":
                label = "导言"
            else:  # a section or named section with a body of its own, or a 1.1 sub-item
                label = marker.text
                if marker.kind != "sub":
                    chapter, parent = None, None
            assert text, f"{document.source}: {label} at line {line} has no text"
            found.append(Found(document.source, label, chapter, text, line))
    return found


FOUND = find_provisions()

# -- the pack ----------------------------------------------------------------------------------------------------


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path} is not a mapping"
    return data


def _pack_files() -> list[Path]:
    files = [PACK / "pack.yaml"]
    for pattern in _load(PACK / "pack.yaml")["include"]:
        files.extend(sorted(PACK.glob(pattern)))
    # aggregate rules waiting for engine support are enforced too, so they count as enforcing
    return files + sorted((PACK / "pending").glob("*.yaml"))


def _merge() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    sources: dict[str, Any] = {}
    rules: list[dict[str, Any]] = []
    for path in _pack_files():
        part = _load(path)
        sources.update(part.get("sources") or {})
        rules.extend(part.get("rules") or [])
    return sources, rules


SOURCES, RULES = _merge()
SEED_SOURCES = {sid: s for sid, s in SOURCES.items() if s.get("kind", "seed") == "seed"}
SEED_PROVISIONS = {
    f"{sid}/{pid}": provision for sid, source in SEED_SOURCES.items() for pid, provision in source["provisions"].items()
}


def _squash(text: str | None) -> str | None:
    return None if text is None else re.sub(r"\s+", "", text)


def _match(found: Found) -> list[str]:
    return [
        ref
        for ref, provision in SEED_PROVISIONS.items()
        if ref.partition("/")[0] == found.source and provision["text"].strip() == found.text
    ]


# -- reading the seed ---------------------------------------------------------------------------------------------


def test_the_seed_starts_with_the_export_header_and_the_documents_tile_the_rest() -> None:
    lines = _seed_lines()
    assert tuple(lines[: len(HEADER)]) == HEADER
    assert DOCUMENTS[0].first_line == len(HEADER) + 1
    assert [d.first_line for d in DOCUMENTS] == sorted({d.first_line for d in DOCUMENTS})
    assert {d.source for d in DOCUMENTS} == set(SEED_SOURCES), "one pack source per seed document"


def test_the_markers_count_in_sequence_within_each_document() -> None:
    """A skipped or repeated number would mean a marker was misread (or the seed has a gap)."""
    problems = []
    for document, body, _ in _document_bodies():
        counters: dict[str, list[int]] = {}
        parent = ""
        for marker in _markers(body, document):
            if marker.kind in ("chapter", "article", "section"):
                number = cn_number(marker.text.strip("第章条、"))
                counters.setdefault(marker.kind, []).append(number)
                if marker.kind == "article" or marker.kind == "section":
                    parent = marker.text
                    counters.pop(f"item {parent}", None)
                    counters.pop(f"sub {parent}", None)
            elif marker.kind == "named":
                parent = marker.text
            elif marker.kind == "item":
                counters.setdefault(f"item {parent}", []).append(int(marker.text.rstrip(".")))
            elif marker.kind == "sub":
                major, minor = (int(x) for x in marker.text.split("."))
                if document.source == "intro":
                    assert major == cn_number(parent.rstrip("、")), f"{marker.text} under {parent}"
                counters.setdefault(f"sub {parent}", []).append(minor)
        for kind, numbers in counters.items():
            if numbers != list(range(1, len(numbers) + 1)):
                problems.append(f"{document.source} {kind}: {numbers}")
    assert problems == []


def test_the_seed_reading_finds_every_provision_the_design_names() -> None:
    """The reading agrees with shared/design/obligations.md's count of each document's provisions."""
    counts = Counter(f.source for f in FOUND)
    labels = {(f.source, f.label) for f in FOUND}
    assert sum(1 for f in FOUND if f.source == "svc-rules" and f.label.endswith("条")) == 21
    assert sum(1 for f in FOUND if f.source == "accounts-1994") == 3
    assert {("model-rules", f"第十一条第{n}项") for n in range(1, 5)} <= labels
    assert {("intro", f"{a}.{b}") for a in (1, 2) for b in (1, 2, 3)} <= labels
    assert {("post-rules", s) for s in ("一、", "二、", "三、", "四、", "五、", "注")} <= labels
    assert {("overview-a", f"{n}.") for n in range(1, 9)} <= labels
    assert {("overview-b", f"{n}.") for n in range(1, 8)} <= labels
    assert {("overview-c", f"{n}.") for n in range(1, 9)} <= labels
    assert {("svc-system", f"{n}.") for n in range(1, 9)} <= labels
    plan = {f"{s}{n}." for s, last in (("一、", 4), ("二、", 4), ("三、", 4), ("四、", 3)) for n in range(1, last + 1)}
    assert {("plan-2024", label) for label in plan} <= labels
    psbc = [f for f in FOUND if f.source == "psbc-2023"]
    assert [f.chapter for f in psbc].count("客户服务内容") == 7 and ("psbc-2023", "生效与修订") in labels
    assert counts == Counter(sid for sid in (ref.partition("/")[0] for ref in SEED_PROVISIONS))


# -- the pack against the seed ------------------------------------------------------------------------------------


@pytest.mark.parametrize("found", FOUND, ids=[f.key for f in FOUND])
def test_each_provision_of_the_seed_is_exactly_one_pack_provision_with_its_label_and_chapter(found: Found) -> None:
    matches = _match(found)
    assert len(matches) == 1, f"{found.key}: {len(matches)} pack provisions have its text {found.text[:30]!r}…"
    provision = SEED_PROVISIONS[matches[0]]
    assert _squash(provision.get("label")) == _squash(found.label), matches[0]
    assert _squash(provision.get("chapter")) == _squash(found.chapter), matches[0]


def test_the_pack_holds_no_seed_provision_the_seed_does_not_have() -> None:
    matched = Counter(ref for found in FOUND for ref in _match(found))
    assert sorted(set(SEED_PROVISIONS) - set(matched)) == []
    assert [ref for ref, n in matched.items() if n > 1] == []


@pytest.mark.parametrize("ref", sorted(SEED_PROVISIONS))
def test_each_seed_provision_has_exactly_one_class_and_restates_only_other_provisions(ref: str) -> None:
    provision = SEED_PROVISIONS[ref]
    assert provision.get("class") in CLASSES, f"{ref}: class {provision.get('class')!r}"
    if provision["class"] == "not-checkable":
        reason = str(provision.get("reason") or "")
        assert reason.strip() and "\n" not in reason.strip(), (
            f"{ref}: a not-checkable provision needs a one-line reason"
        )
    else:
        assert "reason" not in provision, f"{ref}: only not-checkable provisions carry a reason"
    for target in provision.get("restates") or []:
        assert target != ref, f"{ref} restates itself"
        assert target in SEED_PROVISIONS, f"{ref} restates {target}, which is not a seed provision"


# -- enforcement ---------------------------------------------------------------------------------------------------


def _enforcing(ref: str) -> list[dict[str, Any]]:
    return [rule for rule in RULES if ref in rule["cite"]]


def _outcomes(rule: dict[str, Any]) -> Counter[str]:
    return Counter(key for example in rule.get("examples") or [] for key in ("violates", "complies") if key in example)


CHECKABLE = sorted(ref for ref, p in SEED_PROVISIONS.items() if p["class"] in ("record", "aggregate"))


@pytest.mark.parametrize("ref", CHECKABLE)
def test_each_record_and_aggregate_provision_is_enforced_by_a_rule_of_its_kind_with_examples(ref: str) -> None:
    kind = SEED_PROVISIONS[ref]["class"]
    rules = [rule for rule in _enforcing(ref) if rule.get("kind", "record") == kind]
    assert rules, f"{ref} ({kind}) is cited by no {kind} rule"
    for rule in rules:
        outcomes = _outcomes(rule)
        assert outcomes["violates"] >= 2 and outcomes["complies"] >= 2, f"{rule['id']} needs 2 + 2 examples"


def test_rules_cite_only_seed_provisions_that_can_be_checked() -> None:
    cited = {ref for rule in RULES for ref in rule["cite"] if ref in SEED_PROVISIONS}
    assert sorted(ref for ref in cited if SEED_PROVISIONS[ref]["class"] == "not-checkable") == []


def _sequences() -> list[dict[str, Any]]:
    sequences = _load(SEQUENCES)["sequences"]
    assert isinstance(sequences, list)
    return sequences


def test_the_monitor_sequences_are_well_formed_and_cite_existing_provisions() -> None:
    sequences = _sequences()
    ids = [s["id"] for s in sequences]
    assert len(ids) == len(set(ids))
    rule_ids = {rule["id"] for rule in RULES}
    for sequence in sequences:
        assert re.fullmatch(r"EVT-[A-Z]+-\d{3}(-[a-z0-9]+)+", sequence["id"]), sequence["id"]
        assert sequence["events"] and str(sequence["rule"]).strip(), sequence["id"]
        for ref in sequence["cite"]:
            source_id, _, provision_id = ref.partition("/")
            assert provision_id in SOURCES.get(source_id, {}).get("provisions", {}), f"{sequence['id']}: {ref}"
        assert sequence.get("record_rule") in rule_ids | {None}, sequence["id"]


EVENTS = sorted(ref for ref, p in SEED_PROVISIONS.items() if p["class"] == "event")


@pytest.mark.parametrize("ref", EVENTS)
def test_each_event_provision_is_listed_with_the_sequence_the_monitor_will_enforce(ref: str) -> None:
    citing = [s["id"] for s in _sequences() if ref in s["cite"]]
    assert citing, f"{ref} is an event provision but no monitor sequence cites it"
    named = set(re.findall(r"EVT-[A-Z]+-\d{3}", SEED_PROVISIONS[ref].get("note") or ""))
    assert named == {"-".join(sid.split("-")[:3]) for sid in citing}, f"{ref}: its note names {sorted(named)}"


def test_the_coverage_totals_account_for_every_provision() -> None:
    totals = Counter(p["class"] for p in SEED_PROVISIONS.values())
    assert sum(totals.values()) == len(FOUND)
    assert set(totals) <= set(CLASSES)
