"""Attendance lists, "met with" sentences and attribution lines, on texts written for the tests."""

from __future__ import annotations

from summarizer.attendance import attendance_list, attributed_only, meeting_sentences, sentences

MINUTES = """Memorandum of Conversation
Lisbon, March 4, 2031, 10:00 a.m.

SUBJECT
Harbour Treaty

PARTICIPANTS
NORTH
The Minister
Mr. Halvorsen
Dr. Ingrid Solberg, Legal Adviser
SOUTH
Ambassador Costa
Ms. Marta Pires (Treasury)

The Minister opened the meeting and Mr. Halvorsen presented the draft.
"""


def test_a_participants_block_gives_one_person_per_line_and_skips_group_labels() -> None:
    people = attendance_list(MINUTES)
    assert [p.name for p in people] == [
        "The Minister",
        "Mr. Halvorsen",
        "Dr. Ingrid Solberg",
        "Ambassador Costa",
        "Ms. Marta Pires",
    ]
    # The evidence is the whole list line, verbatim.
    assert people[2].evidence == "Dr. Ingrid Solberg, Legal Adviser"
    assert all(p.evidence in MINUTES for p in people)


def test_the_block_ends_at_the_first_blank_line() -> None:
    text = "Present:\nJane Roe\nJohn Doe\n\nLater Kim Park and Lee Moon arrived.\n"
    assert [p.name for p in attendance_list(text)] == ["Jane Roe", "John Doe"]


def test_an_inline_list_after_present_with_roles_in_parentheses() -> None:
    text = (
        "The mayor hosted a dinner for the visitors.\n"
        "Several councillors were present at the dinner: Ana Lima (Transport), "
        "Rui Dias (Finance, Budget), and Eva Moura (Culture). Also present were "
        "Tom Reis (harbour company director) and Sara Nunes (port authority).\n"
    )
    people = attendance_list(text)
    assert [p.name for p in people] == [
        "Ana Lima",
        "Rui Dias",
        "Eva Moura",
        "Tom Reis",
        "Sara Nunes",
    ]
    assert all(p.evidence in text for p in people)


def test_no_list_no_people() -> None:
    assert attendance_list("The committee discussed the budget. Nobody objected.\n") == []


def test_met_with_gives_the_subject_and_every_person_met_with_titles_as_roles() -> None:
    text = (
        "Trade Minister Oskar Lind met in Oslo with Finnish Foreign Minister Aino Virtanen, "
        "Danish Trade Secretary Mads Holm, and Director General for Fisheries and Ocean "
        "Affairs Petra Berg. They discussed quotas.\n"
    )
    people = meeting_sentences(text)
    assert [(p.name, p.role) for p in people] == [
        ("Oskar Lind", "Trade Minister"),
        ("Aino Virtanen", "Finnish Foreign Minister"),
        ("Mads Holm", "Danish Trade Secretary"),
        ("Petra Berg", "Ocean Affairs"),
    ]
    assert all(p.evidence in text for p in people)


def test_met_with_stops_where_the_list_of_people_ends() -> None:
    text = "Governor Blake met today with Mayor Ruth Ortiz, whom she thanked for the invitation.\n"
    assert [p.name for p in meeting_sentences(text)] == ["Blake", "Ruth Ortiz"]


def test_a_bare_country_after_met_with_is_not_a_person() -> None:
    text = "The delegation of Chile met with Peru on the border question.\n"
    assert meeting_sentences(text) == []


def test_an_apposition_before_met_is_not_taken_as_the_subject() -> None:
    text = "Karl Berg, the envoy of the union, met with Chancellor Anna Moser.\n"
    assert [p.name for p in meeting_sentences(text)] == ["Anna Moser"]


def test_sentences_do_not_break_after_titles_and_initials() -> None:
    text = "Mr. A. Smith met Dr. Jones in Washington, D.C. on Monday. They agreed.\n"
    spans = sentences(text)
    assert [text[a:b] for a, b in spans] == [
        "Mr. A. Smith met Dr. Jones in Washington, D.C. on Monday.",
        "They agreed.",
    ]


READOUT = """The following is attributed to Press Officer Lena Kraus:

Minister Tobias Frei met with Ambassador Nora Keller today in Bern.
"""


def test_a_person_named_only_in_the_attribution_line_is_attributed_only() -> None:
    assert attributed_only(READOUT, "Lena Kraus")
    assert not attributed_only(READOUT, "Tobias Frei")
    assert not attributed_only(READOUT, "Somebody Absent")


def test_a_spokesperson_who_also_took_part_is_not_attributed_only() -> None:
    text = READOUT + "Spokesperson Lena Kraus attended the meeting as note-taker.\n"
    assert not attributed_only(text, "Lena Kraus")
