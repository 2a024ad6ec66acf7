"""Tests for summarizer.inputs: every format, every bad input, and fuzzing."""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from summarizer.errors import (
    DecodeError,
    EmptyInputError,
    InputError,
    InputTooLargeError,
    MalformedInputError,
    UnsupportedInputError,
)
from summarizer.inputs import (
    DEFAULT_MAX_BYTES,
    Document,
    decode_bytes,
    document_from_text,
    load_document,
)

FIXTURES = Path(__file__).parent / "fixtures"


def _one_line(err: pytest.ExceptionInfo[InputError]) -> str:
    message = str(err.value)
    assert message
    assert "\n" not in message
    return message


def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path


# --- fixtures parse into the expected lines --------------------------------------------


def test_board_meeting_text_is_kept_as_written() -> None:
    doc = load_document(FIXTURES / "board_meeting.txt")
    raw = (FIXTURES / "board_meeting.txt").read_text(encoding="utf-8")
    assert doc == Document(text=raw.strip("\n"), name="board_meeting.txt", format="text")
    assert doc.text.startswith("RIVERSIDE, Tuesday 14 March 2023 -- ")
    assert "Priya Natarajan will circulate the revised budget by 31 March 2023." in doc.text
    assert "the mayor, Daniel Okafor," in doc.text


def test_ministers_news_text() -> None:
    doc = load_document(str(FIXTURES / "ministers_news.txt"))
    assert doc.format == "text"
    assert doc.text.startswith("VALDORIA CITY, March 1 (Northwind Press) -- ")
    assert "2024" in doc.text
    assert "President Aurelio Vance and President Sigrun Halvorsen" in doc.text


def test_vtt_fixture() -> None:
    doc = load_document(FIXTURES / "standup.vtt")
    assert doc.format == "vtt"
    assert doc.name == "standup.vtt"
    lines = doc.text.split("\n")
    assert lines[0] == (
        "[00:00:01] Aisha Rahman: Morning everyone, let's keep this short. "
        "Marco, you were on the refund queue bug yesterday?"
    )
    # Same speaker, consecutive cues: joined, first timestamp kept.
    assert lines[1] == (
        "[00:00:10] Marco Bellini: Yes. The retries were firing twice because the timeout "
        "was too short. I have a fix ready for review."
    )
    # <v.class Name> voice tag.
    assert lines[2].startswith("[00:00:20] Aisha Rahman: Good. Then we ship the fix on Thursday")
    # <c> tags stripped, entities unescaped, a colon inside a voiced cue is not a speaker.
    assert "blocked on the sandbox credentials for the card provider." in lines[3]
    assert lines[5] == (
        "[00:00:42] Marco Bellini: One more thing: the dashboard alerts are noisy & mostly false."
    )
    assert len(lines) == 7
    # The NOTE block and header metadata are skipped; no tags survive.
    assert "NOTE" not in doc.text
    assert "Kind:" not in doc.text
    assert "<" not in doc.text


def test_srt_fixture() -> None:
    doc = load_document(FIXTURES / "standup.srt")
    assert doc.format == "srt"
    assert doc.text.split("\n") == [
        "[00:00:01] Aisha Rahman: Morning everyone, quick stand-up today.",
        "[00:00:04] Marco Bellini: I finished the refund queue fix, it is waiting for review.",
        "[00:00:09] Chen Wei: I can review it after lunch.",
        "[00:00:13] Aisha Rahman: Then we release the fix on Thursday so QA has a day to test it.",
        "[00:00:18] Chen Wei: I'm still blocked on the sandbox credentials.",
        "[00:00:22] Aisha Rahman: I'll chase the card provider by Wednesday.",
        "[00:00:26] Marco Bellini: Nothing else from me.",
    ]


def test_json_fixture() -> None:
    doc = load_document(FIXTURES / "standup.json")
    assert doc.format == "json"
    lines = doc.text.split("\n")
    assert len(lines) == 8
    assert lines[0] == "[00:00:01] Aisha Rahman: Morning everyone, let's keep this short."
    assert lines[1] == "[00:00:05] Marco Bellini: The refund queue fix is ready for review."
    assert lines[3].startswith("[00:00:15] Aisha Rahman: Then we ship the fix on Thursday")
    assert lines[-1] == "[00:00:38] Aisha Rahman: Thanks, all."


