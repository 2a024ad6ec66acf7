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

import re
from dataclasses import dataclass

__all__ = ["MASK", "Quarantine", "quarantine"]

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
