"""How one prediction is scored against its labels (methods documented in the README).

Every function is pure: a summary as JSON data plus labels in, numbers out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from summarizer.evaluate.datasets import Expected
from summarizer.grounding import SourceText, fold

__all__ = [
    "DocScore",
    "evidence_quotes",
    "location_matches",
    "name_key",
    "names_match",
    "recall_items",
    "score_document",
    "score_participants",
    "token_recall",
]

# Honorifics and role words carry no identity: "President Eisenhower" is "Eisenhower".
# Honorifics always go; role words stay when they are all there is ("The President").
_HONORIFICS = frozenset("the mr mrs ms miss dr sir his her excellency of".split())
_ROLES = frozenset(
    """amb ambassador gen general adm admiral col president vice prime minister foreign
    secretary deputy state chairman chair acting permanent director chancellor premier
    senator governor king queen""".split()
)
# Content words for decision/action matching (function words and short words dropped).
_STOP = frozenset(
    """a an and are as at be been but by for from has have had he her his in into is it its
    of on or our she that the their them they this to was we were will with would not
    all any can could should may might shall also than then there these those who whom
    which what when where how about after before over under between both each other
    such only own same so too very just going get got one two""".split()
)
RECALL_THRESHOLD = 0.5


def name_key(name: str) -> list[str]:
    """The identifying tokens of a name: folded, titles dropped (unless nothing is left)."""
    tokens = [t for t in fold(name).split() if t not in _HONORIFICS]
    kept = [t for t in tokens if t not in _ROLES]
    return kept or tokens


def names_match(predicted: str, expected: str) -> bool:
    """Same person: last tokens agree and, when both names have more tokens, one more agrees.

    "Blinken" and "Antony J. Blinken" match; "Antony Blinken" and "Antony J.
    Blinken" match; "Eduardo Campos" and "Eduardo Dutra" do not. A single
    initial agrees with a token it starts ("A. Blinken").
    """
    a, b = name_key(predicted), name_key(expected)
    if not a or not b or a[-1] != b[-1]:
        return False
    rest_a, rest_b = a[:-1], b[:-1]
    if not rest_a or not rest_b:
        return True
    for x in rest_a:
        for y in rest_b:
            if x == y or (len(x) == 1 and y.startswith(x)) or (len(y) == 1 and x.startswith(y)):
                return True
    return False


def _matches_person(name: str, aliases: list[str]) -> bool:
    return any(names_match(name, alias) for alias in aliases)


@dataclass(frozen=True)
class ParticipantScore:
    """Counts for one document's participants."""

    tp: int
    fp: int
    fn: int
    mentioned: int  # predicted participants that the labels list as merely mentioned


def score_participants(predicted: list[str], expected: Expected) -> ParticipantScore | None:
    """Match predicted names to labelled people, one to one, in order.

    A prediction matching an unmatched participant is a true positive; one
    matching an ``optional`` person is ignored; anything else (a repeat, an
    unknown name, a merely mentioned person) is a false positive, and the
    mentioned ones are also counted on their own.
    """
    if expected.participants is None:
        return None
    unmatched = list(range(len(expected.participants)))
    tp = fp = mentioned = 0
    for name in predicted:
        hit = next((i for i in unmatched if _matches_person(name, expected.participants[i])), None)
        if hit is not None:
            unmatched.remove(hit)
            tp += 1
            continue
        if any(_matches_person(name, aliases) for aliases in expected.participants):
            fp += 1  # the same person twice
        elif any(_matches_person(name, aliases) for aliases in expected.optional):
            continue
        else:
            fp += 1
            if any(_matches_person(name, aliases) for aliases in expected.mentioned):
                mentioned += 1
    return ParticipantScore(tp=tp, fp=fp, fn=len(unmatched), mentioned=mentioned)


