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

import re
import unicodedata

_INVISIBLE = re.compile(
    "["
    "\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160\u17b4\u17b5\u180b-\u180f"
    "\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff"
    "]+"
)
"""Default-ignorable code points (DerivedCoreProperties) and format characters (Cf): text that shows nothing."""

_TYPOGRAPHIC = re.compile("[\u2018\u2019\u201b\u02bc\u2010-\u2013\u2212]")
_PUNCTUATION = str.maketrans(
    dict.fromkeys("\u2018\u2019\u201b\u02bc", "'") | dict.fromkeys("\u2010\u2011\u2012\u2013\u2212", "-")
)
"""Apostrophes and hyphens NFKC leaves typographic, as their ASCII spelling."""

_CJK = (
    "\u3001-\u303f\u3040-\u30ff\u3100-\u312f\u3190-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff"
)
_CJK_GAP = re.compile(f"(?<=[{_CJK}])\\s+(?=[{_CJK}])")
_SPACES = re.compile(r"\s+")

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
        form = unicodedata.normalize("NFKC", _INVISIBLE.sub("", text)).casefold()
        if _TYPOGRAPHIC.search(form) is not None:  # rare: searching costs a fifth of translating
            form = form.translate(_PUNCTUATION)
        if " " in form or not form.isprintable():  # any whitespace (every other one is not printable)
            form = _SPACES.sub(" ", _CJK_GAP.sub("", form))
    if len(text) <= _LONGEST_KEPT:
        if len(_forms) >= _FORMS_KEPT:
            _forms.clear()
        _forms[text] = form
    return form
