"""Who attended, read straight from the text: attendance lists and "X met with Y".

A small local model reads a long "PARTICIPANTS" block badly (it stops after a
few names) and tends to drop the subject of a readout sentence ("Secretary X
met with Y") while listing the spokesperson the readout is attributed to.
These are regular shapes, so they are parsed here, deterministically:

- attendance blocks: a "Participants" / "Present" / "Attendees" / "In
  attendance" heading followed by one name per line (group labels such as
  "US" are skipped), or the same words followed by a colon and an inline list
  ("were present at the event: A (Economy), B (Energy)");
- meeting sentences: "<name> met [today] [in Berlin] with <A>, <B> and <C>"
  (also "held talks with", "had lunch with" ...), titles before a name become
  the role ("Foreign Minister Jane Roe" -> name "Jane Roe");
- attribution lines: a person named only in sentences like "This readout is
  attributed to Press Officer X" reports on the meeting and is no participant.

Every returned person carries an exact quote of the source as evidence (the
line, the sentence, or the list item), so a merged summary stays grounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from summarizer.grounding import fold

__all__ = [
    "Attendee",
    "attendance_list",
    "attributed_only",
    "meeting_sentences",
    "sentences",
    "title_words",
]

_MAX_EVIDENCE = 250

# Words that make up a title or office, not a name ("Deputy Secretary of State").
_TITLES = frozenset(
    """mr mrs ms miss dr prof sir dame lord lady madam amb ambassador gen general adm admiral
    col lt capt cmdr sen rep gov hon president vice prime minister foreign secretary deputy
    state chairman chairwoman chair acting permanent director chancellor premier senator
    governor king queen prince princess designate alternate undersecretary under assistant
    special envoy representative counselor counsellor adviser advisor spokesperson
    spokesman spokeswoman head chief executive affairs political security defense defence
    finance trade interior commissioner delegate delegation mayor leader speaker member
    emperor sheikh minister-designate elect""".split()
)
# Lower-case words that may sit inside a name or title ("Lula da Silva", "Secretary of State").
_CONNECTORS = frozenset("of the for da de do dos das del van von der bin al la le".split())
# Abbreviations whose full stop does not end a sentence.
_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof gen amb adm col lt capt sen rep gov hon st jr sr no vol dept corp
    inc""".split()
)
_HEADING = re.compile(
    r"^[ \t]*(?:participants|present|attendees|attendance|in attendance|attending|those present)"
    r"[ \t]*:?[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_INLINE = re.compile(
    r"\b(?:participants|present|attendees|in attendance|attending)\b"
    r"(?:[ \t]+(?:at|in)\b[^:\n.]{0,40})?"
    r"[ \t]*:[ \t]*(?=\S)",
    re.IGNORECASE,
)
_PRESENT_WERE = re.compile(r"\b(?:present|in attendance)[ \t]+(?:were|was)[ \t]+", re.IGNORECASE)
_MET = re.compile(
    r"\s(?:met|meets|will meet|held (?:talks|a meeting|a call)|had (?:lunch|dinner|talks|a meeting)"
    r"|spoke|talked|conferred)\b(?P<between>[^,.;:\n]{0,40}?)\bwith\s+",
)
_ATTRIBUTION = re.compile(
    r"\battribut(?:able|ed)\s+to\b|\baccording\s+to\b|\btold\s+reporters\b|\bspokes(?:person|man|woman)\b"
    r"|\bbriefed\s+(?:reporters|the\s+press)\b",
    re.IGNORECASE,
)
_MEETING_VERB = re.compile(r"\b(?:met|meets|meeting with|attended|took part|participated)\b")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Attendee:
    """A person the text shows taking part, with the exact source text that shows it."""

    name: str
    role: str | None
    evidence: str


# --- sentences ------------------------------------------------------------------


def sentences(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences of ``text``: line breaks and full stops split, abbreviations don't."""
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text):
        start = line.start()
        for stop in re.finditer(r"[.!?][\"'’”)\]]*(?=\s+[\"“‘(]?[A-Z0-9])", line.group()):
            word = re.search(r"(\S+?)[.!?]?[\"'’”)\]]*$", line.group()[: stop.end()])
            token = (word.group(1) if word else "").rstrip(".").lower()
            # "Mr. X", "J. Blinken", "D.C. on" and similar: not the end of a sentence.
            if token in _ABBREVIATIONS or len(token) <= 1 or "." in token:
                continue
            end = line.start() + stop.end()
            spans.append((start, end))
            start = end
            while start < line.end() and text[start].isspace():
                start += 1
        if start < line.end():
            spans.append((start, line.end()))
    return [(a, b) for a, b in spans if text[a:b].strip()]


