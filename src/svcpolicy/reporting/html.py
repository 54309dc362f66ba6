"""The HTML views of a report: a standalone file to hand on, and the summary Jupyter shows.

``render_html`` makes one self-contained page: summary counts, the records checked and violation rates per
branch, employee and month, three charts (inline SVG, so neither matplotlib nor a network is needed), and every
finding with its article's verbatim text and its evidence as a (field, value) table. The findings table filters
by article, severity, branch, employee, month and outcome and by free text, sorts by any column, pages
(``PAGE_SIZE`` rows at a time, so a report of 10,000 findings opens quickly) and exports the filtered rows as CSV,
all in the page's own script. The page loads nothing: its Content Security
Policy allows no network at all, and only the page's own style and script (by hash), so even a record that
slipped past escaping could not run code.

The markup is in Jinja templates (``svcpolicy/reporting/templates``) whose environment escapes every value
they print; Python only shapes the data (html_findings, svg_charts). Customer identifiers are masked unless
``show_customer_ids`` is set (see :mod:`svcpolicy.reporting.masking`).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import html
from dataclasses import dataclass
from typing import Any, TextIO

from jinja2 import Environment, PackageLoader, StrictUndefined, Template, select_autoescape
from markupsafe import Markup

from svcpolicy.reporting import wording
from svcpolicy.reporting.escaping import bidi_visible
from svcpolicy.reporting.html_findings import filter_choices, finding_views, invalid_views
from svcpolicy.reporting.html_labels import labels
from svcpolicy.reporting.html_rates import rate_tables
from svcpolicy.reporting.html_rows import article_label, page_rows, ranked
from svcpolicy.reporting.masking import Masker, mask_identifier
from svcpolicy.reporting.rows import SEVERITIES, SEVERITY_COLOURS, primary, worst
from svcpolicy.reporting.svg_charts import article_chart, branch_chart, month_chart
from svcpolicy.results.findings import Finding, Outcome
from svcpolicy.results.report import Report
from svcpolicy.severity import Severity

__all__ = [
    "PAGE_SIZE",
    "Masker",
    "html_format",
    "html_format_showing_customer_ids",
    "mask_identifier",
    "render_html",
    "summary_html",
    "write_html",
]


PAGE_SIZE = 200
"""Findings table rows shown at a time; the rest wait hidden (the counts and the CSV export cover them all)."""


def _thousands(value: int) -> str:
    """A count with thousands separators (``12,345``), as the page prints every count."""
    return f"{value:,}"


def _escaped(value: Any) -> Markup:
    """The environment's ``finalize``: every value a template prints, escaped as HTML5 text.

    Autoescape alone would escape too, but writes ``"`` as ``&#34;``; the page has always written ``&quot;``
    (``html.escape``), and the tests and auditors' tooling read it so. Markup the templates made themselves (a
    macro's output) and the page's own style and script pass unchanged; nothing else is ever marked safe.
    """
    if isinstance(value, Markup):
        return value
    text = bidi_visible(str(value))  # U+202E would show the rest of a cell backwards: shown as \u202e instead
    # a line break as a character reference: the same text in the browser, but no line of the page's source starts
    # with what a record put there (``::error::`` in a CI log the page is printed to, a forged line for grep)
    escaped = html.escape(text, quote=True).translate(_LINE_BREAK_REFERENCES)
    return Markup(escaped)  # noqa: S704 - escaped here, for every value printed


_LINE_BREAK_REFERENCES = str.maketrans({"\n": "&#10;", "\r": "&#13;"})


_TEMPLATES = PackageLoader("svcpolicy.reporting", "templates")
"""The page's templates and its own style and script, read from the installed package."""


@functools.cache
def _environment() -> Environment:
    environment = Environment(
        loader=_TEMPLATES,
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True, default=True),
        undefined=StrictUndefined,
        finalize=_escaped,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["thousands"] = _thousands
    return environment


def _template(name: str) -> Template:
    return _environment().get_template(name)


def _asset(name: str) -> str:
    """The text of one of the page's own files (report.css, report.js), as shipped."""
    source: str = _TEMPLATES.get_source(_environment(), name)[0]
    return source


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


@dataclass(frozen=True)
class _Card:
    key: str
    value: int
    tone: str


def _cards(report: Report) -> list[_Card]:
    counts = report.counts
    cards = [
        _Card("records", counts.records, ""),
        _Card("compliant", counts.compliant, "ok"),
        _Card("with_violations", counts.with_violations, "bad" if counts.with_violations else ""),
        _Card("undetermined", counts.undetermined, "warn" if counts.undetermined else ""),
        _Card("invalid", counts.invalid, "bad" if counts.invalid else ""),
        _Card("violations", counts.violations, "bad" if counts.violations else ""),
        _Card("undetermined_findings", counts.undetermined_findings, ""),
    ]
    groups_in_breach = int(getattr(counts, "group_violations", 0))
    groups_undetermined = int(getattr(counts, "group_undetermined", 0))
    if groups_in_breach or groups_undetermined:  # findings of aggregate rules, about groups of records
        cards.append(_Card("group_violations", groups_in_breach, "bad" if groups_in_breach else ""))
        cards.append(_Card("group_undetermined", groups_undetermined, ""))
    if report.input_failures:
        cards.append(_Card("input_errors", len(report.input_failures), "bad"))
    return cards


def _sources(report: Report) -> list[str]:
    seen = dict.fromkeys(
        [f.record.source for f in report.findings if f.record.source]
        + [i.record.source for i in report.invalid if i.record.source]
        + [i.source for i in report.input_failures]
    )
    return [s for s in seen if s]


