"""Read a meeting document and turn it into the plain text the model sees.

A document comes from a path, from ``-`` (standard input) or from a string
already in memory. Whatever its format, it ends up as one normalised
:class:`Document` whose ``text`` is both what the model is given and what its
evidence quotes are checked against, so the normalisation here is the single
source of truth for grounding.

Formats:

* ``text`` (``.txt``, ``.md``, ``.text``): kept as written, newlines
  normalised.
* ``vtt`` (WebVTT) and ``srt`` (SubRip) captions: one line per cue,
  ``[HH:MM:SS] Speaker: text`` (or ``[HH:MM:SS] text`` when no speaker is
  known). Consecutive cues of the same speaker are joined into one line that
  keeps the first timestamp, so a sentence split across cues can still be
  quoted.
* ``json``: a list of utterances ``{"speaker", "text", "start"?}`` (bare, or
  under ``"utterances"``, ``"segments"`` or ``"transcript"``), one line each,
  ``[HH:MM:SS] Speaker: text`` or ``Speaker: text``; or an object with a string
  ``"text"`` field, read as plain text.

Every failure raises a subclass of :class:`~summarizer.errors.InputError` with
a one-line message that never quotes the document's content.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import os
import re
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal, get_args

from summarizer.errors import (
    DecodeError,
    EmptyInputError,
    InputError,
    InputTooLargeError,
    MalformedInputError,
    UnsupportedInputError,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "EXTENSIONS",
    "Document",
    "InputFormat",
    "decode_bytes",
    "document_from_text",
    "load_document",
]

DEFAULT_MAX_BYTES: int = 5 * 1024 * 1024
"""Largest document accepted by default, in bytes (5 MiB)."""

InputFormat = Literal["text", "vtt", "srt", "json"]

_FORMATS: tuple[str, ...] = get_args(InputFormat)

EXTENSIONS: dict[str, InputFormat] = {
    ".txt": "text",
    ".md": "text",
    ".text": "text",
    ".vtt": "vtt",
    ".srt": "srt",
    ".json": "json",
}
"""File extensions (lower case) that ``load_document`` reads, and their formats."""
_SUPPORTED_EXTENSIONS = ", ".join(sorted(EXTENSIONS))

_STDIN_NAME = "<stdin>"

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_LE_BOM = b"\xff\xfe"
_UTF16_BE_BOM = b"\xfe\xff"
_UTF32_LE_BOM = b"\xff\xfe\x00\x00"
_UTF32_BE_BOM = b"\x00\x00\xfe\xff"

# Control characters that do not belong in text: the C0 range except \t, \n, \r
# and \f, plus DEL and the C1 range. A document made mostly of them is binary.
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_MAX_CONTROL_SHARE = 0.10

# A joined run of same-speaker cues stops growing past this many characters so
# that timestamps stay useful in long monologues, and is not continued by a cue
# starting this many seconds after the previous one (a pause, a new topic).
_MAX_JOINED_CHARS = 1000
_MAX_JOIN_GAP_SECONDS = 30.0

# --- timestamps --------------------------------------------------------------

# WebVTT: hours optional, "." before milliseconds (a "," is tolerated).
_VTT_TIME = r"(?:([0-9]{1,9}):)?([0-9]{2}):([0-9]{2})[.,]([0-9]{3})"
_VTT_TIMING_RE = re.compile(rf"^{_VTT_TIME}[ \t]+-->[ \t]+{_VTT_TIME}(?:[ \t].*)?$")
# SubRip: hours required, "," before milliseconds (a "." is tolerated).
_SRT_TIME = r"([0-9]{1,9}):([0-9]{1,2}):([0-9]{1,2})[,.]([0-9]{1,3})"
_SRT_TIMING_RE = re.compile(rf"^{_SRT_TIME}[ \t]*-->[ \t]*{_SRT_TIME}(?:[ \t].*)?$")
_SRT_INDEX_RE = re.compile(r"^[0-9]{1,9}$")
# JSON "start" given as a string: HH:MM:SS, MM:SS, optional fraction.
_CLOCK_RE = re.compile(r"^(?:([0-9]{1,9}):)?([0-9]{1,2}):([0-9]{1,2})(?:[.,][0-9]{1,9})?$")

_VTT_HEADER_RE = re.compile(r"^WEBVTT(?:[ \t].*)?$")
_VTT_SKIPPED_BLOCK_RE = re.compile(r"^(?:NOTE|STYLE|REGION)(?:[ \t].*)?$")

# --- cue text ----------------------------------------------------------------

# <v Name>, <v.class Name>; the name is everything up to ">".
_VOICE_RE = re.compile(r"<v(?:\.[^\s>]*)?(?:[ \t]+([^>\n]*))?>")
# Any other WebVTT tag: <c.x>, <i>, </b>, <00:00:01.000>, <lang en>, <ruby>...
_VTT_TAG_RE = re.compile(r"</?[A-Za-z0-9:.][^>\n]*>|</>")
# SubRip carries a few HTML-like tags and ASS override blocks such as {\an8}.
_SRT_TAG_RE = re.compile(r"</?(?:i|b|u|s|font)(?:[ \t][^>\n]*)?>|\{\\[^}\n]*\}", re.IGNORECASE)
# "Name: text" at the start of a caption line: 1-4 words, the first a letter,
# a space after the colon (so "https://..." or "10:30" is not a speaker).
_SPEAKER_RE = re.compile(
    r"^(?:-[ \t]*)?"  # a dialogue dash
    r"(?P<name>[^\W\d_][\w.'’-]*(?:[ \t]+[\w.'’()-]+){0,3})"
    r"[ \t]*:[ \t]+(?P<text>\S.*)$"
)

_JSON_LIST_KEYS: tuple[str, ...] = ("utterances", "segments", "transcript")


@dataclass(frozen=True)
class Document:
    """A meeting document, normalised and ready to summarise.

    Attributes:
        text: The normalised text fed to the model and used for grounding
            evidence quotes.
        name: The file name, ``"<stdin>"``, or an id given by the caller.
        format: The format the text was parsed from.
    """

    text: str
    name: str
    format: InputFormat

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of :attr:`text` encoded as UTF-8."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


@dataclass
class _Line:
    """One output line of a transcript before rendering."""

    start: float | None
    speaker: str | None
    text: str

    def render(self) -> str:
        stamp = f"[{_clock(self.start)}] " if self.start is not None else ""
        who = f"{self.speaker}: " if self.speaker else ""
        return f"{stamp}{who}{self.text}"


# --- public API ----------------------------------------------------------------


def load_document(
    source: str | os.PathLike[str],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    stdin: BinaryIO | None = None,
) -> Document:
    """Read a meeting document from a file or from standard input.

    The format of a file follows its extension (``.txt``, ``.md``, ``.text``,
    ``.vtt``, ``.srt``, ``.json``). Standard input has no name, so its format
    is sniffed from the content: a ``WEBVTT`` header means VTT, a numbered cue
    with a ``-->`` timing line means SRT, JSON in a supported shape means JSON,
    anything else is plain text.

    Args:
        source: A path, or the string ``"-"`` for standard input. Only the
            ``str`` ``"-"`` means standard input; ``Path("-")`` is a file
            named ``-``.
        max_bytes: Largest accepted size in bytes.
        stdin: Binary stream read when ``source`` is ``"-"``; defaults to
            ``sys.stdin.buffer``.

    Returns:
        The normalised document.

    Raises:
        InputError: The path does not exist or cannot be read.
        UnsupportedInputError: The path is a folder, has an unsupported
            extension, or holds binary data.
        InputTooLargeError: The input is larger than ``max_bytes``.
        DecodeError: The bytes are not UTF-8 (or BOM-marked UTF-16).
        EmptyInputError: The document holds no text.
        MalformedInputError: A VTT, SRT or JSON document does not parse.
    """
    if isinstance(source, str) and source == "-":
        data = _read_stdin(stdin, max_bytes)
        text = decode_bytes(data, source=_STDIN_NAME)
        return _make_document(text, name=_STDIN_NAME, source=_STDIN_NAME, fmt=None)

    path = Path(source)
    where = str(path)
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise InputError("no such file", source=where) from exc
    except PermissionError as exc:
        raise InputError("permission denied", source=where) from exc
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot access the path: {_os_reason(exc)}", source=where) from exc

    if stat.S_ISDIR(info.st_mode):
        raise UnsupportedInputError("is a directory, not a document", source=where)
    fmt = _format_for_extension(path, where)
    if info.st_size > max_bytes:
        raise InputTooLargeError(
            f"file is {_size(info.st_size)}, larger than the limit of {_size(max_bytes)}",
            source=where,
        )
    try:
        with path.open("rb") as handle:
            data = _read_at_most(handle, max_bytes + 1)
    except FileNotFoundError as exc:
        raise InputError("no such file", source=where) from exc
    except PermissionError as exc:
        raise InputError("permission denied", source=where) from exc
    except IsADirectoryError as exc:
        raise UnsupportedInputError("is a directory, not a document", source=where) from exc
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the file: {_os_reason(exc)}", source=where) from exc
    if len(data) > max_bytes:
        # The file grew after stat, or it is not a regular file (a pipe, a device).
        raise InputTooLargeError(
            f"file is more than {_size(max_bytes)}, the limit is {_size(max_bytes)}",
            source=where,
        )
    text = decode_bytes(data, source=where)
    return _make_document(text, name=path.name or where, source=where, fmt=fmt)


def document_from_text(
    text: str,
    *,
    name: str = "<text>",
    format: InputFormat | None = None,
) -> Document:
    """Build a document from text already in memory.

    The text goes through the same validation and parsing as a file.

    Args:
        text: The document's content.
        name: An id for the document, used in error messages.
        format: How to parse ``text``; sniffed from the content when ``None``
            (as for standard input).

    Returns:
        The normalised document.

    Raises:
        UnsupportedInputError: ``format`` is unknown or the text looks binary.
        EmptyInputError: The document holds no text.
        MalformedInputError: A VTT, SRT or JSON document does not parse.
    """
    if format is not None and format not in _FORMATS:
        raise UnsupportedInputError(
            f"unknown format {format!r} (supported: {', '.join(_FORMATS)})", source=name
        )
    return _make_document(text, name=name, source=name, fmt=format)


def decode_bytes(data: bytes, *, source: str) -> str:
    """Decode a document's bytes to text.

    UTF-8 is expected (a UTF-8 byte order mark is dropped). UTF-16, little or
    big endian, is accepted only when the data starts with its byte order mark.

    Args:
        data: The raw bytes.
        source: Where the bytes came from, used in error messages.

    Returns:
        The decoded text, without a byte order mark.

    Raises:
        DecodeError: The bytes are not valid UTF-8 or BOM-marked UTF-16.
        UnsupportedInputError: The data is binary (NUL bytes or mostly control
            characters).
    """
    if data.startswith((_UTF32_LE_BOM, _UTF32_BE_BOM)):
        raise DecodeError("UTF-32 is not supported; save the file as UTF-8", source=source)
    if data.startswith((_UTF16_LE_BOM, _UTF16_BE_BOM)):
        codec = "utf-16-le" if data.startswith(_UTF16_LE_BOM) else "utf-16-be"
        try:
            text = data[2:].decode(codec)
        except UnicodeDecodeError as exc:
            raise DecodeError(
                f"not valid UTF-16 ({exc.reason} at byte offset {exc.start + 2})",
                source=source,
            ) from exc
    else:
        skip = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
        body = data[skip:]
        if b"\x00" in body:
            # Valid UTF-8 text never needs NUL; say "binary" rather than point
            # at the first undecodable byte of, say, a PDF or an image.
            raise UnsupportedInputError(
                "binary data (NUL bytes), not a text document", source=source
            )
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            offset = exc.start + skip
            raise DecodeError(
                f"not valid UTF-8: {exc.reason} (byte 0x{data[offset]:02x} at byte offset "
                f"{offset}); save the file as UTF-8",
                source=source,
            ) from exc
    _check_not_binary(text, source)
    return text


# --- reading -------------------------------------------------------------------


def _read_stdin(stdin: BinaryIO | None, max_bytes: int) -> bytes:
    stream: Any = stdin
    if stream is None:
        stream = getattr(sys.stdin, "buffer", None) or sys.stdin
    if stream is None:
        raise InputError("standard input is not available", source=_STDIN_NAME)
    try:
        data = _read_at_most(stream, max_bytes + 1)
    except (OSError, ValueError) as exc:
        raise InputError(
            f"cannot read standard input: {_os_reason(exc)}", source=_STDIN_NAME
        ) from exc
    if len(data) > max_bytes:
        raise InputTooLargeError(
            f"input is more than {_size(max_bytes)}, the limit is {_size(max_bytes)}",
            source=_STDIN_NAME,
        )
    return data


def _read_at_most(stream: Any, limit: int) -> bytes:
    """Read until EOF or ``limit`` bytes, whichever comes first."""
    chunks: list[bytes] = []
    total = 0
    while total < limit:
        chunk = stream.read(limit - total)
        if not chunk:
            break
        if isinstance(chunk, str):  # a text stream where a binary one was expected
            chunk = chunk.encode("utf-8", "surrogatepass")
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _format_for_extension(path: Path, where: str) -> InputFormat:
    suffix = path.suffix.lower()
    if not suffix:
        raise UnsupportedInputError(
            f"has no file extension (supported: {_SUPPORTED_EXTENSIONS})", source=where
        )
    fmt = EXTENSIONS.get(suffix)
    if fmt is None:
        raise UnsupportedInputError(
            f"unsupported file extension {suffix!r} (supported: {_SUPPORTED_EXTENSIONS})",
            source=where,
        )
    return fmt


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__


def _size(n: int) -> str:
    if abs(n) >= 1024 * 1024:
        return f"{n:,} bytes ({n / (1024 * 1024):.1f} MiB)"
    if abs(n) >= 1024:
        return f"{n:,} bytes ({n / 1024:.1f} KiB)"
    return f"{n:,} bytes"


# --- normalisation ---------------------------------------------------------------


def _check_not_binary(text: str, source: str) -> None:
    if "\x00" in text:
        raise UnsupportedInputError("binary data (NUL bytes), not a text document", source=source)
    if not text:
        return
    controls = sum(1 for _ in _CONTROL_RE.finditer(text))
    if controls and controls / len(text) > _MAX_CONTROL_SHARE:
        raise UnsupportedInputError(
            "binary data (mostly control characters), not a text document", source=source
        )


def _split_lines(text: str) -> list[str]:
    """Normalise newlines to LF and strip trailing whitespace per line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [line.rstrip() for line in text.split("\n")]