def test_utf16_with_bom_is_accepted() -> None:
    doc = load_document(FIXTURES / "bad" / "utf16.txt")
    assert doc.text == (
        "Lumen Freight retro, 2 June 2023\nJosé Ortega: we agreed to keep the café budget."
    )


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_both_byte_orders(tmp_path: Path, encoding: str) -> None:
    bom = b"\xff\xfe" if encoding.endswith("le") else b"\xfe\xff"
    path = _write(tmp_path, "notes.md", bom + "Ünïcode notes\n".encode(encoding))
    assert load_document(path).text == "Ünïcode notes"


def test_sha256_is_of_the_normalised_text() -> None:
    doc = document_from_text("a\r\nb  \r\n\r\n")
    assert doc.text == "a\nb"
    assert doc.sha256 == hashlib.sha256(b"a\nb").hexdigest()
    assert len(doc.sha256) == 64


# --- normalisation ----------------------------------------------------------------------


def test_plain_text_normalisation(tmp_path: Path) -> None:
    content = "\ufeff\n\n  \r\nFirst line   \r\nsecond\tline\t\rthird\n\n\n   \n"
    path = _write(tmp_path, "notes.txt", content.encode("utf-8"))
    doc = load_document(path)
    assert doc.text == "First line\nsecond\tline\nthird"
    assert doc.name == "notes.txt"


def test_utf8_bom_is_stripped() -> None:
    assert decode_bytes(b"\xef\xbb\xbfhello", source="x") == "hello"


def test_extension_is_case_insensitive(tmp_path: Path) -> None:
    path = _write(tmp_path, "MINUTES.TXT", "Minutes.")
    assert load_document(path).format == "text"


@pytest.mark.parametrize("ext", [".txt", ".md", ".text"])
def test_text_extensions(tmp_path: Path, ext: str) -> None:
    assert load_document(_write(tmp_path, f"notes{ext}", "# Notes\n")).format == "text"


# --- stdin ----------------------------------------------------------------------------------


def test_stdin_plain_text() -> None:
    doc = load_document("-", stdin=io.BytesIO(b"Budget review.\r\nAll agreed.\r\n"))
    assert doc == Document(text="Budget review.\nAll agreed.", name="<stdin>", format="text")


def test_stdin_sniffs_vtt() -> None:
    data = (FIXTURES / "standup.vtt").read_bytes()
    doc = load_document("-", stdin=io.BytesIO(data))
    assert doc.format == "vtt"
    assert doc.text == load_document(FIXTURES / "standup.vtt").text


def test_stdin_sniffs_srt() -> None:
    data = (FIXTURES / "standup.srt").read_bytes()
    doc = load_document("-", stdin=io.BytesIO(data))
    assert doc.format == "srt"
    assert doc.text.startswith("[00:00:01] Aisha Rahman: Morning everyone")


def test_stdin_sniffs_json() -> None:
    data = (FIXTURES / "standup.json").read_bytes()
    doc = load_document("-", stdin=io.BytesIO(data))
    assert doc.format == "json"
    assert doc.text == load_document(FIXTURES / "standup.json").text


def test_stdin_json_of_another_shape_is_text() -> None:
    doc = load_document("-", stdin=io.BytesIO(b'{"weather": "sunny"}'))
    assert doc.format == "text"
    assert doc.text == '{"weather": "sunny"}'


def test_stdin_bracketed_transcript_is_text() -> None:
    doc = load_document("-", stdin=io.BytesIO(b"[00:01] Ana: hi\n[00:02] Ben: hello\n"))
    assert doc.format == "text"


def test_stdin_over_limit_reads_at_most_limit_plus_one() -> None:
    stream = io.BytesIO(b"x" * 100)
    with pytest.raises(InputTooLargeError) as err:
        load_document("-", stdin=stream, max_bytes=10)
    assert stream.tell() == 11
    message = _one_line(err)
    assert "<stdin>" in message
    assert "10 bytes" in message


def test_stdin_exactly_at_limit_is_fine() -> None:
    assert load_document("-", stdin=io.BytesIO(b"x" * 10), max_bytes=10).text == "x" * 10