def _capped(report: Report) -> tuple[str, str] | None:
    """(shown, total) when the report lists fewer findings than its counts hold (``--html-max-findings``)."""
    c = report.counts
    total = c.violations + c.undetermined_findings + c.group_violations + c.group_undetermined
    shown = len(report.findings)
    return (_thousands(shown), _thousands(total)) if shown < total else None


def render_html(
    report: Report,
    *,
    lang: str = "zh",
    show_customer_ids: bool = False,
    title: str | None = None,
    generated: dt.datetime | None = None,
) -> str:
    """The standalone HTML page of a report (UTF-8 text)."""
    from svcpolicy._version import __version__

    words = labels(lang)
    mask = Masker(report, reveal=show_customer_ids)
    rows = page_rows(report)
    generated = generated or dt.datetime.now(report.as_of.tzinfo if report.as_of else dt.UTC).replace(microsecond=0)
    css, js = _asset("report.css"), _asset("report.js")
    csp = (
        f"default-src 'none'; img-src data:; style-src {_sha256(css)}; script-src {_sha256(js)}; "
        "base-uri 'none'; form-action 'none'"
    )
    return _template("report.html").render(
        lang="en" if lang == "en" else "zh-CN",
        words=words,
        csp=csp,
        version=__version__,
        heading=title or words["title"],
        pack=report.pack,
        as_of=report.as_of.isoformat() if report.as_of else "-",
        generated=generated.isoformat(),
        sources=", ".join(_sources(report)) or "-",
        revealed=show_customer_ids,
        capped=_capped(report),
        cards=_cards(report),
        reconciled=report.counts.reconciled,
        charts=(
            {
                "articles": article_chart(rows, words),
                "branches": branch_chart(rows, words, mask, report.counts.per_key.checked("branch_id")),
                "months": month_chart(rows, words),
            }
            if rows
            else None
        ),
        severities=[str(s) for s in SEVERITIES],
        rates=rate_tables(report, words, mask),
        page_size=PAGE_SIZE,
        findings=finding_views(rows, report, words, lang, mask),
        filters=filter_choices(rows, words, mask),
        invalid=invalid_views(report, mask),
        input_failures=report.input_failures,
        summary=wording.summary(report.counts, lang),
        css=Markup(css),  # noqa: S704 - the package's own stylesheet, hashed into the CSP above
        js=Markup(js),  # noqa: S704 - the package's own script, hashed into the CSP above
    )


def write_html(report: Report, out: TextIO, *, lang: str = "zh", show_customer_ids: bool = False) -> None:
    """Write the standalone page of a report to a text stream."""
    out.write(render_html(report, lang=lang, show_customer_ids=show_customer_ids))


def html_format(report: Report, out: TextIO, lang: str) -> None:
    """The ``html`` report format (``svcpolicy check --format html``): customer identifiers masked."""
    write_html(report, out, lang=lang)


def html_format_showing_customer_ids(report: Report, out: TextIO, lang: str) -> None:
    """The ``html`` format under ``--show-customer-ids``."""
    write_html(report, out, lang=lang, show_customer_ids=True)


# -- the summary Jupyter shows (Report._repr_html_) -------------------------------------------------------


@dataclass(frozen=True)
class _Badge:
    severity: str
    colour: str
    ink: str


@dataclass(frozen=True)
class _ArticleSummary:
    ref: str
    label: str
    text: str
    document: str
    violations: int
    undetermined: int
    records: int
    worst: _Badge | None
    rules: str


def _badge(severity: Severity | None) -> _Badge | None:
    if severity is None:
        return None
    return _Badge(str(severity), SEVERITY_COLOURS[severity], "#3d2c00" if severity is Severity.MEDIUM else "#fff")


def _article_summaries(report: Report, words: dict[str, str]) -> list[_ArticleSummary]:
    """Findings per article cited first, most violations first."""
    table: dict[str, list[Finding]] = {}
    for finding in report.findings:
        table.setdefault(primary(finding).ref, []).append(finding)
    summaries = []
    for ref, findings in ranked(table):
        cited = primary(findings[0])
        violations = [f for f in findings if f.outcome is Outcome.VIOLATION]
        summaries.append(
            _ArticleSummary(
                ref=ref,
                label=article_label(cited, words),
                text=cited.text,
                document=cited.title,
                violations=len(violations),
                undetermined=len(findings) - len(violations),
                records=len({(f.record.source, f.record.line, f.record.id) for f in findings}),
                worst=_badge(worst(f.severity for f in violations)),
                rules=", ".join(dict.fromkeys(f.rule for f in findings)),
            )
        )
    return summaries


def summary_html(report: Report, *, lang: str = "en") -> str:
    """Counts and a table of findings per article (text on hover and on expand), with severity colours.

    Inline styles only and no script, so it looks the same in Jupyter, VS Code and rendered notebooks. It
    shows no record data: the findings themselves are in ``report.to_pandas()`` and ``report.to_html()``.
    """
    words = labels(lang)
    counts = report.counts
    numbers: tuple[tuple[str, int], ...] = (
        ("records", counts.records),
        ("compliant", counts.compliant),
        ("with_violations", counts.with_violations),
        ("undetermined", counts.undetermined),
        ("invalid", counts.invalid),
        ("violations", counts.violations),
        ("undetermined_findings", counts.undetermined_findings),
        ("group_violations", int(getattr(counts, "group_violations", 0))),
        ("group_undetermined", int(getattr(counts, "group_undetermined", 0))),
    )
    return _template("summary.html").render(
        words=words,
        pack=report.pack,
        as_of=report.as_of.isoformat() if report.as_of else "-",
        input_failures=len(report.input_failures),
        numbers=[item for item in numbers if item[1] or not item[0].startswith("group_")],
        articles=_article_summaries(report, words),
    )