def _trim_blank(lines: list[str]) -> list[str]:
    start = 0
    end = len(lines)
    while start < end and not lines[start]:
        start += 1
    while end > start and not lines[end - 1]:
        end -= 1
    return lines[start:end]


def _plain(text: str, source: str) -> str:
    """Normalise plain text; raise :class:`EmptyInputError` when nothing is left."""
    lines = _trim_blank(_split_lines(text))
    if not lines:
        raise EmptyInputError("document is empty or holds only whitespace", source=source)
    return "\n".join(lines)


def _make_document(text: str, *, name: str, source: str, fmt: InputFormat | None) -> Document:
    if text.startswith("\ufeff"):
        text = text[1:]
    _check_not_binary(text, source)
    lines = _split_lines(text)
    if not any(lines):
        raise EmptyInputError("document is empty or holds only whitespace", source=source)

    if fmt is None:
        fmt, body = _sniff(lines, source)
    elif fmt == "text":
        body = _plain(text, source)
    else:
        body = _PARSERS[fmt](lines, source)
    return Document(text=body, name=name, format=fmt)


def _sniff(lines: list[str], source: str) -> tuple[InputFormat, str]:
    """Guess the format of nameless content and parse it."""
    content = _trim_blank(lines)
    first = content[0].strip()
    if _VTT_HEADER_RE.match(first):
        return "vtt", _parse_vtt(lines, source)
    if (
        len(content) >= 2
        and _SRT_INDEX_RE.match(first)
        and _SRT_TIMING_RE.match(content[1].strip())
    ):
        return "srt", _parse_srt(lines, source)
    if first.startswith(("[", "{")):
        try:
            return "json", _parse_json(lines, source)
        except MalformedInputError:
            pass  # JSON-looking text that is not a transcript: read it as text
    return "text", _plain("\n".join(lines), source)


