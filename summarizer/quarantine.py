"""Passages of a document that address the model instead of reporting the meeting.

A document is data, yet nobody vetted it: it may carry text written to steer
the model ("ignore previous instructions", a fake ``<system>`` tag, a
ready-made JSON answer, a note "to the AI"). The first defence is the prompt,
which fences the document between tags derived from its hash and tells the
model that text inside is data. This module is the second: grounding checks
evidence against the document with such passages *masked*, so an item whose
only support is an injected instruction (its quote, its name, its date or
place) is not grounded, and is re-asked, then dropped.

The model still sees the whole document; only what evidence may cite changes.
The markers are a deny-list of well-known injection shapes, so a paraphrased,
unmarked instruction passes them: they add to the fence and to grounding,
they do not replace them. Ordinary meeting language ("we will ignore late
entries", "the new policy") is not a marker.
"""

from __future__ import annotations

import json
import re
import types
import typing
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

__all__ = [
    "MASK",
    "Quarantine",
    "injected_terms",
    "quarantine",
    "repeats_injection",
    "strip_injected",
]

T = TypeVar("T", bound=BaseModel)
_REASON = "repeats a name, number or code found only in an instruction to the model"

MASK = "\u25a0"
"""Stands in for every masked character: not a word character and not a space, so
no quote, name or date can match across or inside a masked passage."""

# Paired markup, masked from the opening tag to its closing tag (or the end of the line).
_REGIONS = re.compile(
    r"<!--.*?(?:-->|$)"
    r"|<(system|assistant|tool_call|tool|function_call|instructions?)\b[^>\n]*>"
    r".*?(?:</\1\s*>|$)",
    re.IGNORECASE | re.DOTALL | re.MULTILINE,
)
# Masks the whole line: role and tool markup, fake document fences, JSON answer keys.
_LINE_MARKERS = re.compile(
    r"<\|[a-z_]+\|>"  # ChatML and similar special tokens
    r"|</?\s*(?:system|assistant|user|tool_call|tool|function_call|document)\b[^>\n]*>"
    r"|\[/?(?:INST|SYS|system|assistant|user)\]"
    r"|^\s*(?:system|assistant)\s*:"
    r'|"(?:title|participants|topics|positions|decisions|action_items|evidence|summary|arguments)"'
    r"\s*:",
    re.IGNORECASE | re.MULTILINE,
)
_MODEL = r"(?:ai|a\.i\.|assistant|chatbot|bot|llm|(?:language )?model|summari[sz]er)"
# Masks the sentence: phrases that give the model orders.
_PHRASES = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass)\s+(?:all\s+|any\s+)?"
    r"(?:(?:the|your|my|these|those|previous|prior|above|earlier|preceding|original|system)\s+)"
    r"{1,3}(?:instructions?|rules|prompts?|guidelines|directions|system message)\b"
    r"|\b(?:new|updated|real) instructions\b"
    r"|\bsystem prompt\b"
    # "where you are now" is ordinary speech; "you are now in maintenance mode" is not.
    r"|(?<!where )(?<!what )(?<!how )\byou are now (?:in|a|an|acting|my|the|no longer)\b"
    rf"|\b(?:note|message|instructions?)\s+(?:to|for)\s+(?:the\s+|any\s+)?{_MODEL}\b"
    rf"|\bif\s+(?:an?\s+|the\s+)?{_MODEL}\b[^.\n]{{0,30}}\breading\b"
    rf"|^\W*{_MODEL}\s*[,:]\s*(?:please\s+)?(?:ignore|disregard|forget|add|output|list|say|write|report)\b"
    r"|\b(?:as|is) your (?:answer|output|response|summary)\b"
    r"|\b(?:output|return|respond with|reply with)\s+(?:only\s+)?(?:the following|this)\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"[^.!?\n]*(?:[.!?]+|$)")
_SPEAKER_PREFIX = re.compile(r"^\s*(?:\[[0-9:.,]+\]\s*)?[^:\n]{1,40}:\s+")


@dataclass(frozen=True)
class Quarantine:
    """A document with its instruction-like passages masked."""

    text: str
    """The document, same length, masked characters replaced by :data:`MASK`."""
    spans: tuple[tuple[int, int], ...]
    """``[start, end)`` offsets of the masked passages, in order, merged."""


def quarantine(text: str) -> Quarantine:
    """Mask the passages of ``text`` that address the model; newlines are kept."""
    spans: list[tuple[int, int]] = [m.span() for m in _REGIONS.finditer(text)]
    offset = 0
    for line in text.split("\n"):
        end = offset + len(line)
        if _LINE_MARKERS.search(line):
            spans.append((offset, end))
        else:
            # A transcript line's instruction may follow a speaker label: test the
            # words after it, so "Dev: Assistant, ignore ..." counts as addressing us.
            label = _SPEAKER_PREFIX.match(line)
            starts = {0, label.end()} if label else {0}
            for start in starts:
                for m in _SENTENCE.finditer(line, start):
                    if m.group().strip() and _PHRASES.search(m.group()):
                        spans.append((offset + m.start(), offset + m.end()))
        offset = end + 1
    merged = _merge(spans)
    if not merged:
        return Quarantine(text, ())
    chars = list(text)
    for start, end in merged:
        for i in range(start, end):
            if chars[i] != "\n":
                chars[i] = MASK
    return Quarantine("".join(chars), tuple(merged))


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


