"""Where and when, from the fixed places documents state them.

- a heading line "Lakeport, March 3, 1961, 10:30 a.m." (memoranda, minutes):
  the place, and the date (the year is written out);
- a news dateline "MOSCOW, Feb. 22 (Xinhua) --" or "BRASÍLIA, Brazil – ...": the
  place only, since a dateline rarely carries the year and a year is never guessed;
- a meeting sentence "... met [today] in Berlin with ..." / "... met with X in New
  York City": the place named right after the verb or after the people.

Used only to fill a location or date the model left empty; every value is
copied from the text, so it stays a grounded mention.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

__all__ = ["header_date", "header_place", "meeting_place"]

_MONTHS = "|".join(calendar.month_name[1:])
_HEADER = re.compile(
    rf"^[ \t]*(?P<place>[A-Z][^\d,\n]{{1,60}}?),[ \t]+(?P<month>{_MONTHS})[ \t]+(?P<day>\d{{1,2}}),"
    r"[ \t]+(?P<year>\d{4})\b",
    re.MULTILINE,
)
_DATELINE = re.compile(
    r"^[ \t]*(?P<place>[A-ZÀ-Þ][A-ZÀ-Þ .'-]{2,40}?),[ \t]+[^\n]{0,60}?(?:\s--|\s–|\s—)\s",
    re.MULTILINE,
)
_HEADER_LINES = 8
_CAPITALISED = r"[A-Z][\w'’-]*(?:\s+(?:of|the|de|do|da|del)\s+[A-Z][\w'’-]*|\s+[A-Z][\w'’-]*)*"
_PLACE_AFTER = re.compile(
    rf"\b(?:met|meets|held talks|had lunch|had dinner)\b[^.\n]{{0,200}}?\s(?:in|at)\s+(?:the\s+)?"
    rf"(?P<place>{_CAPITALISED}(?:,\s+(?:[A-Z]\.){{2,}}|,\s+[A-Z][a-z]+(?=[.\s]))?)"
)


def _head(text: str) -> str:
    return "\n".join(text.splitlines()[:_HEADER_LINES])


def header_place(text: str) -> str | None:
    """The place of a heading or dateline in the first lines, as written."""
    head = _head(text)
    match = _HEADER.search(head)
    if match:
        return match.group("place").strip()
    match = _DATELINE.search(head)
    if match and match.group("place").strip().isupper():
        return match.group("place").strip()
    return None


def header_date(text: str) -> str | None:
    """The ISO date of a "Place, Month D, YYYY" heading in the first lines."""
    match = _HEADER.search(_head(text))
    if not match:
        return None
    month = list(calendar.month_name).index(match.group("month"))
    try:
        day = dt.date(int(match.group("year")), month, int(match.group("day")))
    except ValueError:
        return None
    return day.isoformat()


def meeting_place(text: str) -> str | None:
    """The place named in the first "met ... in/at <Place>" sentence."""
    match = _PLACE_AFTER.search(text)
    if not match:
        return None
    place = match.group("place").strip()
    if place.split()[0] in {"PM", "AM", *calendar.month_name[1:], *calendar.day_name}:
        return None
    return place