# --- names ----------------------------------------------------------------------


def _is_capitalised(token: str) -> bool:
    core = token.strip("“”\"'‘’()")
    return bool(core) and core[0].isupper()


def title_words(token: str) -> bool:
    """Whether a token is part of a title ("Minister-Designate", "Amb.", "Secretary")."""
    word = fold(token)
    if not word:
        return False
    return word in _TITLES or all(part in _TITLES for part in word.split())


def _leading_run(tokens: list[str]) -> list[str]:
    """The capitalised words a segment starts with (a leading "the", inner connectors allowed)."""
    run: list[str] = []
    i = 0
    if tokens and tokens[0].lower() == "the":
        i = 1
    while i < len(tokens):
        token = tokens[i]
        if _is_capitalised(token) or re.fullmatch(r"[A-Z]\.", token):
            run.append(token)
        elif token.lower() in _CONNECTORS and i + 1 < len(tokens) and run:
            run.append(token)
        else:
            break
        if re.search(r"[,;:)]$", token):
            break
        i += 1
    while run and run[-1].lower() in _CONNECTORS:
        run.pop()
    return run


def _split_name(run: list[str]) -> tuple[str, str | None] | None:
    """(name, role) of a run of words such as "German Foreign Minister Jane Roe"."""
    words = [w.strip(",;:") for w in run]
    if words and words[-1].endswith(".") and not re.fullmatch(r"[A-Z]\.", words[-1]):
        words[-1] = words[-1].rstrip(".")  # the sentence's full stop, not an initial
    last_title = max((i for i, w in enumerate(words) if title_words(w)), default=-1)
    name_words = words[last_title + 1 :]
    if not name_words or name_words[0].lower() in _CONNECTORS:
        return None
    if any(not (_is_capitalised(w) or w.lower() in _CONNECTORS) for w in name_words):
        return None
    if last_title < 0 and len(name_words) < 2:
        return None  # one bare word ("Brazil") may be a place or a country
    role_words = [w for w in words[: last_title + 1] if not re.fullmatch(r"(?i)the|mr|mrs|ms", w)]
    role = " ".join(role_words) or None
    return " ".join(name_words), role


def _person_line(line: str) -> str | None:
    """The name on a line of an attendance list ("Mr. Dillon", "Jane Roe, Treasurer")."""
    entry = re.split(r"\s*(?:,|\(|–|—|\s-\s)", line.strip(), maxsplit=1)[0].strip()
    words = entry.split()
    if not words or len(words) > 8 or not _is_capitalised(words[0]):
        return None
    if any(ch.isdigit() for ch in entry):
        return None
    titled = title_words(words[0]) or words[0].lower() == "the"
    capitalised = sum(1 for w in words if _is_capitalised(w))
    if titled and len(words) >= 2:
        return entry
    if capitalised >= 2 and not entry.isupper():
        return entry
    return None  # "US", "USSR", "Staff": group labels, not people


def _evidence(text: str, start: int, end: int, item: tuple[int, int]) -> str:
    """The sentence ``[start, end)`` if short enough, else the list item itself."""
    sentence = text[start:end].strip()
    if len(sentence) <= _MAX_EVIDENCE:
        return sentence
    return text[item[0] : item[1]].strip()[:_MAX_EVIDENCE]


# --- attendance lists -------------------------------------------------------------


def _block_lines(text: str, start: int) -> list[tuple[int, int]]:
    """Line spans after a heading, up to the first blank line (after at least one entry)."""
    lines: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]*", text[start:]):
        if line.start() > 0 and text[start + line.start() - 1] != "\n":
            continue
        content = line.group()
        if not content.strip():
            if lines:
                break
            continue
        lines.append((start + line.start(), start + line.end()))
        if len(lines) >= 60:
            break
    return lines


def _inline_items(text: str, start: int) -> tuple[int, list[tuple[int, int]]]:
    """Items of a comma/semicolon/"and" separated list from ``start`` to the sentence end."""
    line_end = text.find("\n", start)
    line_end = len(text) if line_end < 0 else line_end
    # Mask parentheses so "(Petrobras, oil company)" neither splits nor ends the list.
    segment = text[start:line_end]
    masked = re.sub(r"\([^()]*\)", lambda m: "_" * len(m.group()), segment)
    end = len(masked)
    for stop in re.finditer(r"\.(?=\s+[A-Z]|\s*$)", masked):
        token = re.search(r"(\S+)$", masked[: stop.start()])
        word = (token.group(1) if token else "").lower()
        if word in _ABBREVIATIONS or len(word) <= 1:
            continue
        end = stop.start()
        break
    items: list[tuple[int, int]] = []
    pos = 0
    for sep in re.finditer(r"\s*(?:;|,(?:\s+and\b)?|\band\b)\s*", masked[:end]):
        items.append((start + pos, start + sep.start()))
        pos = sep.end()
    items.append((start + pos, start + end))
    return start + end, [(a, b) for a, b in items if b > a]


