"""Check every extracted item against the source document.

Three checks, chosen by the field markers of ``summarizer.schemas.fields``:

* **Evidence quotes** must occur in the source. Matching first ignores only
  differences of whitespace, quote characters and letter case. A quote that
  does not match exactly is *aligned*: the closest run of source words is
  found (word-level ``difflib`` alignment around the longest common run); if
  the words agree to at least ``min_ratio`` (Dice coefficient on words) the
  quote is replaced by the exact source text. Either way the returned
  evidence is a verbatim slice of the source, and its offsets are known.
* **Support**: a quote that exists but does not back its item (a
  participant's quote that never names them; a decision quoted with a
  sentence that shares no content words with it) is not evidence. For such
  items, and for quotes that cannot be found, the source sentence that best
  supports the item is chosen instead (*re-anchored*), if one shares at
  least ``min_support`` of the item's content words (and names the
  person, for items with a name).
* **Mentions** (names, places) must occur in the source, whole or by their
  last word (a surname, a city).
* **Dates** must have their year, month and day stated in the source.

Failures are collected per item (a list element, or the whole object) so
the caller can re-ask for those items only, then drop what is still
ungrounded.
"""

from __future__ import annotations

import bisect
import calendar
import re
import types
import typing
import unicodedata
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any, Union

from pydantic import BaseModel

from summarizer.schemas.fields import EvidenceQuote, Mention

__all__ = [
    "Failure",
    "GroundingReport",
    "SourceText",
    "apply_quote_fixes",
    "content_words",
    "drop_failures",
    "ground",
    "normalise",
]

_QUOTES = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    }
)  # fmt: skip
_WORD = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")
_SENTENCE_BREAK = re.compile(r"[.!?][\"')\]]*\s+|\s*\n\s*")
_ABBREVIATION = re.compile(r"(?:\b[A-Z][a-z]{0,3}|\b[A-Za-z]|\b(?:[A-Z]\.)+[A-Z])\.$")
_MIN_ALIGN_WORDS = 4


# A speaker turn as summarizer.inputs renders transcripts: optional "[HH:MM:SS] ",
# then a short name that does not start with a digit or bracket, a colon and a
# space. Names are capped at 60 characters and 6 words so that a prose sentence
# holding a colon is not taken for a turn.
_TURN_RE = re.compile(
    r"^(?:\[(?P<stamp>[0-9]{1,9}:[0-9]{2}:[0-9]{2})\] )?"
    r"(?P<speaker>[^\s:\[\]0-9][^:\n]{0,59}):[ \t]+\S"
)


def speaker_of(line: str) -> tuple[str, int] | None:
    """``(speaker, offset where the utterance starts)`` if ``line`` is a speaker turn."""
    match = _TURN_RE.match(line)
    if match is None or len(match.group("speaker").split()) > 6:
        return None
    return match.group("speaker"), match.end() - 1