# --- captions (VTT, SRT) ------------------------------------------------------------


def _blocks(lines: list[str]) -> list[tuple[int, list[str]]]:
    """Split lines into blank-line separated blocks, with 1-based first line numbers."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    first = 0
    for number, line in enumerate(lines, start=1):
        if line.strip():
            if not current:
                first = number
            current.append(line)
        elif current:
            blocks.append((first, current))
            current = []
    if current:
        blocks.append((first, current))
    return blocks


def _seconds(groups: tuple[str | None, ...], line_no: int, source: str) -> float:
    hours, minutes, seconds, millis = groups
    if int(minutes or 0) > 59 or int(seconds or 0) > 59:
        raise MalformedInputError(
            f"line {line_no}: minutes and seconds in a timestamp must be below 60", source=source
        )
    fraction = int((millis or "0").ljust(3, "0")) / 1000
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + int(seconds or 0) + fraction


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _cue_lines(
    raw: list[str], start: float, *, voice_tags: bool, strip_tags: Callable[[str], str]
) -> list[_Line]:
    """Turn a cue's text lines into speaker segments.

    A voice tag (``<v Name>``) starts a segment for ``Name``; elsewhere a line
    starting with ``Name: `` starts one; other lines continue the current
    segment.
    """
    text = "\n".join(raw)
    chunks: list[tuple[str | None, str]]
    if voice_tags:
        pieces = _VOICE_RE.split(text)
        chunks = [(None, pieces[0])]
        chunks += [(pieces[i], pieces[i + 1]) for i in range(1, len(pieces) - 1, 2)]
    else:
        chunks = [(None, text)]

    out: list[_Line] = []
    for voice, chunk in chunks:
        cleaned = html.unescape(strip_tags(chunk))
        speaker = _collapse(html.unescape(strip_tags(voice))) if voice else ""
        if speaker:
            body = _collapse(cleaned)
            if body:
                out.append(_Line(start, speaker, body))
            continue
        for line in cleaned.split("\n"):
            line = _collapse(line)
            if not line:
                continue
            match = _SPEAKER_RE.match(line)
            if match:
                out.append(_Line(start, _collapse(match["name"]), _collapse(match["text"])))
            elif out:
                out[-1].text = f"{out[-1].text} {line}"
            else:
                out.append(_Line(start, None, line))
    return out


def _join_speakers(lines: list[_Line]) -> list[str]:
    """Join consecutive lines of the same speaker, keeping the first timestamp."""
    joined: list[_Line] = []
    last_start = 0.0
    for line in lines:
        prev = joined[-1] if joined else None
        start = line.start or 0.0
        if (
            prev is not None
            and line.speaker is not None
            and line.speaker == prev.speaker
            and len(prev.text) + len(line.text) < _MAX_JOINED_CHARS
            and start - last_start <= _MAX_JOIN_GAP_SECONDS
        ):
            prev.text = f"{prev.text} {line.text}"
        else:
            joined.append(_Line(line.start, line.speaker, line.text))
        last_start = start
    return [line.render() for line in joined]


def _finish_cues(cue_count: int, lines: list[_Line], kind: str, source: str) -> str:
    if not cue_count:
        raise MalformedInputError(f"no {kind} cues found", source=source)
    rendered = _trim_blank(_join_speakers(lines))
    if not rendered:
        raise EmptyInputError(f"no {kind} cue holds any text", source=source)
    return "\n".join(rendered)


def _parse_vtt(lines: list[str], source: str) -> str:
    blocks = _blocks(lines)
    if not blocks:
        raise EmptyInputError("document is empty or holds only whitespace", source=source)
    header_line, header = blocks[0]
    if not _VTT_HEADER_RE.match(header[0].strip()):
        raise MalformedInputError(
            f"line {header_line}: a WebVTT file must start with a 'WEBVTT' line", source=source
        )

    rest = blocks[1:]
    for offset, line in enumerate(header[1:], start=1):
        if "-->" in line:
            # A cue right under the header with no blank line in between.
            rest.insert(0, (header_line + offset, header[offset:]))
            break

    cues: list[tuple[float, list[str]]] = []
    for first, block in rest:
        if _VTT_SKIPPED_BLOCK_RE.match(block[0].strip()):
            continue
        if "-->" in block[0]:
            timing = 0
        elif len(block) > 1 and "-->" in block[1]:
            timing = 1  # the first line is a cue identifier
        elif cues:
            cues[-1][1].extend(block)  # text after a stray blank line inside a cue
            continue
        else:
            raise MalformedInputError(
                f"line {first}: expected a cue timing line like '00:00:01.000 --> 00:00:04.000'",
                source=source,
            )
        line_no = first + timing
        match = _VTT_TIMING_RE.match(block[timing].strip())
        if not match:
            raise MalformedInputError(
                f"line {line_no}: invalid cue timing, expected 'HH:MM:SS.mmm --> HH:MM:SS.mmm'",
                source=source,
            )
        start = _seconds(match.groups()[:4], line_no, source)
        _seconds(match.groups()[4:], line_no, source)
        cues.append((start, block[timing + 1 :]))

    out: list[_Line] = []
    for start, text in cues:
        out += _cue_lines(text, start, voice_tags=True, strip_tags=_strip_vtt_tags)
    return _finish_cues(len(cues), out, "WebVTT", source)


def _strip_vtt_tags(text: str) -> str:
    return _VTT_TAG_RE.sub("", text)


def _strip_srt_tags(text: str) -> str:
    return _SRT_TAG_RE.sub("", text)


def _parse_srt(lines: list[str], source: str) -> str:
    cues: list[tuple[float, list[str]]] = []
    for first, block in _blocks(lines):
        head = block[0].strip()
        if len(block) > 1 and _SRT_INDEX_RE.match(head) and "-->" in block[1]:
            timing = 1
        elif "-->" in head:
            timing = 0  # a cue without its number
        elif cues and not any("-->" in line for line in block):
            cues[-1][1].extend(block)  # text after a stray blank line inside a cue
            continue
        else:
            raise MalformedInputError(
                f"line {first}: expected a cue number and a timing line like "
                "'00:00:01,000 --> 00:00:04,000'",
                source=source,
            )
        line_no = first + timing
        match = _SRT_TIMING_RE.match(block[timing].strip())
        if not match:
            raise MalformedInputError(
                f"line {line_no}: invalid cue timing, expected 'HH:MM:SS,mmm --> HH:MM:SS,mmm'",
                source=source,
            )
        start = _seconds(match.groups()[:4], line_no, source)
        _seconds(match.groups()[4:], line_no, source)
        cues.append((start, block[timing + 1 :]))

    out: list[_Line] = []
    for start, text in cues:
        out += _cue_lines(text, start, voice_tags=False, strip_tags=_strip_srt_tags)
    return _finish_cues(len(cues), out, "SRT", source)


# --- JSON ------------------------------------------------------------------------------

_JSON_SHAPES = (
    "expected a list of utterances {speaker, text, start?}, an object with such a list "
    'under "utterances", "segments" or "transcript", or an object with a string "text"'
)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _parse_json(lines: list[str], source: str) -> str:
    raw = "\n".join(lines)
    try:
        value = json.loads(raw, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise MalformedInputError(
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", source=source
        ) from exc
    except RecursionError as exc:
        raise MalformedInputError("invalid JSON: nested too deeply", source=source) from exc
    except ValueError as exc:  # NaN/Infinity, integers with too many digits
        raise MalformedInputError(f"invalid JSON: {exc}", source=source) from exc

    if isinstance(value, list):
        return _utterances(value, "", source)
    if isinstance(value, dict):
        for key in _JSON_LIST_KEYS:
            if key in value:
                items = value[key]
                if not isinstance(items, list):
                    raise MalformedInputError(
                        f'"{key}" must be a list of utterances, not {_json_type(items)}',
                        source=source,
                    )
                return _utterances(items, key, source)
        text = value.get("text")
        if isinstance(text, str):
            return _plain(text, source)
        if "text" in value:
            raise MalformedInputError(
                f'"text" must be a string, not {_json_type(text)}', source=source
            )
        raise MalformedInputError(
            f"JSON object has none of the keys utterances, segments, transcript or text; "
            f"{_JSON_SHAPES}",
            source=source,
        )
    raise MalformedInputError(
        f"JSON {_json_type(value)} at top level; {_JSON_SHAPES}", source=source
    )


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _utterances(items: list[Any], key: str, source: str) -> str:
    out: list[_Line] = []
    for index, item in enumerate(items):
        where = f"{key}[{index}]" if key else f"[{index}]"
        label = f"utterance {index} ({where})"
        if not isinstance(item, dict):
            raise MalformedInputError(
                f"{label} must be an object, not {_json_type(item)}", source=source
            )
        for field in ("speaker", "text"):
            if field not in item:
                raise MalformedInputError(f'{label} has no "{field}"', source=source)
            if not isinstance(item[field], str):
                raise MalformedInputError(
                    f'{label}: "{field}" must be a string, not {_json_type(item[field])}',
                    source=source,
                )
        speaker = _collapse(item["speaker"])
        if not speaker:
            raise MalformedInputError(f'{label}: "speaker" is empty', source=source)
        text = _collapse(item["text"])
        start = _json_start(item.get("start"), label, source)
        if text:
            out.append(_Line(start, speaker, text))
    if not out:
        raise EmptyInputError("the transcript holds no utterance with text", source=source)
    return "\n".join(line.render() for line in out)


def _json_start(value: Any, label: str, source: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise MalformedInputError(
            f'{label}: "start" must be seconds or "HH:MM:SS", not {_json_type(value)}',
            source=source,
        )
    if isinstance(value, str):
        match = _CLOCK_RE.match(value.strip())
        if not match:
            raise MalformedInputError(
                f'{label}: "start" must be seconds or "HH:MM:SS"', source=source
            )
        hours, minutes, seconds = (int(g or 0) for g in match.groups())
        if minutes > 59 or seconds > 59:
            raise MalformedInputError(
                f'{label}: "start" has minutes or seconds of 60 or more', source=source
            )
        return float(hours * 3600 + minutes * 60 + seconds)
    try:
        number = float(value)
    except OverflowError as exc:
        raise MalformedInputError(f'{label}: "start" is too large', source=source) from exc
    if not math.isfinite(number) or number < 0:
        raise MalformedInputError(
            f'{label}: "start" must be a non-negative number of seconds', source=source
        )
    return number


_PARSERS: dict[str, Callable[[list[str], str], str]] = {
    "vtt": _parse_vtt,
    "srt": _parse_srt,
    "json": _parse_json,
}
