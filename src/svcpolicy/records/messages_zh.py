"""Why a record is invalid, in Chinese: pydantic's common errors and the readers' own messages translated.

The readers describe an invalid record once, in English (``operations.0.at: Field required; …``, as the JSON
report and the library keep it); a Chinese report translates that text when it prints it. Messages without a
translation here stay as written, so nothing is lost.
"""

from __future__ import annotations

import functools
import re

__all__ = ["record_error_zh"]

_MESSAGES: tuple[tuple[str, str], ...] = (
    # the readers' own messages (svcpolicy.records.readers)
    (
        r"not valid utf-8 \(is the file GBK\? use --encoding gbk\)",
        "不是有效的 UTF-8（文件是 GBK 编码？请用 --encoding gbk）",
    ),
    (r"not valid (?P<a>\S+)", "不是有效的 {a} 编码"),
    (r"line is longer than (?P<a>\d+) MiB", "行长度超过 {a} MiB"),
    (r"invalid JSON at column (?P<a>\d+): (?P<b>.*)", "JSON 格式错误（第 {a} 列）：{b}"),
    (r"not a JSON object", "不是 JSON 对象"),
    (
        r"a number of (?P<a>[\d,]+) digits: no field takes more than (?P<b>[\d,]+)",
        "数字长达 {a} 位：任何字段至多接受 {b} 位",
    ),
    (r"not a mapping", "不是键值映射"),
    (r"no record data", "没有记录数据"),
    (r"… and (?P<a>\d+) more", "……另有 {a} 处错误"),
    (
        r"text holds a lone surrogate, which is not Unicode \(a broken export\?\)",
        "文本含有孤立的代理字符，不是有效的 Unicode（导出有误？）",
    ),
    # pydantic's error messages for the types a record has
    (r"Field required", "缺少必填字段"),
    (r"Extra inputs are not permitted", "不允许的字段（拼写错误？其他数据请放在 extra 下）"),
    (r"Input should be a valid string", "应为文本"),
    (r"Input should be a valid integer, unable to parse string as an integer", "应为整数，无法把文本解析为整数"),
    (r"Input should be a valid integer, got a number with a fractional part", "应为整数，不能有小数部分"),
    (r"Input should be a valid integer", "应为整数"),
    (r"Input should be a valid number, unable to parse string as a number", "应为数字，无法把文本解析为数字"),
    (r"Input should be a valid number", "应为数字"),
    (r"Input should be a finite number", "应为有限的数字"),
    (r"Input should be a valid decimal", "应为十进制数"),
    (r"Decimal input should be an integer, float, string or Decimal object", "应为数字"),
    (r"Input should be a valid boolean, unable to interpret input", "应为布尔值（true/false），无法识别"),
    (r"Input should be a valid boolean", "应为布尔值（true/false）"),
    (r"Input should be a valid (list|array)", "应为列表"),
    (r"Input should be a valid (dictionary|mapping|object)( or instance of \w+)?", "应为对象（键值映射）"),
    (r"Input should be an object", "应为对象（键值映射）"),
    (r"Input should be a valid datetime, (?P<a>.*)", "应为日期时间（ISO 8601，如 2026-11-02T09:00:00+08:00）：{a}"),
    (r"Input should be a valid datetime", "应为日期时间（ISO 8601，如 2026-11-02T09:00:00+08:00）"),
    (r"Input should be a valid date, (?P<a>.*)", "应为日期（如 2026-11-02）：{a}"),
    (r"Input should be a valid date", "应为日期（如 2026-11-02）"),
    (r"Input should have timezone info", "应带时区（如 +08:00）"),
    (r"Input should be (?P<a>'.*')", "应为以下之一：{a}"),
    (r"Input should be greater than or equal to (?P<a>\S+)", "应大于或等于 {a}"),
    (r"Input should be greater than (?P<a>\S+)", "应大于 {a}"),
    (r"Input should be less than or equal to (?P<a>\S+)", "应小于或等于 {a}"),
    (r"Input should be less than (?P<a>\S+)", "应小于 {a}"),
    (r"String should have at least (?P<a>\d+) characters?", "文本至少应有 {a} 个字符"),
    (r"String should have at most (?P<a>\d+) characters?", "文本至多应有 {a} 个字符"),
    (r"String should match pattern (?P<a>.*)", "文本应符合格式 {a}"),
    (
        r"List should have at least (?P<a>\d+) items? after validation, not (?P<b>\d+)",
        "列表至少应有 {a} 项，实有 {b} 项",
    ),
    (
        r"Value error, a time is written as text with its offset \((?P<a>[^)]*)\), not as a number",
        "时间应写为带时区的文本（如 {a}），不能写成数字",
    ),
    (r"Value error, (?P<a>.*)", "取值错误：{a}"),
)


@functools.cache
def _translations() -> tuple[tuple[re.Pattern[str], str], ...]:
    """The patterns, compiled when a Chinese report first has an invalid record to describe (not at import)."""
    return tuple((re.compile(pattern), zh) for pattern, zh in _MESSAGES)


def _message_zh(message: str) -> str:
    for pattern, zh in _translations():
        match = pattern.fullmatch(message)
        if match:
            return zh.format(**match.groupdict())
    return message


def _part_zh(part: str) -> str:
    """One error, ``operations.0.at: Field required`` → ``operations.0.at：缺少必填字段``."""
    translated = _message_zh(part)
    if translated != part:
        return translated
    where, sep, message = part.partition(": ")
    if not sep:
        return part
    translated = _message_zh(message)
    return part if translated == message else f"{where}：{translated}"


def record_error_zh(error: str) -> str:
    """A record's error text (one or more ``;``-separated errors) with every known message in Chinese."""
    return "；".join(_part_zh(part) for part in error.split("; "))