@dataclass(frozen=True)
class SourceText:
    """The source document, pre-normalised for fast quote look-ups."""

    text: str
    norm: str = field(init=False)
    # norm index -> original index (one entry per normalised char, plus the end;
    # non-decreasing, several entries may share an index)
    _origin: list[int] = field(init=False, repr=False)
    _words: list[tuple[str, int, int]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        norm: list[str] = []
        origin: list[int] = []
        in_space = True  # drop leading whitespace
        for i, ch in enumerate(self.text):
            if ch.isspace():
                if not in_space:
                    norm.append(" ")
                    origin.append(i)
                in_space = True
                continue
            in_space = False
            # Lower-casing may give several characters ("İ" -> "i̇"); keep them all,
            # as normalise() does, each mapped back to the one original character.
            low = ch.translate(_QUOTES).lower()
            norm.extend(low)
            origin.extend([i] * len(low))
        origin.append(len(self.text))
        object.__setattr__(self, "norm", "".join(norm))
        object.__setattr__(self, "_origin", origin)
        object.__setattr__(self, "_words", _tokens(self.norm))

    def original(self, start: int, end: int) -> str:
        """Original text behind the normalised span ``[start, end)``."""
        return self.text[self._origin[start] : self._origin[end - 1] + 1]

    def span_in_text(self, start: int, end: int) -> tuple[int, int]:
        """Offsets in :attr:`text` of the normalised span ``[start, end)``."""
        return self._origin[start], self._origin[end - 1] + 1

    def speaker_at(self, start: int) -> str | None:
        """The speaker whose turn holds normalised offset ``start``, in a transcript.

        A quote of what someone said rarely repeats their name; the turn's label
        ("Ana Ruiz: ...") is what ties the utterance to the person.
        """
        at = self._origin[start]
        line_start = self.text.rfind("\n", 0, at) + 1
        line_end = self.text.find("\n", at)
        turn = speaker_of(self.text[line_start : line_end if line_end >= 0 else len(self.text)])
        if turn is None or at < line_start + turn[1]:
            return None
        return normalise(turn[0])

    def find(self, quote: str) -> tuple[int, int] | None:
        """Normalised span of ``quote`` if it occurs exactly (modulo whitespace, quotes, case)."""
        needle = normalise(quote)
        if not needle:
            return None
        at = self.norm.find(needle)
        return (at, at + len(needle)) if at >= 0 else None

    def align(self, quote: str, min_ratio: float) -> tuple[int, int, float] | None:
        """Closest run of source words to ``quote``: normalised span and agreement."""
        q_words = [w for w, _, _ in (_tokens(normalise(quote)))]
        if len(q_words) < _MIN_ALIGN_WORDS or not self._words:
            return None
        s_words = [w for w, _, _ in self._words]
        anchor = SequenceMatcher(None, s_words, q_words, autojunk=False).find_longest_match(
            0, len(s_words), 0, len(q_words)
        )
        if anchor.size == 0:
            return None
        slack = len(q_words) // 2 + 2
        lo = max(0, anchor.a - anchor.b - slack)
        hi = min(len(s_words), anchor.a + (len(q_words) - anchor.b) + slack)
        blocks = [
            b
            for b in SequenceMatcher(
                None, s_words[lo:hi], q_words, autojunk=False
            ).get_matching_blocks()
            if b.size
        ]
        matched = sum(b.size for b in blocks)
        first, last = lo + blocks[0].a, lo + blocks[-1].a + blocks[-1].size - 1
        span_len = last - first + 1
        ratio = 2 * matched / (len(q_words) + span_len)
        if ratio < min_ratio:
            return None
        return self._words[first][1], self._words[last][2], ratio

    def mentions(self, name: str) -> bool:
        """Whether ``name`` (or its last word) occurs in the source as whole words."""
        return _mentions_in(self.norm, name)

    def states_date(self, iso: str) -> bool:
        """Whether the source states the year, month and day of ``iso`` (YYYY-MM-DD)."""
        try:
            year, month, day = (int(p) for p in iso.split("-"))
            calendar.weekday(year, month, day)  # rejects impossible dates
        except ValueError:
            return False
        words = {w for w, _, _ in self._words}
        month_names = {
            calendar.month_name[month].lower(),
            calendar.month_abbr[month].lower(),
        }
        numeric = {f"{month}", f"{month:02d}"}
        has_month = bool(month_names & words) or any(
            re.search(rf"\b{year}[-/.]{m}[-/.]|[-/.]{m}[-/.]{year}\b", self.norm) for m in numeric
        )
        has_day = (
            str(day) in words
            or f"{day:02d}" in words
            or bool(re.search(rf"\b{day}(st|nd|rd|th)\b", self.norm))
            or bool(re.search(rf"{year}-{month:02d}-{day:02d}", self.norm))
        )
        return str(year) in self.norm and has_month and has_day

    def sentences(self) -> list[tuple[int, int]]:
        """Normalised spans of the source's sentences; a line break always ends one.

        Split on the original text (the normalised one has lost its line
        breaks); a period after a short capitalised word ("Feb.", "Mr.", "U.S.")
        does not end a sentence.
        """
        spans = []
        begin = 0
        for m in _SENTENCE_BREAK.finditer(self.text):
            if "\n" not in m.group() and _ABBREVIATION.search(self.text, 0, m.start() + 1):
                continue
            spans.append((begin, m.start() + len(m.group().rstrip())))
            begin = m.end()
        spans.append((begin, len(self.text)))
        result = []
        for start, end in spans:
            a, b = self._to_norm(start), self._to_norm(end)
            if b > a:
                result.append((a, b))
        return result

    def _to_norm(self, original_index: int) -> int:
        """First normalised index whose original index is at or after ``original_index``."""
        return bisect.bisect_left(self._origin, original_index, 0, len(self._origin) - 1)

    def anchor(
        self, claim: str, names: list[str], min_support: float, max_chars: int
    ) -> tuple[int, int] | None:
        """Span of the sentence that best supports ``claim`` (and names every name).

        The score is the share of the claim's content words found in the
        sentence; ties go to the earlier sentence. A claim of two or more
        content words needs at least two of them in the sentence: one shared
        word ("committee") is a topic, not support. Long sentences are cut to
        ``max_chars`` around their first matching word, at word boundaries.
        """
        wanted = content_words(claim)
        if not wanted and not names:
            return None  # nothing to support: any sentence would do, so none does
        best: tuple[float, int, int, int] | None = None
        for start, end in self.sentences():
            sentence = self.norm[start:end]
            if names and not all(_mentions_in(sentence, n) for n in names):
                continue
            shared = len(wanted & content_words(sentence))
            score = shared / len(wanted) if wanted else 1.0
            if best is None or score > best[0]:
                best = (score, shared, start, end)
        if best is None or best[0] < min_support or best[1] < min(2, len(wanted)):
            return None
        _, _, start, end = best
        if end - start > max_chars:
            words = [(w, a, b) for w, a, b in self._words if start <= a and b <= end]
            first = next((a for w, a, _ in words if w in wanted), start)
            first = max(start, min(first, end - max_chars))
            first = next((a for _, a, _ in words if a >= first), first)  # a word start
            stop = max((b for _, a, b in words if b - first <= max_chars), default=first)
            start, end = first, stop
        return start, end


_STOPWORDS = frozenset(
    """a an and are as at be been but by for from has have he her his in into is it its
    of on or our said says she that the their them they this to was we were will with
    would not no all any can could should may might shall also than then there these
    those who whom which what when where how about after before over under between
    both each other such only own same so too very just side sides""".split()
)


def content_words(text: str) -> set[str]:
    """Lower-cased words of ``text`` that carry meaning (no stop words, no short words)."""
    return {w for w, _, _ in _tokens(normalise(text)) if len(w) > 2 and w not in _STOPWORDS}


# Letters NFKD does not decompose into a base letter plus a mark.
_FOLD = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ı": "i"})


def fold(text: str) -> str:
    """Case, diacritics and punctuation folded away: the key for comparing names and words.

    "Møller-Sørensen" and "moller sorensen" fold alike; letters of other scripts stay.
    """
    text = unicodedata.normalize("NFKD", text.casefold().translate(_FOLD))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.sub(r"[\W_]+", " ", text).split())


