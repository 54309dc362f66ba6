"""The normal form free text is matched in, so a phrase cannot hide behind the way it is typed.

A seller's statement reaches the bank's export however the seller's keyboard, phone or chat tool wrote it:
``保 本`` with a space, ``保本`` with a zero-width space (U+200B) between, full-width ``ＧＵＡＲＡＮＴＥＥＤ``, an
ideographic or no-break space, a typographic apostrophe in ``can’t lose``. :func:`normal_form` maps all of them
to the one spelling the phrase lists are written in, in this order:

1. characters that render as nothing are removed: Unicode's default-ignorable code points (zero-width space
   and joiners, bidi controls, soft hyphen, variation selectors, tags, the byte-order mark, Hangul fillers)
   and every other format character (general category Cf);
2. Unicode NFKC: full-width and half-width forms, compatibility ideographs, ligatures and the many spaces
   (no-break, ideographic, en, em, thin, …) become their plain equivalents;
3. case folding (``str.casefold``, which lower-cases and also folds ``ß`` to ``ss``);
4. typographic apostrophes (‘ ’ ‛ ʼ) become ``'`` and hyphens and dashes (‐ ‑ ‒ – −) become ``-``:
   NFKC keeps them apart from the ASCII ones the phrase lists use;
5. whitespace between two CJK characters (ideographs, kana, bopomofo, CJK punctuation) is removed: Chinese
   puts no spaces between words, so ``保 本`` is ``保本``;
6. every other run of whitespace, at the ends too, becomes one space (``guaranteed   returns`` is
   ``guaranteed returns``).

The form is idempotent (the form of a form is itself), which is what lets a phrase list be checked for being
in it (``svcpolicy lint``). It is computed once per distinct text: statements repeat across records.
"""

from __future__ import annotations

import functools
import re
import unicodedata

_INVISIBLE = (
    "["
    "\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160\u17b4\u17b5\u180b-\u180f"
    "\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff"
    "]+"
)
"""Default-ignorable code points (DerivedCoreProperties) and format characters (Cf): text that shows nothing."""

_TYPOGRAPHIC = "[\u2018\u2019\u201b\u02bc\u2010-\u2013\u2212]"
_PUNCTUATION = str.maketrans(
    dict.fromkeys("\u2018\u2019\u201b\u02bc", "'") | dict.fromkeys("\u2010\u2011\u2012\u2013\u2212", "-")
)
"""Apostrophes and hyphens NFKC leaves typographic, as their ASCII spelling."""

_CJK_RANGES = (
    (0x3001, 0x303F),  # CJK symbols and punctuation
    (0x3040, 0x30FF),  # kana
    (0x3100, 0x312F),  # bopomofo
    (0x3190, 0x31FF),  # kanbun, bopomofo extended, strokes, katakana extensions
    (0x3400, 0x4DBF),  # ideographs, extension A
    (0x4E00, 0x9FFF),  # unified ideographs
    (0xF900, 0xFAFF),  # compatibility ideographs
    (0x20000, 0x3FFFF),  # ideographs, supplementary planes
)
_SPACES = re.compile(r"\s+")


@functools.cache
def _non_ascii_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The invisible and typographic patterns, compiled when the first non-ASCII text comes, not at start."""
    return re.compile(_INVISIBLE), re.compile(_TYPOGRAPHIC)


def _is_cjk(character: str) -> bool:
    code = ord(character)
    return any(low <= code <= high for low, high in _CJK_RANGES)


def _spaced(form: str) -> str:
    """Steps 5 and 6: whitespace between two CJK characters removed, every other run one space (a regex with
    both look-arounds over these ranges takes milliseconds to compile, more than a run's texts take to join)."""
    words = form.split()
    if not words:
        return " " if form else ""
    joined = [words[0]]
    for word in words[1:]:
        if not (_is_cjk(joined[-1][-1]) and _is_cjk(word[0])):
            joined.append(" ")
        joined.append(word)
    text = "".join(joined)
    return (" " if form[0].isspace() else "") + text + (" " if form[-1].isspace() else "")


_FORMS_KEPT = 8192
_LONGEST_KEPT = 512
_forms: dict[str, str] = {}
"""Normal forms by text, for texts up to ``_LONGEST_KEPT`` characters: a run meets the same statements often."""


def normal_form(text: str) -> str:
    """``text`` in the form phrases are matched in (see the module's documentation for each step)."""
    form = _forms.get(text)
    if form is not None:
        return form
    if text.isascii():  # nothing to remove, compose, fold or join: lower case and single spaces
        form = text.lower()
        if "  " in form or not form.isprintable():  # a whitespace other than a single space
            form = _SPACES.sub(" ", form)
    else:
        invisible, typographic = _non_ascii_patterns()
        form = unicodedata.normalize("NFKC", invisible.sub("", text)).casefold()
        if typographic.search(form) is not None:  # rare: searching costs a fifth of translating
            form = form.translate(_PUNCTUATION)
        if " " in form or not form.isprintable():  # any whitespace (every other one is not printable)
            form = _spaced(form)
    if len(text) <= _LONGEST_KEPT:
        if len(_forms) >= _FORMS_KEPT:
            _forms.clear()
        _forms[text] = form
    return form
