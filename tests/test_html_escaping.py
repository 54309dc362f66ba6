"""The HTML report prints record and pack data only as text: markup in a record id, a message, a group key or an
article's text is shown escaped wherever the page (or the notebook summary) shows it, and never becomes markup.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

import svcpolicy
from auditing import AS_OF, AUDIT_PACK, RECORDS, audit, op, record, write_records
from svcpolicy.reporting.html import render_html, summary_html

PAYLOADS = ("<img src=x onerror=alert(1)>", "</script><script>alert(1)</script>")
VOID = {"br", "meta", "img", "input", "link", "hr", "area", "base", "col", "embed", "source", "track", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    def walk(self) -> Iterator[Element]:
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.walk()

    def find(self, tag: str, **attrs: str) -> list[Element]:
        """Descendants with this tag whose attributes (``class_`` for ``class``) have these values."""
        wanted = {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}
        return [e for e in self.walk() if e.tag == tag and all(e.attrs.get(k) == v for k, v in wanted.items())]


class Tree(HTMLParser):
    """A page as a tree of elements, attribute values and texts unescaped as a browser would."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self._open = [self.root]
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self._open[-1].children.append(element)
        if tag not in VOID:
            self._open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._open[-1].children.append(Element(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        while len(self._open) > 1:
            if self._open.pop().tag == tag:
                break

    def handle_data(self, data: str) -> None:
        self._open[-1].children.append(data)


def hostile_report(tmp_path: Path, payload: str) -> svcpolicy.Report:
    """The audit scene plus one record whose id, branch (a group key too) and operation (in the message) are markup."""
    hostile = record(
        payload, payload, "E1", "C100009", "2026-11-23T09:00:00+08:00", wait=99, operations=[op(False, kind=payload)]
    )
    return audit(tmp_path, [*RECORDS, hostile], aggregate=True)


def only_markup_of_the_page(page: Element) -> None:
    """The page's own elements only: no image, one script (its own), no event-handler attribute."""
    assert page.find("img") == []
    assert len(page.find("script")) == 1 and page.find("script")[0].attrs == {}
    assert [a for e in page.walk() for a in e.attrs if a.startswith("on")] == []


@pytest.mark.parametrize("payload", PAYLOADS)
def test_markup_in_a_record_is_text_in_the_table_evidence_filters_and_charts(tmp_path: Path, payload: str) -> None:
    report = hostile_report(tmp_path, payload)
    text = render_html(report, lang="en")
    page = Tree(text).root
    only_markup_of_the_page(page)
    assert payload not in text

    (row,) = page.find("tr", data_rule="SVC-016-unauthorized-operation", data_branch=payload)
    assert row.find("td", class_="where")[0].find("code")[0].text == payload  # the record id
    assert row.find("td", class_="who")[0].text.startswith(payload)  # the branch
    assert f"Operation {payload} was done" in row.find("span", data_col="message")[0].text

    (group,) = page.find("tr", data_rule="AGG-branch-average-wait", data_branch=payload)
    assert group.find("td", class_="where")[0].find("code")[0].text == f"group branch={payload}, month=2026-11"
    cells = [cell.text for cell in group.find("table", class_="evidence")[0].find("td")]
    evidence = dict(zip(cells[::2], cells[1::2], strict=True))  # (field, value) rows
    assert evidence["branch"] == payload

    (branches,) = page.find("select", id="filter-branch")
    assert [o.text for o in branches.find("option") if o.attrs["value"] == payload] == [
        f"{payload} (3)"
    ]  # its three findings

    (bar,) = page.find("g", data_filter="branch", data_value=payload)
    assert bar.find("title")[0].text.startswith(f"{payload} — 3 ")
    label = bar.find("text", class_="label")[0].text
    assert payload.startswith(label.rstrip("…"))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_markup_in_a_record_is_escaped_in_the_page_source_as_well(tmp_path: Path, payload: str) -> None:
    text = render_html(hostile_report(tmp_path, payload), lang="en", show_customer_ids=True)
    escaped = payload.replace("<", "&lt;").replace(">", "&gt;")
    assert payload not in text and "alert(1)" in text
    for source in (
        f'<code data-col="record">{escaped}</code>',
        f"group branch={escaped}, month=2026-11",
        f'<td title="branch">branch</td><td>{escaped}</td>',
    ):
        assert source in text
    assert text.count("<script") == 1 and text.count("</script>") == 1


@pytest.mark.parametrize("payload", PAYLOADS)
def test_markup_in_an_article_text_is_text_in_the_page_and_in_the_notebook_summary(
    tmp_path: Path, payload: str
) -> None:
    (tmp_path / "pack").mkdir()
    article = "本行员工应遵守客户申请和授权原则,不得擅自进行涉及客户权益的操作。"
    (tmp_path / "pack" / "pack.yaml").write_text(
        AUDIT_PACK.replace(article, f"{article}{payload}").replace(
            "title: 银行客户服务规章制度", f"title: '{payload}'"
        ),
        encoding="utf-8",
    )
    report = svcpolicy.load_policy(tmp_path / "pack").evaluate(write_records(tmp_path / "r.jsonl"), as_of=AS_OF)

    page = Tree(render_html(report, lang="en")).root
    only_markup_of_the_page(page)
    quotes = page.find("blockquote", data_citation="svc-rules/16")
    assert quotes and all(q.text.endswith(f"{article}{payload}") for q in quotes)
    assert all(q.find("cite")[0].text.startswith(payload) for q in quotes)
    rows = [r for r in page.find("tr") if r.attrs.get("data-article") == "svc-rules/16"]
    assert rows and {r.find("td", class_="article")[0].find("span")[0].attrs["title"] for r in rows} == {
        f"{article}{payload}"
    }

    summary = Tree(summary_html(report)).root
    assert summary.find("img") == [] and summary.find("script") == []
    (row,) = summary.find("tr", data_citation="svc-rules/16")
    assert row.find("summary")[0].attrs["title"] == f"{article}{payload}"
    assert row.find("div")[0].text == f"{article}{payload}"


def test_no_template_turns_escaping_off() -> None:
    templates = Path(svcpolicy.__file__).parent / "reporting" / "templates"
    pages = sorted(templates.glob("*.html"))
    assert len(pages) >= 7
    for template in pages:
        source = "".join(template.read_text(encoding="utf-8").split())
        assert "|safe" not in source and "autoescapefalse" not in source, template.name