def location_matches(predicted: str | None, accepted: list[str]) -> bool:
    """Folded containment either way ("Cusco, Peru" vs "Cusco"), on whole words."""
    if not predicted:
        return False
    p = f" {fold(predicted)} "
    for answer in accepted:
        a = f" {fold(answer)} "
        if a.strip() and p.strip() and (a in p or p in a):
            return True
    return False


def content_tokens(text: str) -> set[str]:
    """Folded words of three or more characters that are not function words."""
    return {t for t in fold(text).split() if len(t) > 2 and t not in _STOP}


def token_recall(reference: str, candidate: str) -> float:
    """Share of the reference's content words that occur in the candidate (ROUGE-1 recall, sets)."""
    ref = content_tokens(reference)
    if not ref:
        return 0.0
    return len(ref & content_tokens(candidate)) / len(ref)


def recall_items(
    references: list[str], candidates: list[str], threshold: float = RECALL_THRESHOLD
) -> int:
    """How many references some candidate covers with ``token_recall >= threshold``."""
    return sum(
        1 for ref in references if any(token_recall(ref, c) >= threshold for c in candidates)
    )


def evidence_quotes(data: Any) -> list[str]:
    """Every ``evidence`` string anywhere in a summary's JSON data."""
    found: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "evidence" and isinstance(value, str):
                found.append(value)
            else:
                found += evidence_quotes(value)
    elif isinstance(data, list):
        for item in data:
            found += evidence_quotes(item)
    return found


@dataclass(frozen=True)
class DocScore:
    """Everything measured on one successfully summarised document.

    ``None`` means the labels do not cover that metric for this document.
    """

    evidence_total: int
    evidence_found: int
    participants: ParticipantScore | None
    date_stated: bool | None
    date_correct: bool | None
    date_spurious: bool | None
    location_stated: bool | None
    location_correct: bool | None
    location_spurious: bool | None
    decisions_reference: int | None
    decisions_recalled: int | None
    actions_reference: int | None
    actions_recalled: int | None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data."""
        return asdict(self)


def _candidates(summary: dict[str, Any]) -> list[str]:
    texts = []
    for item in summary.get("decisions", []):
        texts.append(f"{item.get('description', '')} {item.get('evidence', '')}")
    for item in summary.get("action_items", []):
        texts.append(f"{item.get('task', '')} {item.get('owner') or ''} {item.get('evidence', '')}")
    return texts


def _answer(
    value: str | None, accepted: list[str] | None, exact: bool
) -> tuple[bool | None, bool | None, bool | None]:
    """(stated, correct, spurious) for a date or location label."""
    if accepted is None:
        return None, None, None
    if not accepted:
        return False, None, value is not None
    correct = value in accepted if exact else location_matches(value, accepted)
    return True, correct, None


def score_document(summary: dict[str, Any], text: str, expected: Expected) -> DocScore:
    """Score one summary (JSON data of a ``MeetingSummary``) against its labels."""
    source = SourceText(text)
    quotes = evidence_quotes(summary)
    names = [p.get("name", "") for p in summary.get("participants", [])]
    d_stated, d_correct, d_spurious = _answer(summary.get("date"), expected.date, exact=True)
    l_stated, l_correct, l_spurious = _answer(
        summary.get("location"), expected.location, exact=False
    )
    candidates = _candidates(summary)
    decisions = expected.decisions
    actions = expected.action_items
    return DocScore(
        evidence_total=len(quotes),
        evidence_found=sum(1 for q in quotes if source.find(q) is not None),
        participants=score_participants(names, expected),
        date_stated=d_stated,
        date_correct=d_correct,
        date_spurious=d_spurious,
        location_stated=l_stated,
        location_correct=l_correct,
        location_spurious=l_spurious,
        decisions_reference=len(decisions) if decisions is not None else None,
        decisions_recalled=recall_items(decisions, candidates) if decisions is not None else None,
        actions_reference=len(actions) if actions is not None else None,
        actions_recalled=recall_items(actions, candidates) if actions is not None else None,
    )