def normalise(text: str) -> str:
    """Collapse whitespace, unify quote characters and lower-case."""
    return " ".join(text.translate(_QUOTES).lower().split())


def _tokens(text: str) -> list[tuple[str, int, int]]:
    return [(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]


def _mentions_in(normalised_text: str, name: str) -> bool:
    words = [w for w, _, _ in _tokens(normalise(name))]
    if not words:
        return False
    if _contains_words(normalised_text, words):
        return True
    return len(words[-1]) > 2 and _contains_words(normalised_text, words[-1:])


def _contains_words(haystack: str, words: list[str]) -> bool:
    pattern = r"(?<![^\W_])" + r"\W+".join(re.escape(w) for w in words) + r"(?![^\W_])"
    return re.search(pattern, haystack) is not None


@dataclass
class Failure:
    """An item whose evidence could not be found in the source."""

    key: str  # e.g. "participants[2]"
    item: str  # the item without its evidence, as compact text for the re-ask
    evidence: str
    problem: str
    reask: bool = True  # False when a new quote cannot help (a name not in the source)
    field: str = "evidence"  # the field the problem is about


@dataclass
class GroundingReport:
    """What grounding did to one result."""

    failures: list[Failure] = field(default_factory=list)
    aligned: list[str] = field(default_factory=list)  # keys whose quote was aligned
    anchored: list[str] = field(default_factory=list)  # keys given a supporting sentence
    dropped: list[dict[str, str]] = field(default_factory=list)  # {"key", "item", "reason"}


@dataclass
class _Slot:
    """Where an item lives, so it can be replaced or removed."""

    key: str
    owner: BaseModel | list[Any]
    at: str | int
    item: BaseModel


def _markers(info_metadata: list[Any], annotation: Any) -> list[Any]:
    found = list(info_metadata)
    stack = [annotation]
    while stack:
        current = stack.pop()
        if typing.get_origin(current) is typing.Annotated:
            found.extend(current.__metadata__)
            stack.append(current.__origin__)
        elif typing.get_origin(current) in (Union, types.UnionType):
            stack.extend(typing.get_args(current))
    return found


def _quote_fields(model: type[BaseModel]) -> set[str]:
    """Names of the evidence fields: marked ``EvidenceQuote`` (any name) or called evidence."""
    return {"evidence"} | {
        name
        for name, info in model.model_fields.items()
        if any(isinstance(m, EvidenceQuote) for m in _markers(info.metadata, info.annotation))
    }


def _claim_text(item: BaseModel) -> str:
    """The item's own words (every text field but the evidence), for support checks."""
    quotes = _quote_fields(type(item))
    parts = []
    for name in type(item).model_fields:
        value = getattr(item, name)
        if name not in quotes and isinstance(value, str):
            parts.append(value)
    return " ".join(parts)


def _item_text(item: BaseModel) -> str:
    data = item.model_dump(mode="json", exclude=_quote_fields(type(item)))
    return "; ".join(f"{k}={v}" for k, v in data.items() if v not in (None, "", []))


def _walk(model: BaseModel, key: str, owner: BaseModel | list[Any], at: str | int) -> list[_Slot]:
    """Every model instance in the tree, innermost last, with its location."""
    slots = [_Slot(key, owner, at, model)]
    for name in type(model).model_fields:
        value = getattr(model, name)
        child_key = f"{key}.{name}" if key else name
        if isinstance(value, BaseModel):
            slots += _walk(value, child_key, model, name)
        elif isinstance(value, list):
            for i, element in enumerate(value):
                if isinstance(element, BaseModel):
                    slots += _walk(element, f"{child_key}[{i}]", value, i)
    return slots


def ground(
    result: BaseModel,
    source: SourceText,
    *,
    min_ratio: float = 0.85,
    min_support: float = 0.5,
) -> tuple[BaseModel, GroundingReport]:
    """Check and repair every marked field of ``result``.

    Returns a deep copy in which quotes are exact source slices, unsupported
    quotes are re-anchored, ungrounded optional mentions are cleared and
    repeated list items are removed, plus the report. Items whose evidence is
    still not grounded stay in place and are listed in ``report.failures``.
    """
    copy = result.model_copy(deep=True)
    report = GroundingReport()
    # Keys are given after de-duplication (which shifts list indexes), so that
    # every key in the report addresses an item of the returned model.
    failures: list[tuple[BaseModel, Failure]] = []
    repaired: list[tuple[BaseModel, str, str]] = []  # (item, field, "aligned"/"anchored")
    for slot in _walk(copy, "", [], 0):
        model = slot.item
        names: list[str] = []
        quotes: list[tuple[str, int]] = []
        for name, info in type(model).model_fields.items():
            value = getattr(model, name)
            if not isinstance(value, str):
                continue
            markers = _markers(info.metadata, info.annotation)
            limit = next((m.max_length for m in markers if getattr(m, "max_length", None)), 400)
            if any(isinstance(m, EvidenceQuote) for m in markers):
                quotes.append((name, limit))
            mention = next((m for m in markers if isinstance(m, Mention)), None)
            if mention is None:
                continue
            ok = source.states_date(value) if mention.date else source.mentions(value)
            if ok:
                if not mention.date:
                    names.append(value)
                continue
            reason = "date not stated in the document" if mention.date else "not in the document"
            field_key = f"{slot.key}.{name}" if slot.key else name
            if _is_optional(info.annotation):
                setattr(model, name, None)
                report.dropped.append({"key": field_key, "item": value, "reason": reason})
            else:
                problem = f"{name} {reason}"
                failure = Failure("", _item_text(model), value, problem, reask=False, field=name)
                failures.append((model, failure))
        for name, limit in quotes:
            outcome = _ground_quote(model, name, names, source, min_ratio, min_support, limit)
            if outcome in ("aligned", "anchored"):
                repaired.append((model, name, outcome))
            elif outcome:
                failure = Failure("", _item_text(model), getattr(model, name), outcome, field=name)
                failures.append((model, failure))
    report.dropped += _dedupe(copy)
    keys = {id(slot.item): slot.key for slot in _walk(copy, "", [], 0)}
    # A new quote cannot save an item that also has a name or date not in the source.
    unfixable = {id(model) for model, failure in failures if not failure.reask}
    for model, failure in failures:
        if id(model) not in keys:
            continue  # a repeat of an earlier item, removed above
        failure.key = keys[id(model)] or type(model).__name__
        failure.reask = failure.reask and id(model) not in unfixable
        report.failures.append(failure)
    for model, name, outcome in repaired:
        if id(model) in keys:
            key = keys[id(model)]
            getattr(report, outcome).append(f"{key}.{name}" if key else name)
    return copy, report


def _dedupe(model: BaseModel) -> list[dict[str, str]]:
    """Remove list items that repeat an earlier one (ignoring evidence and case)."""
    dropped = []
    for slot in _walk(model, "", [], 0):
        for name in type(slot.item).model_fields:
            value = getattr(slot.item, name)
            if not isinstance(value, list):
                continue
            seen: set[str] = set()
            keep = []
            for i, element in enumerate(value):
                text = _item_text(element) if isinstance(element, BaseModel) else str(element)
                norm = normalise(text)
                if norm in seen:
                    key = f"{slot.key}.{name}[{i}]" if slot.key else f"{name}[{i}]"
                    dropped.append({"key": key, "item": text, "reason": "repeats an earlier item"})
                    continue
                seen.add(norm)
                keep.append(element)
            value[:] = keep
    return dropped


def _is_optional(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (Union, types.UnionType) and type(None) in (
        typing.get_args(annotation)
    )


def _supports(quote_norm: str, claim: str, names: list[str], min_support: float) -> bool:
    if names:
        return all(_mentions_in(quote_norm, n) for n in names)
    wanted = content_words(claim)
    if not wanted:
        return True
    return len(wanted & content_words(quote_norm)) / len(wanted) >= min_support / 2


def _ground_quote(
    model: BaseModel,
    name: str,
    names: list[str],
    source: SourceText,
    min_ratio: float,
    min_support: float,
    max_chars: int,
) -> str | None:
    """Make ``model.<name>`` an exact, supporting source slice.

    Returns None (the quote was exact and supports the item), "aligned",
    "anchored", or a description of the problem.
    """
    quote = getattr(model, name)
    claim = _claim_text(model)
    span = source.find(quote)
    outcome: str | None = None
    if span is None:
        aligned = source.align(quote, min_ratio)
        if aligned is not None:
            span, outcome = (aligned[0], aligned[1]), "aligned"
    # In a transcript the speaker's label counts as part of what the quote shows.
    speaker = source.speaker_at(span[0]) if span is not None else None
    context = f"{speaker}: " if speaker else ""
    if span is not None and _supports(
        context + source.norm[span[0] : span[1]], claim, names, min_support
    ):
        # An aligned span may run past the field's limit.
        setattr(model, name, _fit(source.original(*span), max_chars))
        return outcome
    anchored = source.anchor(claim, names, min_support, max_chars)
    if anchored is not None:
        # The span fits in normalised characters; the original may hold longer whitespace.
        setattr(model, name, _fit(source.original(*anchored), max_chars))
        return "anchored"
    if not quote.strip():
        return "evidence is empty"
    if span is None:
        return "not found in the document"
    return "the quote does not support the item"


def _fit(text: str, max_chars: int) -> str:
    """``text`` cut to at most ``max_chars`` characters, after a whole word if possible."""
    if len(text) <= max_chars:
        return text
    ends = [m.end() for m in re.finditer(r"\S+", text[: max_chars + 1]) if m.end() <= max_chars]
    return text[: ends[-1]] if ends else text[:max_chars]


def _item_slots(model: BaseModel) -> dict[str, _Slot]:
    """Every item of ``model`` by the key failures use (the root by its class name)."""
    return {slot.key or type(slot.item).__name__: slot for slot in _walk(model, "", [], 0)}


def apply_quote_fixes(
    result: BaseModel,
    failures: list[Failure],
    fixes: dict[str, str | None],
) -> BaseModel:
    """Put re-asked quotes into ``result`` (a copy); ``None`` leaves the old quote."""
    copy = result.model_copy(deep=True)
    by_key = _item_slots(copy)
    for failure in failures:
        new = fixes.get(failure.key)
        slot = by_key.get(failure.key)
        if new and slot is not None and failure.field in type(slot.item).model_fields:
            if failure.field in _quote_fields(type(slot.item)):  # never overwrite a name
                setattr(slot.item, failure.field, new)
    return copy


def drop_failures(
    result: BaseModel, failures: list[Failure]
) -> tuple[BaseModel, list[dict[str, str]]]:
    """Remove every failed item from ``result`` (a copy) and describe what went."""
    copy = result.model_copy(deep=True)
    slots = _item_slots(copy)
    # One record per item: an item may fail several checks but is removed once.
    records: dict[str, dict[str, str]] = {}
    for failure in failures:
        if failure.key not in slots:
            continue
        record = records.get(failure.key)
        if record is None:
            records[failure.key] = {
                "key": failure.key,
                "item": failure.item,
                "reason": failure.problem,
            }
        elif failure.problem not in record["reason"].split("; "):
            record["reason"] += f"; {failure.problem}"
    dropped: list[dict[str, str]] = []
    removals: list[tuple[list[Any], int]] = []
    for key, record in records.items():
        slot = slots[key]
        if not slot.key:
            # The result itself cannot be removed; it is reported as ungrounded.
            dropped.append({**record, "reason": f"{record['reason']} (kept: the whole result)"})
        elif isinstance(slot.owner, list) and isinstance(slot.at, int):
            removals.append((slot.owner, slot.at))
            dropped.append(record)
        elif isinstance(slot.owner, BaseModel) and isinstance(slot.at, str):
            info = type(slot.owner).model_fields[slot.at]
            if _is_optional(info.annotation):
                setattr(slot.owner, slot.at, None)
                dropped.append(record)
            else:
                # A required item cannot be removed; it is reported as ungrounded.
                reason = f"{record['reason']} (kept: field is required)"
                dropped.append({**record, "reason": reason})
    # Remove from the end so earlier indexes stay valid.
    for owner, index in sorted(removals, key=lambda r: r[1], reverse=True):
        del owner[index]
    return copy, dropped
