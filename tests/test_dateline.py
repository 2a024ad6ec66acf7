"""Places and dates from headings, datelines and meeting sentences (texts written for the tests)."""

from __future__ import annotations

from summarizer.dateline import header_date, header_place, meeting_place


def test_a_memorandum_heading_gives_place_and_date() -> None:
    text = "7. Memorandum of Conversation\nLake Hollow, October 2, 1961, 3 p.m.\n\nSUBJECT\nFish\n"
    assert header_place(text) == "Lake Hollow"
    assert header_date(text) == "1961-10-02"


def test_an_impossible_heading_date_is_no_date() -> None:
    assert header_date("Lake Hollow, February 30, 1961\n") is None


def test_a_news_dateline_gives_the_place_but_never_a_year() -> None:
    text = "Talks resume\n\nVALLETTA, Mar. 3 (Harbour News) -- The two ministers met on Friday.\n"
    assert header_place(text) == "VALLETTA"
    assert header_date(text) is None


def test_a_dateline_with_a_dash_and_a_country() -> None:
    text = "OSLO, Norway – The fisheries council met on Tuesday.\n"
    assert header_place(text) == "OSLO"


def test_an_ordinary_first_line_is_no_dateline() -> None:
    text = "Budget, staffing and rooms – notes of the weekly call.\nWe met on Monday.\n"
    assert header_place(text) is None


def test_the_place_of_a_meeting_sentence() -> None:
    assert meeting_place("Minister Ana Lima met today in Porto with Rui Dias.") == "Porto"
    text = "Deputy Mayor Kim Park met with Lee Moon today in Washington, D.C. They talked."
    assert meeting_place(text) == "Washington, D.C."
    text = "The minister met with the governor today at the Palace of Justice."
    assert meeting_place(text) == "Palace of Justice"


def test_a_time_or_a_month_after_met_is_no_place() -> None:
    assert meeting_place("The council met at 5 PM with the mayor.") is None
    assert meeting_place("The council met in March with the mayor.") is None
    assert meeting_place("Nobody was there.") is None
