"""Record data made harmless for formats a terminal or a CI log shows as text (``text``, ``github``, ``markdown``).

A record can carry anything an exporter let through: ANSI and OSC escape sequences that recolour a terminal,
retitle it or plant a link, a line break (CR too) that forges a report line of its own, or a Unicode bidi
control (U+202E) that shows the rest of the line backwards. ``printable`` writes every control character (C0,
DEL, C1, the Unicode line and paragraph separators, and the bidi embedding, override, isolate and mark
characters) as a visible escape, so such text shows what it holds and cannot act.
"""

from __future__ import annotations

import re

_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{_BIDI}]")
_BIDI_CONTROL = re.compile(f"[{_BIDI}]")
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: object) -> str:
    """The text with every control character written as a visible escape (``\\x1b``, ``\\x0a``)."""
    return _CONTROL.sub(_escape, "" if text is None else str(text))


def cell_storable(text: str) -> str:
    """The text with the control characters a spreadsheet cell cannot hold (all but tab, LF and CR: openpyxl's
    ``ILLEGAL_CHARACTERS_RE``) written as visible escapes, rather than refusing the workbook."""
    return _UNSTORABLE.sub(_escape, text)


def bidi_visible(text: str) -> str:
    """The text with its bidi controls written as visible escapes (``\\u202e``): for HTML, where the other
    control characters cannot act, but an override still shows the rest of a cell backwards."""
    return _BIDI_CONTROL.sub(_escape, text)
