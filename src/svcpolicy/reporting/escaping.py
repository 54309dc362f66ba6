"""Record data made harmless for formats a terminal or a CI log shows as text (``text``, ``github``).

A record can carry anything an exporter let through: ANSI and OSC escape sequences that recolour a terminal,
retitle it or plant a link, or a line break that forges a report line of its own. ``printable`` writes every
control character (C0, DEL, C1, and the Unicode line and paragraph separators) as a visible escape, so such
text shows what it holds and cannot act.
"""

from __future__ import annotations

import re

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: object) -> str:
    """The text with every control character written as a visible escape (``\\x1b``, ``\\x0a``)."""
    return _CONTROL.sub(_escape, "" if text is None else str(text))
