"""Generation loops cut out of free text.

A small model that loses its way repeats itself: the 0.5B default once wrote
one sentence sixteen times as a long meeting's narrative, then stopped in the
middle of a word. Free-text fields carry no quote that grounding could check,
so this is their guard: in every top-level text field, a sentence that repeats
an earlier one (same words, ignoring case and punctuation; or all of an earlier
sentence's words behind a short preamble) is removed, and a
final fragment cut off mid-sentence goes when it follows a repeat. Each removal
is reported like any other dropped item, so ``run.dropped`` shows it.
"""

from __future__ import annotations

import re
from typing import TypeVar

from pydantic import BaseModel

from summarizer.grounding import fold

__all__ = ["cut_repeats", "without_repeats"]

T = TypeVar("T", bound=BaseModel)

_REASON = "repeats an earlier sentence (a generation loop)"
_CUT_REASON = "unfinished sentence after a generation loop"
# A sentence runs to an end mark (with closing quotes/brackets) before a capital
# or digit, or to the end of the text ("U.S.S.R. and" goes on). "Dr. Holt" may
# still come out as two; only sentences of _MIN_WORDS or more count as repeats.
_SENTENCE = re.compile(
    r".+?(?:[.!?]+[\"'\u2019\u201d)\]]*(?=\s+[\"'\u2018\u201c(]?[A-Z0-9]|\s*$)|$)", re.DOTALL
)
_MIN_WORDS = 4
_RESTATE_MIN_WORDS = 6
_FINISHED = re.compile(r"[.!?][\"'\u2019\u201d)\]]*$")


def _restates(words: frozenset[str], earlier: frozenset[str]) -> bool:
    # "The document states that <an earlier sentence>": every word of the earlier
    # sentence plus a short preamble. Sentences differing in a word both stay.
    return (
        len(earlier) >= _RESTATE_MIN_WORDS
        and earlier <= words
        and (len(words) <= 1.5 * len(earlier))
    )


def without_repeats(text: str) -> tuple[str, list[tuple[str, str]]]:
    """``text`` without sentences that repeat an earlier one, and ``(sentence, why)`` removed."""
    sentences = [m.group().strip() for m in _SENTENCE.finditer(text) if m.group().strip()]
    seen: list[tuple[str, frozenset[str]]] = []
    kept: list[str] = []
    removed: list[tuple[str, str]] = []
    for sentence in sentences:
        key = fold(sentence)
        words = frozenset(key.split())
        if len(key.split()) >= _MIN_WORDS and any(key == k or _restates(words, w) for k, w in seen):
            removed.append((sentence, _REASON))
            continue
        seen.append((key, words))
        kept.append(sentence)
    if removed and len(kept) > 1 and not _FINISHED.search(kept[-1]):
        # A loop tends to run into the output limit: its last sentence is cut off.
        removed.append((kept.pop(), _CUT_REASON))
    if not removed:
        return text, []
    return " ".join(kept), removed


def cut_repeats(result: T) -> tuple[T, list[dict[str, str]]]:
    """``result`` with repeated sentences removed from its top-level text fields.

    Returns the cleaned copy and one ``{"key", "item", "reason"}`` record per removal.
    """
    update: dict[str, str] = {}
    dropped: list[dict[str, str]] = []
    for name in type(result).model_fields:
        value = getattr(result, name)
        if not isinstance(value, str):
            continue
        cleaned, removed = without_repeats(value)
        if removed:
            update[name] = cleaned
            dropped += [{"key": name, "item": s[:200], "reason": why} for s, why in removed]
    if not update:
        return result, []
    return result.model_copy(update=update), dropped
