"""The words every writer prints, in Chinese (the default) and English: one place, so the formats agree.

Headings, severity and status names, the summary line, the verdict, counts (``1 violation``, ``2 violations``,
``1,234 条违规``), percentages, rule titles in the report's language, undetermined reasons and record errors
translated, and the one way a citation is printed (:func:`citation_line`): its label already names the chapter
where the label alone repeats, so no writer adds the chapter again.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from svcpolicy.records.messages_zh import record_error_zh
from svcpolicy.results.catalog import rules_of
from svcpolicy.results.dispositions import Disposition, GateVerdict, Status
from svcpolicy.results.findings import Citation, Outcome
from svcpolicy.results.report import Counts, Report
from svcpolicy.severity import Severity

__all__ = [
    "OUTCOME_WORDS",
    "SEVERITY_WORDS",
    "WORDS",
    "article",
    "citation_line",
    "counted",
    "disposition_tag",
    "judgement_words",
    "language",
    "number",
    "outcome_name",
    "percent",
    "reason",
    "record_error",
    "rule_description",
    "rule_title",
    "rule_titles",
    "severity_name",
    "summary",
    "verdict_text",
    "words",
]


def language(lang: str) -> str:
    """``en`` when asked for, Chinese otherwise (the default)."""
    return "en" if lang == "en" else "zh"


SEVERITY_WORDS: dict[str, dict[Severity, str]] = {
    "zh": {
        Severity.CRITICAL: "严重",
        Severity.HIGH: "高",
        Severity.MEDIUM: "中",
        Severity.LOW: "低",
        Severity.INFO: "提示",
    },
    "en": {
        Severity.CRITICAL: "critical",
        Severity.HIGH: "high",
        Severity.MEDIUM: "medium",
        Severity.LOW: "low",
        Severity.INFO: "info",
    },
}
"""The one name of each severity per language: every writer, the HTML report and the notebook print these."""

OUTCOME_WORDS: dict[str, dict[Outcome, str]] = {
    "zh": {
        Outcome.VIOLATION: "违规",
        Outcome.COMPLIANT: "合规",
        Outcome.UNDETERMINED: "无法判定",
        Outcome.INVALID: "无效",
    },
    "en": {
        Outcome.VIOLATION: "violation",
        Outcome.COMPLIANT: "compliant",
        Outcome.UNDETERMINED: "undetermined",
        Outcome.INVALID: "invalid",
    },
}
"""The one name of each outcome per language, shared like :data:`SEVERITY_WORDS`."""


def judgement_words(lang: str) -> dict[str, str]:
    """Severity and outcome names keyed by their values (``"high"``, ``"violation"``), for word tables."""
    lang = language(lang)
    return {
        **{str(k): v for k, v in SEVERITY_WORDS[lang].items()},
        **{str(k): v for k, v in OUTCOME_WORDS[lang].items()},
    }


WORDS: dict[str, dict[str, str]] = {
    "zh": {
        **judgement_words("zh"),
        "open": "待处理",
        "waived": "已豁免",
        "baselined": "已列入基线",
        "blocking": "阻断",
        "also_cites": "另引",
        "undetermined_heading": "无法判定（数据缺失或无法判断）：",
        "invalid_heading": "无效记录：",
        "input_not_read": "未能读取的输入",
        "waivers_heading": "豁免与基线：",
        "by_rule_heading": "各规则违规数：",
        "pack": "规则包",
        "as_of": "判定时点",
        "missing": "缺少",
        "no_group": "无分组",
        "group": "群组",
        "record": "记录",
        "records": "记录",
        "where": "位置",
        "item": "项目",
        "rule": "规则",
        "message": "说明",
        "status": "状态",
        "severity": "严重程度",
        "reason": "原因",
        "error": "错误",
        "passed": "通过",
        "failed": "未通过",
        "with_violations": "有违规",
        "violations": "违规项",
        "below_threshold": "低于 --fail-on 阈值",
        "fingerprint": "指纹",
        "unconfirmed": "条号未经核实",
        "unconfirmed_mark": "（未经核实）",
        "excerpt": "（节录）",
        "paraphrase": "（转述）",
        "list_separator": "、",
        "absent": "未提供",
        "empty": "空",
        "annotations_shown": "GitHub 每类只显示前 10 条注释，以上按严重程度排列",
        "full_report": "完整报告见",
        "job_summary": "作业摘要",
        "this_log": "本步骤日志",
    },
    "en": {
        **judgement_words("en"),
        "open": "open",
        "waived": "waived",
        "baselined": "baselined",
        "blocking": "blocking",
        "also_cites": "also cites",
        "undetermined_heading": "Undetermined (data missing or not decidable):",
        "invalid_heading": "Invalid records:",
        "input_not_read": "Input not read",
        "waivers_heading": "Waivers and baseline:",
        "by_rule_heading": "Violations by rule:",
        "pack": "pack",
        "as_of": "as of",
        "missing": "missing",
        "no_group": "no group",
        "group": "group",
        "record": "record",
        "records": "records",
        "where": "where",
        "item": "item",
        "rule": "rule",
        "message": "message",
        "status": "status",
        "severity": "severity",
        "reason": "reason",
        "error": "error",
        "passed": "passed",
        "failed": "failed",
        "with_violations": "with violations",
        "violations": "violations",
        "below_threshold": "below --fail-on",
        "fingerprint": "fingerprint",
        "unconfirmed": "article number unconfirmed",
        "unconfirmed_mark": " (unconfirmed)",
        "excerpt": " (excerpt)",
        "paraphrase": " (paraphrase)",
        "list_separator": ", ",
        "absent": "not given",
        "empty": "empty",
        "annotations_shown": "GitHub shows the first 10 annotations of each type; they are listed most severe first",
        "full_report": "full report:",
        "job_summary": "the job summary",
        "this_log": "this step's log",
    },
}
"""The words of the text, Markdown, GitHub, JUnit and SARIF writers."""

# (singular, plural) in English; the measure word and noun in Chinese.
_NOUNS: dict[str, tuple[tuple[str, str], str]] = {
    "record": (("record", "records"), "条记录"),
    "violation": (("violation", "violations"), "项违规"),
    "finding": (("finding", "findings"), "项发现"),
    "blocking": (("blocking", "blocking"), "项阻断"),
    "invalid_record": (("invalid record", "invalid records"), "条无效记录"),
    "input_not_read": (("input not read", "inputs not read"), "个输入未能读取"),
    "stale_waiver": (
        ("stale, expired or refused waiver (--fail-on-stale-waivers)", "stale, expired or refused waivers"),
        "项过期、失效或被拒的豁免（--fail-on-stale-waivers）",
    ),
    "group": (("group", "groups"), "个群组"),
    "error": (("error", "errors"), "项错误"),
    "warning": (("warning", "warnings"), "项警告"),
    "notice": (("notice", "notices"), "项提示"),
}

_REASON_NOUNS = {"input-failure": "input_not_read", "stale-waiver": "stale_waiver"}


def words(lang: str) -> dict[str, str]:
    return WORDS[language(lang)]


def number(n: int) -> str:
    """A count with thousands separators: ``12,345``."""
    return f"{n:,}"


def counted(n: int, noun: str, lang: str) -> str:
    """``1 violation``, ``2 violations``, ``1,234 项违规``: a count with its noun, in the right number."""
    (singular, plural), chinese = _NOUNS[noun]
    if language(lang) == "zh":
        return f"{number(n)} {chinese}"
    return f"{number(n)} {singular if n == 1 else plural}"


def percent(ratio: float) -> str:
    """A ratio as a whole percentage (``60%``), one decimal below 10% so small rates do not read as 0%."""
    value = ratio * 100
    return f"{value:.1f}%" if 0 < value < 10 else f"{value:.0f}%"


def severity_name(severity: Severity | str, lang: str) -> str:
    return SEVERITY_WORDS[language(lang)][Severity(severity)]


def outcome_name(outcome: Outcome | str, lang: str) -> str:
    return OUTCOME_WORDS[language(lang)][Outcome(outcome)]


def summary(counts: Counts, lang: str) -> str:
    """The summary line: how many records, in which outcome, and how many findings the gate set aside."""
    w, n = words(lang), number
    if language(lang) == "zh":
        line = (
            f"共 {n(counts.records)} 条记录：合规 {n(counts.compliant)}，有违规 {n(counts.with_violations)}"
            f"（违规 {n(counts.violations)} 项），无法判定 {n(counts.undetermined)}，无效 {n(counts.invalid)}"
        )
        if counts.group_violations or counts.group_undetermined:
            line += f"；群组：违规 {n(counts.group_violations)}，无法判定 {n(counts.group_undetermined)}"
        if counts.waived or counts.baselined:
            line += f"；已豁免 {n(counts.waived)} 项，已列入基线 {n(counts.baselined)} 项"
        return line
    line = (
        f"{counted(counts.records, 'record', lang)}: {n(counts.compliant)} {w['compliant']}, "
        f"{n(counts.with_violations)} {w['with_violations']} ({counted(counts.violations, 'violation', lang)}), "
        f"{n(counts.undetermined)} {w['undetermined']}, {n(counts.invalid)} {w['invalid']}"
    )
    if counts.group_violations or counts.group_undetermined:
        line += f"; groups: {n(counts.group_violations)} in breach, {n(counts.group_undetermined)} undetermined"
    if counts.waived or counts.baselined:
        line += f"; findings waived: {n(counts.waived)}, in baseline: {n(counts.baselined)}"
    return line


def verdict_text(verdict: GateVerdict, lang: str) -> str:
    """``passed``, or ``failed: 3 blocking, 1 input not read`` (``未通过：3 项阻断，1 个输入未能读取``)."""
    w = words(lang)
    if verdict.passed:
        return w["passed"]
    parts = [counted(verdict.blocking, "blocking", lang)] if verdict.blocking else []
    parts += [
        counted(r.count, _REASON_NOUNS[r.kind], lang)
        for r in verdict.reasons
        if r.kind not in ("blocking-finding", "invalid-record")
    ]
    if language(lang) == "zh":
        return f"{w['failed']}：{'，'.join(parts)}"
    return f"{w['failed']}: {', '.join(parts)}"


def disposition_tag(disposition: Disposition, lang: str) -> str:
    """``waived W-7 until 2026-12-31`` (``已豁免 W-7，有效期至 2026-12-31``), ``baselined``, the gate's note, or
    ``""``."""
    if language(lang) == "en":
        return disposition.tag
    if disposition.status is Status.WAIVED and disposition.waiver is not None:
        return f"已豁免 {disposition.waiver.label}，有效期至 {disposition.waiver.expires.isoformat()}"
    if disposition.status is Status.BASELINED:
        return WORDS["zh"]["baselined"]
    return disposition.note or ""


def article(citation: Citation, lang: str) -> str:
    """The article as printed: never an invented number, with its chapter where the label alone repeats, and
    marked when the text is an excerpt or a paraphrase (:attr:`Citation.display_label`, in the report's language)."""
    w = words(lang)
    if citation.label:
        label = citation.label if citation.confidence == "confirmed" else citation.label + w["unconfirmed_mark"]
    else:
        label = w["unconfirmed"]
    if citation.label_repeats and citation.chapter:
        label = f"{citation.chapter} {label}"
    return label if citation.wording == "verbatim" else label + w.get(citation.wording, f" ({citation.wording})")


def citation_line(citation: Citation, lang: str, *, ref: bool = True, text: bool = False) -> str:
    """``价格法 第十三条 [price-law/13]: 「…」``: document, article, reference and (when asked) the cited text.

    Every writer prints a citation through here; the article already carries its chapter where that is needed.
    """
    line = f"{citation.title} {article(citation, lang)}"
    if ref:
        line += f" [{citation.ref}]"
    if text:
        line += f": 「{citation.text}」"
    return line


def rule_title(rule: Any, lang: str) -> str:
    """A rule's title in the report's language: the pack's ``title_zh`` (or ``titles: {zh, en}``) in Chinese
    where the rule has one, else its title. ``rule`` is a finding, a ``RuleInfo`` or a pack ``Rule``."""
    return _localised(rule, "title", lang) or str(rule.title)


def rule_titles(report: Report, lang: str) -> dict[str, str]:
    """Every rule's title in the report's language, by rule id (from the report's rule catalogue)."""
    return {rule.id: rule_title(rule, lang) for rule in rules_of(report.rules, report.findings)}


def rule_description(rule: Any, lang: str) -> str | None:
    """A rule's description in the report's language (``description_zh``), else its description."""
    return _localised(rule, "description", lang) or rule.description


def _localised(rule: Any, name: str, lang: str) -> str | None:
    lang = language(lang)
    both = getattr(rule, f"{name}s", None)
    if isinstance(both, Mapping) and both.get(lang):
        return str(both[lang])
    localised = getattr(rule, f"{name}_{lang}", None)
    return str(localised) if localised else None


@functools.cache
def _reasons_zh() -> tuple[tuple[re.Pattern[str], str], ...]:
    """The reasons' translations, compiled when a Chinese report first has an undetermined finding to word."""
    return tuple((re.compile(pattern), zh) for pattern, zh in _REASON_PATTERNS_ZH)


_REASON_PATTERNS_ZH: tuple[tuple[str, str], ...] = (
    (r"field (?P<a>\S+) is absent", "记录未提供字段 {a}"),
    (r"(?P<a>\S+) is absent: the list has (?P<b>\d+) items", "记录未提供 {a}：该列表只有 {b} 项"),
    (r"no as_of given", "未给出判定时点（as_of）"),
    (r"rule (?P<a>\S+) is dated and the record has no (?P<b>\S+)", "规则 {a} 有生效日期，而记录未提供 {b}"),
    (r"parameter (?P<a>\S+) has no value in force on (?P<b>\S+)", "参数 {a} 在 {b} 没有生效的取值"),
    (r"all (?P<a>\d+) members of this group lack data the rule needs", "该群组全部 {a} 条记录都缺少规则所需的数据"),
    (
        r"(?P<a>\d+) members lack data the rule needs; the group may be in breach",
        "{a} 条记录缺少规则所需的数据；该群组可能违规",
    ),
    (r"(?P<a>\d+) members could not be placed in a group: (?P<b>.*)", "{a} 条记录无法归入群组：{b}"),
    (r"for_each: (?P<a>\S+) is not a list", "for_each：{a} 不是列表"),
    (r"condition gave (?P<a>\S+), not true/false", "条件的结果是 {a}，不是真/假"),
    (r"division by zero in `(?P<a>.*)`", "{a} 中除数为零"),
    (r"cannot compare (?P<a>.+) with (?P<b>.+) in `(?P<c>.*)`", "{c} 中无法比较 {a} 与 {b}"),
    (r"`(?P<a>.*)` is out of range", "{a} 超出范围"),
    (r"(?P<a>.+) is out of the calendar's range", "{a} 超出节假日日历的范围"),
)


def reason(text: str | None, lang: str) -> str:
    """Why a finding is undetermined, in the report's language (reasons without a translation stay as given)."""
    if not text:
        return ""
    if language(lang) == "en":
        return text
    for pattern, zh in _reasons_zh():
        match = pattern.fullmatch(text)
        if match:
            return zh.format(**match.groupdict())
    return text


def record_error(text: str, lang: str) -> str:
    """Why a record is invalid, in the report's language (pydantic's common errors translated)."""
    return text if language(lang) == "en" else record_error_zh(text)