def attendance_list(text: str) -> list[Attendee]:
    """People named in attendance blocks and "present: ..." lists, in order, each once."""
    found: list[Attendee] = []
    for heading in _HEADING.finditer(text):
        for a, b in _block_lines(text, heading.end() + 1):
            name = _person_line(text[a:b])
            if name:
                found.append(Attendee(name=name, role=None, evidence=text[a:b].strip()))
    spans = sentences(text)
    for pattern in (_INLINE, _PRESENT_WERE):
        for match in pattern.finditer(text):
            if _HEADING.match(text, text.rfind("\n", 0, match.start()) + 1):
                continue  # a block heading, handled above
            _, items = _inline_items(text, match.end())
            sentence = next(((a, b) for a, b in spans if a <= match.start() < b), None)
            for a, b in items:
                raw = text[a:b]
                name = _person_line(re.sub(r"\s*\(.*", "", raw.strip()))
                if not name:
                    continue
                if sentence and sentence[1] >= b:
                    evidence = _evidence(text, sentence[0], sentence[1], (a, b))
                else:
                    evidence = raw.strip()
                found.append(Attendee(name=name, role=None, evidence=evidence))
    return _unique(found)


# --- meeting sentences ------------------------------------------------------------


def meeting_sentences(text: str) -> list[Attendee]:
    """The people of "<A> met with <B>, <C> and <D>" sentences (subject and objects)."""
    found: list[Attendee] = []
    for a, b in sentences(text):
        sentence = text[a:b]
        match = _MET.search(sentence)
        if not match:
            continue
        people: list[tuple[str, str | None]] = []
        before = sentence[: match.start()].split()
        # The subject must end right before the verb ("... Jane Roe met"), or it is
        # an apposition we cannot read safely ("Roe, the Minister of X, met").
        subject_run: list[str] = []
        for token in reversed(before):
            if (_is_capitalised(token) or re.fullmatch(r"[A-Z]\.", token)) and not token.endswith(
                ","
            ):
                subject_run.insert(0, token)
            elif token.lower() in _CONNECTORS and subject_run:
                subject_run.insert(0, token)
            else:
                break
        while subject_run and subject_run[0].lower() in _CONNECTORS:
            subject_run.pop(0)
        subject = _split_name(subject_run) if subject_run else None
        if subject:
            people.append(subject)
        rest = sentence[match.end() :]
        for segment in re.split(r",\s*(?:and\s+)?|\s+and\s+", rest):
            tokens = segment.split()
            if not tokens:
                continue
            if not (_is_capitalised(tokens[0]) or tokens[0].lower() == "the"):
                break  # the list of people has ended ("whom he welcomed ...")
            run = _leading_run(tokens)
            person = _split_name(run) if run else None
            if person:
                people.append(person)
        evidence = sentence.strip()
        if len(evidence) > _MAX_EVIDENCE:
            # A long sentence: quote it up to the last name found, which says it all.
            last = max((evidence.rfind(name) + len(name) for name, _ in people), default=0)
            evidence = evidence[:last]
        if not evidence or len(evidence) > _MAX_EVIDENCE:
            continue
        for name, role in people:
            found.append(Attendee(name=name, role=role, evidence=evidence))
    return _unique(found)


def _unique(people: list[Attendee]) -> list[Attendee]:
    seen: set[str] = set()
    unique = []
    for person in people:
        key = fold(person.name)
        if key and key not in seen:
            seen.add(key)
            unique.append(person)
    return unique


# --- attribution --------------------------------------------------------------------


def attributed_only(text: str, name: str) -> bool:
    """Whether every sentence naming ``name`` only attributes the text to them.

    "This readout is attributed to Press Officer Jane Roe:" names the person who
    reports on the meeting; unless another sentence shows them in it, they are
    not a participant.
    """
    words = fold(name).split()
    if not words:
        return False
    surname = words[-1]
    pattern = re.compile(rf"(?<![^\W_]){re.escape(surname)}(?![^\W_])")
    naming = [text[a:b] for a, b in sentences(text) if pattern.search(fold(text[a:b]))]
    if not naming:
        return False
    return all(_ATTRIBUTION.search(s) and not _MEETING_VERB.search(s) for s in naming)
