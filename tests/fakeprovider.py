"""A fake *model* for :class:`tests.fakeserver.FakeOpenAI`: grounded answers and rate limits.

``summary_reply(body)`` reads the document out of a real request (between the
``<document-…>`` fence tags that ``prompts/summarize.md`` puts around it) and
answers with a valid ``MeetingSummary`` whose every evidence is a verbatim line
of that document, so the real pipeline validates and grounds it without a
re-ask. ``LimitedProvider`` is a callable script that adds a per-request
latency and enforces RPM/TPM limits the way hosted APIs do: over short windows
(a bucket refilling continuously, holding one second's worth), answering 429
with ``Retry-After`` when a request does not fit.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tests.fakeserver import Reply, completion, error

__all__ = ["LimitedProvider", "document_of", "summary_reply"]

_DOC_RE = re.compile(r'<document-([0-9a-f]{12}) name="[^"]*">\n(.*)\n</document-\1>', re.DOTALL)
_SPEAKER_RE = re.compile(r"^(?:\[[0-9:]+\] )?([A-Z][a-z]+ [A-Z][a-z]+): (.+)$")


def document_of(body: dict[str, Any]) -> str:
    """The document text fenced in the request's user message ("" if none)."""
    for message in body.get("messages", []):
        if message.get("role") == "user":
            found = _DOC_RE.search(str(message.get("content", "")))
            if found:
                return found.group(2)
    return ""


def _schema_name(body: dict[str, Any]) -> str:
    spec = body.get("response_format", {}).get("json_schema", {})
    return str(spec.get("name", ""))


def _quote(line: str) -> str:
    """The line, or its beginning up to a word end when it exceeds the evidence limit."""
    return line if len(line) <= 240 else line[:240].rsplit(" ", 1)[0]


def _summary(document: str) -> dict[str, Any]:
    lines = [line.strip() for line in document.splitlines() if line.strip()]
    participants: list[dict[str, Any]] = []
    seen: set[str] = set()
    for line in lines:
        match = _SPEAKER_RE.match(line)
        if match and match.group(1) not in seen and len(participants) < 6:
            seen.add(match.group(1))
            participants.append(
                {
                    "name": match.group(1),
                    "role": None,
                    "organization": None,
                    "evidence": _quote(line),
                }
            )
    decided = [line for line in lines if "agreed" in line.lower()][:3]
    first = lines[0] if lines else "meeting"
    return {
        "title": first[:100],
        "date": None,
        "location": None,
        "participants": participants,
        "topics": ["meeting"],
        "positions": [],
        "decisions": [{"description": line[:200], "evidence": _quote(line)} for line in decided],
        "action_items": [],
        "summary": " ".join(lines[:3])[:900] or "An empty meeting.",
    }


def summary_reply(body: dict[str, Any]) -> Reply:
    """A completion answering ``body``: a grounded summary, or null quote fixes on a re-ask."""
    if _schema_name(body) == "Narrative":
        # The reduce call of a long document: one sentence per part summary it was given.
        user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        parts = re.findall(r"^Part (\d+) \(", user, re.MULTILINE)
        content = json.dumps(
            {
                "title": f"Meeting in {len(parts)} parts",
                "topics": ["meeting"],
                "summary": " ".join(f"Part {n} was discussed." for n in parts)[:900],
            }
        )
    elif _schema_name(body) not in ("", "MeetingSummary"):
        # A grounding re-ask: answer "no quote" for every item asked about.
        props = body["response_format"]["json_schema"]["schema"].get("properties", {})
        content = json.dumps({key: None for key in props})
    else:
        content = json.dumps(_summary(document_of(body)))
    prompt_chars = len(json.dumps(body.get("messages", [])))
    return completion(
        content, prompt_tokens=prompt_chars // 4, completion_tokens=max(1, len(content) // 4)
    )


@dataclass
class LimitedProvider:
    """A callable script: grounded answers after ``latency_s``, under RPM/TPM limits.

    Tokens are charged when the request arrives (its prompt plus its answer),
    as a provider that knows the answer's length would. Counters are read by
    tests and the benchmark.
    """

    rpm: float | None = None
    tpm: float | None = None
    latency_s: float = 0.0
    ok: int = 0
    rejected: int = 0
    tokens: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _levels: dict[str, float] = field(default_factory=dict, repr=False)
    _stamp: float = field(default_factory=time.monotonic, repr=False)

    def _capacity(self, per_minute: float) -> float:
        return max(1.0, per_minute / 60.0)

    def _admit(self, tokens: int) -> float:
        """0 if admitted (and charged), else seconds until it would be."""
        now = time.monotonic()
        elapsed, self._stamp = now - self._stamp, now
        wait = 0.0
        for name, limit, cost in (("rpm", self.rpm, 1), ("tpm", self.tpm, tokens)):
            if limit is None:
                continue
            cap = self._capacity(limit)
            level = min(cap, self._levels.get(name, cap) + elapsed * limit / 60.0)
            self._levels[name] = level
            need = min(cost, cap)
            if level < need:
                wait = max(wait, (need - level) / (limit / 60.0))
        if wait > 0:
            return wait
        for name, limit, cost in (("rpm", self.rpm, 1), ("tpm", self.tpm, tokens)):
            if limit is not None:
                self._levels[name] -= cost
        return 0.0

    def __call__(self, index: int, body: dict[str, Any]) -> Reply:
        reply = summary_reply(body)
        usage = (reply.json_body or {}).get("usage", {})
        with self._lock:
            wait = self._admit(int(usage.get("total_tokens", 0)))
            if wait > 0:
                self.rejected += 1
                return error(429, "rate limit reached", retry_after=round(wait + 0.01, 3))
            self.ok += 1
            self.tokens += int(usage.get("total_tokens", 0))
        reply.delay_s = self.latency_s
        return reply