# A name, number or code: words joined by hyphens, apostrophes, commas or dots
# ("Brightwater-Kane", "QX-5581", "40,000", "1999-12-31").
_TERM = re.compile(r"[^\W_]+(?:[-',./][^\W_]+)*")
_SENTENCE_START = re.compile(r"(?:^|[.!?\n])[\s\"'*>#-]*$")


def _terms(text: str) -> list[tuple[str, int]]:
    """Every term of ``text`` and its parts, lower-cased, with their start offsets."""
    found = []
    for m in _TERM.finditer(text):
        word = m.group()
        found.append((word.lower(), m.start()))
        for part in re.split(r"[-',./]", word):
            if part and part != word:
                found.append((part.lower(), m.start()))
    return found


def injected_terms(document: str, masked: Quarantine) -> frozenset[str]:
    """Names, numbers and codes that the document states only inside masked passages.

    A capitalised word that does not open a sentence (a name: "Quentin Vexmoor",
    "Castle Grimwald") or any word with a digit ("QX-5581", "1999-12-31") counts,
    if the unmasked text never uses it. An output that repeats one took it from
    an instruction aimed at the model.
    """
    if not masked.spans:
        return frozenset()
    clean = {word for word, _ in _terms(masked.text)}
    found: set[str] = set()
    for start, end in masked.spans:
        passage = document[start:end]
        for m in _TERM.finditer(passage):
            word = m.group()
            opens_sentence = _SENTENCE_START.search(passage, 0, m.start()) is not None
            named = word[0].isupper() and not opens_sentence
            if named:
                # The name and its parts ("Brightwater-Kane": also "Brightwater").
                candidates = {term for term, _ in _terms(word) if len(term) > 2}
            elif any(c.isdigit() for c in word):
                # A number or code as a whole: its parts ("40" of "40,000") are too common.
                candidates = {word.lower()} if len(word) > 2 else set()
            else:
                continue
            found |= candidates - clean
    return frozenset(found)


def repeats_injection(text: str, terms: frozenset[str]) -> bool:
    """Whether ``text`` uses any of ``terms`` (see :func:`injected_terms`)."""
    return bool(terms) and any(term in terms for term, _ in _terms(text))


def strip_injected(result: T, terms: frozenset[str]) -> tuple[T, list[dict[str, str]]]:
    """Remove from ``result`` what repeats ``terms``: list items whole, sentences of texts.

    Free-text fields (a title, a summary) carry no quote to check, so this is
    what keeps an obeyed instruction out of them. Returns the cleaned copy and
    one ``{"key", "item", "reason"}`` record per removal.
    """
    if not terms:
        return result, []
    dropped: list[dict[str, str]] = []

    def clean(value: Any, key: str, optional: bool) -> Any:
        if isinstance(value, str) and repeats_injection(value, terms):
            dropped.append({"key": key, "item": value[:200], "reason": _REASON})
            kept = " ".join(
                m.group().strip()
                for m in _SENTENCE.finditer(value)
                if m.group().strip() and not repeats_injection(m.group(), terms)
            )
            return kept or (None if optional else "")
        if isinstance(value, list):
            kept_items = []
            for i, item in enumerate(value):
                if repeats_injection(json.dumps(item, ensure_ascii=False), terms):
                    dropped.append(
                        {"key": f"{key}[{i}]", "item": _describe(item), "reason": _REASON}
                    )
                else:
                    kept_items.append(item)
            return kept_items
        if isinstance(value, dict):
            return {k: clean(v, f"{key}.{k}", False) for k, v in value.items()}
        return value

    data = result.model_dump(mode="json")
    fields = type(result).model_fields
    cleaned = {
        name: clean(value, name, name in fields and _allows_none(fields[name].annotation))
        for name, value in data.items()
    }
    if not dropped:
        return result, []
    try:
        return type(result).model_validate(cleaned), dropped
    except ValidationError:
        # The schema will not take the cleaned result (a required text left empty):
        # keep it as it was, and say so, rather than fail the run.
        return result, [
            {**d, "reason": f"{d['reason']} (kept: the schema needs it)"} for d in dropped
        ]


def _allows_none(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(
        None
    ) in typing.get_args(annotation)


def _describe(item: Any) -> str:
    if isinstance(item, dict):
        return "; ".join(f"{k}={v}" for k, v in item.items() if k != "evidence" and v)[:200]
    return str(item)[:200]