class _Trickle(io.RawIOBase):
    """A raw stream that returns one byte per read, like a slow pipe."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk, self._data = self._data[:1], self._data[1:]
        return chunk


def test_stdin_short_reads_are_completed() -> None:
    doc = load_document("-", stdin=_Trickle(b"slow pipe"))  # type: ignore[arg-type]
    assert doc.text == "slow pipe"
    with pytest.raises(InputTooLargeError):
        load_document("-", stdin=_Trickle(b"slow pipe"), max_bytes=4)  # type: ignore[arg-type]


def test_stdin_read_error_is_input_error() -> None:
    stream = io.BytesIO(b"closed")
    stream.close()
    with pytest.raises(InputError) as err:
        load_document("-", stdin=stream)
    _one_line(err)


def test_path_named_dash_is_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as err:
        load_document(Path("-"), stdin=io.BytesIO(b"not read"))
    assert "no such file" in _one_line(err)


# --- document_from_text -------------------------------------------------------------------


def test_document_from_text_defaults() -> None:
    doc = document_from_text("  Minutes of the meeting.  \n")
    assert doc == Document(text="  Minutes of the meeting.", name="<text>", format="text")


def test_document_from_text_forced_format() -> None:
    vtt = "WEBVTT\n\n00:01.000 --> 00:02.000\nAna: hello\n"
    doc = document_from_text(vtt, name="call-1", format="vtt")
    assert doc == Document(text="[00:00:01] Ana: hello", name="call-1", format="vtt")
    # Forced text keeps a VTT as it is.
    assert document_from_text(vtt, format="text").text == vtt.strip()


def test_document_from_text_sniffs() -> None:
    assert document_from_text("WEBVTT\n\n00:01.000 --> 00:02.000\nhi").format == "vtt"
    assert document_from_text("1\n00:00:01,000 --> 00:00:02,000\nhi").format == "srt"
    assert document_from_text('[{"speaker": "A", "text": "hi"}]').format == "json"
    assert document_from_text("just text").format == "text"


def test_evaluation_data_record_is_plain_text() -> None:
    record = {"id": "case-7", "kind": "minutes", "text": "Meeting of 1 May.\r\n\r\nAll agreed.\n"}
    doc = document_from_text(json.dumps(record), name="case-7", format="json")
    assert doc == Document(text="Meeting of 1 May.\n\nAll agreed.", name="case-7", format="json")
    assert document_from_text(json.dumps(record)).format == "json"


def test_unknown_forced_format() -> None:
    with pytest.raises(UnsupportedInputError) as err:
        document_from_text("hi", format="docx")  # type: ignore[arg-type]
    assert "docx" in _one_line(err)


# --- VTT details ------------------------------------------------------------------------------


def test_vtt_speaker_from_name_prefix_and_no_speaker() -> None:
    vtt = (
        "WEBVTT\n\n"
        "00:00:01.000 --> 00:00:02.000\nAna Diaz: we start now\n\n"
        "00:00:03.000 --> 00:00:04.000\n<i>[applause]</i>\n\n"
        "00:00:05.000 --> 00:00:06.000\n[applause continues]\n\n"
        "01:02:03.999 --> 01:02:05.000\n<v Ben>late <00:00:04.500>words</v>\n"
    )
    assert document_from_text(vtt, format="vtt").text.split("\n") == [
        "[00:00:01] Ana Diaz: we start now",
        "[00:00:03] [applause]",
        "[00:00:05] [applause continues]",
        "[01:02:03] Ben: late words",
    ]


def test_vtt_two_voices_in_one_cue_and_multiline() -> None:
    vtt = (
        "WEBVTT\n\n"
        "id-1\n00:00:01.000 --> 00:00:03.000\n<v Ana>Shall we?</v>\n<v Ben>Yes,\nlet's go.</v>\n"
    )
    assert document_from_text(vtt, format="vtt").text.split("\n") == [
        "[00:00:01] Ana: Shall we?",
        "[00:00:01] Ben: Yes, let's go.",
    ]


def test_vtt_skips_note_style_region_and_cue_under_header() -> None:
    vtt = (
        "WEBVTT - with a title\n"
        "00:00:01.000 --> 00:00:02.000\n"
        "<v Ana>first</v>\n\n"
        "STYLE\n::cue { color: red }\n\n"
        "REGION\nid:fred\n\n"
        "NOTE this is\na comment\n\n"
        "00:00:03.000 --> 00:00:04.000\n<v Ben>second</v>\n"
    )
    assert document_from_text(vtt, format="vtt").text == (
        "[00:00:01] Ana: first\n[00:00:03] Ben: second"
    )


def test_vtt_same_speaker_not_joined_across_other_speaker() -> None:
    vtt = (
        "WEBVTT\n\n"
        "00:01.000 --> 00:02.000\n<v Ana>one</v>\n\n"
        "00:03.000 --> 00:04.000\n<v Ana>two</v>\n\n"
        "00:05.000 --> 00:06.000\n<v Ben>three</v>\n\n"
        "00:07.000 --> 00:08.000\n<v Ana>four</v>\n"
    )
    assert document_from_text(vtt, format="vtt").text.split("\n") == [
        "[00:00:01] Ana: one two",
        "[00:00:05] Ben: three",
        "[00:00:07] Ana: four",
    ]


def test_vtt_cues_with_no_text_are_empty() -> None:
    with pytest.raises(EmptyInputError) as err:
        document_from_text("WEBVTT\n\n00:01.000 --> 00:02.000\n<i></i>\n", format="vtt")
    _one_line(err)


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("Hello\n\n00:01.000 --> 00:02.000\nhi\n", "WEBVTT"),
        ("WEBVTTX\n\n00:01.000 --> 00:02.000\nhi\n", "WEBVTT"),
        ("WEBVTT\n", "no WebVTT cues"),
        ("WEBVTT\n\nNOTE only a note\n", "no WebVTT cues"),
        ("WEBVTT\n\njust some words\n", "line 3"),
        ("WEBVTT\n\n1\n00:00:01 --> 00:00:02\nhi\n", "line 4"),
        ("WEBVTT\n\n00:00:01.000 --> 00:99:02.000\nhi\n", "line 3"),
    ],
)
def test_malformed_vtt(tmp_path: Path, content: str, needle: str) -> None:
    path = _write(tmp_path, "call.vtt", content)
    with pytest.raises(MalformedInputError) as err:
        load_document(path)
    message = _one_line(err)
    assert needle in message
    assert str(path) in message


def test_malformed_vtt_fixture() -> None:
    with pytest.raises(MalformedInputError) as err:
        load_document(FIXTURES / "bad" / "malformed.vtt")
    assert "line 3: expected a cue timing line" in _one_line(err)


# --- SRT details ------------------------------------------------------------------------------


def test_srt_without_speaker_and_stray_blank_line() -> None:
    srt = (
        "1\r\n00:00:01,000 --> 00:00:02,000\r\n(door closes)\r\n\r\n"
        "2\r\n00:00:03,000 --> 00:00:05,000\r\n- Ana: Are we ready?\r\n- Ben: Almost.\r\n\r\n"
        "and one more line after a stray blank\r\n\r\n"
        '3\r\n01:00:00,000 --> 01:00:01,000\r\n{\\an8}<font color="#fff">Ben: done</font>\r\n'
    )
    assert document_from_text(srt, format="srt").text.split("\n") == [
        "[00:00:01] (door closes)",
        "[00:00:03] Ana: Are we ready?",
        "[00:00:03] Ben: Almost. and one more line after a stray blank",
        "[01:00:00] Ben: done",
    ]


def test_srt_colon_without_space_is_not_a_speaker() -> None:
    srt = "1\n00:00:01,000 --> 00:00:02,000\nSee https://example.org at 10:30\n"
    assert document_from_text(srt, format="srt").text == (
        "[00:00:01] See https://example.org at 10:30"
    )


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("This is not a subtitle file.\nAt all.\n", "line 1"),
        ("\n\n1\n00:00:01 --> 00:00:02\nhi\n", "line 4"),
        ("1\n00:00:01,000 --> 00:00:02,000\nhi\n\n2\n00:00:03,000 --> soon\nho\n", "line 6"),
        ("1\n00:00:01,000 --> 00:00:02,000\nhi\n\nx\ny --> z\n", "line 5"),
    ],
)
def test_malformed_srt(tmp_path: Path, content: str, needle: str) -> None:
    with pytest.raises(MalformedInputError) as err:
        load_document(_write(tmp_path, "call.srt", content))
    assert needle in _one_line(err)


# --- JSON details -----------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["utterances", "segments", "transcript"])
def test_json_list_under_key(key: str) -> None:
    data = {"meeting": "x", key: [{"speaker": " Ana  Diaz ", "text": "Hi\nthere", "start": 61}]}
    doc = document_from_text(json.dumps(data), format="json")
    assert doc.text == "[00:01:01] Ana Diaz: Hi there"


def test_json_without_start_and_with_null_start() -> None:
    data = [
        {"speaker": "Ana", "text": "one"},
        {"speaker": "Ana", "text": "two", "start": None},
        {"speaker": "Ben", "text": "   "},
        {"speaker": "Ben", "text": "three", "start": "1:02:03", "end": 9},
        {"speaker": "Ben", "text": "four", "start": "02:03.5"},
    ]
    assert document_from_text(json.dumps(data), format="json").text.split("\n") == [
        "Ana: one",
        "Ana: two",
        "[01:02:03] Ben: three",
        "[00:02:03] Ben: four",
    ]


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ('[{"speaker": "A", "text": "hi"},]', "line 1, column"),
        ("{\n  \"text\": 'single quotes'\n}", "line 2, column 11"),
        ('[{"speaker": "A", "text": "hi", "start": NaN}]', "NaN"),
        ("[" * 100_000 + "]" * 100_000, "JSON"),
        ("7", "number at top level"),
        ('"just a string"', "string at top level"),
        ("null", "null at top level"),
        ('{"id": 3}', "expected a list of utterances"),
        ('{"text": 3}', '"text" must be a string'),
        ('{"segments": {"speaker": "A"}}', '"segments" must be a list'),
        ('[{"speaker": "A", "text": "hi"}, "oops"]', "utterance 1 ([1]) must be an object"),
        ('{"utterances": [{"text": "hi"}]}', 'utterance 0 (utterances[0]) has no "speaker"'),
        ('[{"speaker": "A"}]', 'has no "text"'),
        ('[{"speaker": 5, "text": "hi"}]', '"speaker" must be a string, not a number'),
        ('[{"speaker": "A", "text": ["hi"]}]', '"text" must be a string, not a list'),
        ('[{"speaker": "  ", "text": "hi"}]', '"speaker" is empty'),
        ('[{"speaker": "A", "text": "hi", "start": -1}]', "non-negative"),
        ('[{"speaker": "A", "text": "hi", "start": true}]', "not a boolean"),
        ('[{"speaker": "A", "text": "hi", "start": "noon"}]', '"start" must be seconds'),
        ('[{"speaker": "A", "text": "hi", "start": "00:61:00"}]', "60 or more"),
        ('[{"speaker": "A", "text": "hi", "start": 1e999}]', "non-negative"),
        ('[{"speaker": "A", "text": "hi", "start": 1' + "0" * 400 + "}]", "too large"),
        ("[" + "1" * 5000 + "]", "invalid JSON"),
    ],
)
def test_malformed_json(tmp_path: Path, content: str, needle: str) -> None:
    with pytest.raises(MalformedInputError) as err:
        load_document(_write(tmp_path, "call.json", content))
    message = _one_line(err)
    assert needle in message
    assert "call.json" in message


def test_not_json_fixture() -> None:
    with pytest.raises(MalformedInputError) as err:
        load_document(FIXTURES / "bad" / "not_json.json")
    assert "line 3, column" in _one_line(err)


@pytest.mark.parametrize(
    "content",
    ["[]", '{"utterances": []}', '[{"speaker": "A", "text": " "}]', '{"text": " \\n "}'],
)
def test_json_without_text_is_empty(content: str) -> None:
    with pytest.raises(EmptyInputError) as err:
        document_from_text(content, format="json")
    _one_line(err)


# --- bad inputs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content", [b"", b"   \n\t\r\n  ", b"\xef\xbb\xbf", b"\xff\xfe \x00\n\x00"]
)
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    with pytest.raises(EmptyInputError) as err:
        load_document(_write(tmp_path, "notes.txt", content))
    assert "empty" in _one_line(err)


@pytest.mark.parametrize("name", ["call.vtt", "call.srt", "call.json"])
def test_empty_structured_file(tmp_path: Path, name: str) -> None:
    with pytest.raises(EmptyInputError):
        load_document(_write(tmp_path, name, "\n \n"))


def test_empty_stdin() -> None:
    with pytest.raises(EmptyInputError):
        load_document("-", stdin=io.BytesIO(b""))


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"text with a \x00 NUL",
        b"\x01\x02\x03\x04\x05\x06 abc",
        "\ufeffUTF-16 with a NUL\x00".encode("utf-16"),
    ],
)
def test_binary_data(tmp_path: Path, content: bytes) -> None:
    with pytest.raises(UnsupportedInputError) as err:
        load_document(_write(tmp_path, "notes.txt", content))
    assert "binary data" in _one_line(err)


def test_binary_text_in_memory() -> None:
    with pytest.raises(UnsupportedInputError):
        document_from_text("abc\x00def")


def test_some_control_characters_are_fine() -> None:
    text = "Page one\fPage two\x0bwith a vertical tab and a lot more ordinary words here"
    assert "\f" in document_from_text(text).text


@pytest.mark.parametrize(
    ("content", "offset"),
    [
        (b"caf\xe9 au lait", 3),
        (b"\xef\xbb\xbfcaf\xe9", 6),
        (b"ok \xe2\x82", 3),
        (b"\xc0\xaf", 0),
    ],
)
def test_invalid_utf8(tmp_path: Path, content: bytes, offset: int) -> None:
    with pytest.raises(DecodeError) as err:
        load_document(_write(tmp_path, "notes.txt", content))
    message = _one_line(err)
    assert f"byte offset {offset}" in message
    assert "UTF-8" in message


@pytest.mark.parametrize(
    "content",
    [b"\xff\xfea\x00b", b"\xfe\xff\xd8\x00\x00a", b"\xff\xfe\x00\x00a\x00\x00\x00"],
)
def test_invalid_utf16_or_utf32(content: bytes) -> None:
    with pytest.raises(DecodeError) as err:
        decode_bytes(content, source="x.txt")
    assert str(err.value).startswith("x.txt: ")
    _one_line(err)


def test_file_over_max_bytes(tmp_path: Path) -> None:
    path = _write(tmp_path, "notes.txt", "x" * 2048)
    with pytest.raises(InputTooLargeError) as err:
        load_document(path, max_bytes=1024)
    message = _one_line(err)
    assert "2,048 bytes" in message
    assert "1,024 bytes" in message
    assert load_document(path, max_bytes=2048).text == "x" * 2048


def test_default_limit_is_five_mib() -> None:
    assert DEFAULT_MAX_BYTES == 5 * 1024 * 1024


def test_size_is_checked_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, "notes.txt", "x" * 100)

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("the file must not be opened")

    monkeypatch.setattr(Path, "open", boom)
    with pytest.raises(InputTooLargeError):
        load_document(path, max_bytes=10)


@pytest.mark.parametrize("name", ["slides.pdf", "notes.docx", "archive.tar.gz", "README"])
def test_unsupported_extension(tmp_path: Path, name: str) -> None:
    path = _write(tmp_path, name, "hello")
    with pytest.raises(UnsupportedInputError) as err:
        load_document(path)
    message = _one_line(err)
    assert ".txt" in message
    assert ".vtt" in message
    if "." in name:
        assert name.rsplit(".", 1)[1] in message
    else:
        assert "no file extension" in message


def test_folder(tmp_path: Path) -> None:
    folder = tmp_path / "minutes.txt"
    folder.mkdir()
    with pytest.raises(UnsupportedInputError) as err:
        load_document(folder)
    assert "is a directory" in _one_line(err)


@pytest.mark.parametrize("name", ["nope.txt", "nope.pdf", "missing/dir/notes.txt"])
def test_missing_path(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputError) as err:
        load_document(tmp_path / name)
    assert type(err.value) is InputError
    assert "no such file" in _one_line(err)


def test_file_under_a_file(tmp_path: Path) -> None:
    parent = _write(tmp_path, "notes.txt", "x")
    with pytest.raises(InputError) as err:
        load_document(parent / "child.txt")
    _one_line(err)


def test_path_with_nul_byte() -> None:
    with pytest.raises(InputError) as err:
        load_document("bad\x00name.txt")
    _one_line(err)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read anything"
)
def test_unreadable_file_real_permissions(tmp_path: Path) -> None:
    path = _write(tmp_path, "secret.txt", "x")
    path.chmod(0)
    try:
        with pytest.raises(InputError) as err:
            load_document(path)
        assert "permission denied" in _one_line(err)
    finally:
        path.chmod(0o600)


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, "secret.txt", "x")

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", denied)
    with pytest.raises(InputError) as err:
        load_document(path)
    assert type(err.value) is InputError
    assert "permission denied" in _one_line(err)


def test_error_source_is_the_path(tmp_path: Path) -> None:
    path = _write(tmp_path, "empty.md", "")
    with pytest.raises(EmptyInputError) as err:
        load_document(path)
    assert err.value.source == str(path)
    assert str(err.value).startswith(f"{path}: ")


def test_errors_do_not_quote_the_document(tmp_path: Path) -> None:
    secret = "TOP-SECRET-PAYLOAD"
    bad = [
        ("a.vtt", f"WEBVTT\n\n{secret}\n"),
        ("a.srt", f"{secret}\n"),
        ("a.json", f'{{"x": "{secret}"}}'),
        ("a.json", f'[{{"speaker": "A", "text": "hi", "start": "{secret}"}}]'),
    ]
    for name, content in bad:
        with pytest.raises(InputError) as err:
            load_document(_write(tmp_path, name, content))
        assert secret not in str(err.value)


# --- property tests -------------------------------------------------------------------------------

_FORMATS = st.sampled_from(["text", "vtt", "srt", "json", None])

_CAPTIONISH = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "WEBVTT",
                "NOTE",
                "1",
                "",
                "-->",
                "00:00:01.000 --> 00:00:02.000",
                "00:00:01,000 --> 00:00:02,000",
                "99:99:99.999 --> 00:00:00.000",
                "<v Ana>hello</v>",
                "<v.x>",
                "Ana: hi",
                "- Ben: yo",
                "<c.x><i>",
                "&amp;&#0;&#x110000;",
                "{\\an8}",
                '[{"speaker": "A", "text": "t", "start": 1}]',
                '{"segments": [{"speaker": "A", "text": "t"}]}',
                '{"text": "x"}',
            ]
        ),
        st.text(max_size=30),
    ),
    max_size=25,
).map("\n".join)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_decode_bytes_raises_only_input_errors(data: bytes) -> None:
    try:
        text = decode_bytes(data, source="fuzz")
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    assert isinstance(text, str)
    try:
        document_from_text(text)
    except InputError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([".txt", ".vtt", ".srt", ".json"]))
def test_random_files_raise_only_input_errors(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, ext: str
) -> None:
    path = tmp_path_factory.getbasetemp() / f"fuzz{ext}"
    path.write_bytes(data)
    try:
        doc = load_document(path)
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    assert doc.text == doc.text.strip("\n")
    assert doc.text.strip()


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_stdin_raises_only_input_errors(data: bytes) -> None:
    try:
        load_document("-", stdin=io.BytesIO(data), max_bytes=200)
    except InputError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400), _FORMATS)
def test_random_text_raises_only_input_errors(text: str, fmt: str | None) -> None:
    try:
        doc = document_from_text(text, format=fmt)  # type: ignore[arg-type]
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    assert "\r" not in doc.text
    assert all(line == line.rstrip() for line in doc.text.split("\n"))


@settings(max_examples=200, deadline=None)
@given(_CAPTIONISH, _FORMATS)
def test_caption_like_text_raises_only_input_errors(text: str, fmt: str | None) -> None:
    try:
        doc = document_from_text(text, format=fmt)  # type: ignore[arg-type]
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    assert doc.text.strip()


_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=10)
    | st.sampled_from(["speaker", "text", "start", "00:00:01", "1:2:3"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["speaker", "text", "start", "utterances", "segments", "transcript", "id"]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(_JSON_VALUES)
def test_random_json_raises_only_input_errors(value: object) -> None:
    try:
        document_from_text(json.dumps(value), format="json")
    except InputError as exc:
        assert "\n" not in str(exc)


def test_vtt_joining_stops_at_a_pause_and_at_the_length_cap() -> None:
    word = "x" * 99
    cues = [(1, word), (5, word), (60, "after a pause")]
    cues += [(61 + i, word) for i in range(12)]
    vtt = "WEBVTT\n\n" + "\n\n".join(
        f"00:{s // 60:02d}:{s % 60:02d}.000 --> 00:{s // 60:02d}:{s % 60:02d}.500\n<v Ana>{t}"
        for s, t in cues
    )
    lines = document_from_text(vtt, format="vtt").text.split("\n")
    assert lines[0] == f"[00:00:01] Ana: {word} {word}"
    assert lines[1].startswith("[00:01:00] Ana: after a pause x")
    assert all(len(line) < 1100 for line in lines)
    assert len(lines) == 3
