"""What a batch is made of: inputs expanded into ``(id, loader)`` items, and shards.

Inputs are files, folders (walked recursively for supported document types),
glob patterns, or ``.jsonl`` files of ``{"id", "text"}`` records (``{"id",
"path"}`` also works; a relative path is relative to the JSONL file). Ids are
the path as the user gave it for files and globs, the path relative to the
folder for folders, and the record's ``"id"`` for JSONL.

Documents are *loaded lazily*, by the worker that summarises them: a bad
document (missing, empty, binary, a JSONL record without text) raises its
``InputError`` there and becomes one line in the errors file, while the rest of
the batch goes on.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from summarizer.errors import ConfigError, InputError, MalformedInputError
from summarizer.inputs import EXTENSIONS, Document, document_from_text, load_document

__all__ = ["Item", "Shard", "collect_items", "parse_shard"]

_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class Item:
    """One document of a batch: its id and how to load it."""

    id: str
    load: Callable[[], Document]


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based) of ``count``: the items whose id hash falls on it."""

    index: int
    count: int

    def __contains__(self, item_id: str) -> bool:
        # A hash of the id, not the position: every machine computes the same split
        # whatever order or subset of inputs it was given.
        digest = hashlib.sha256(item_id.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index - 1


def parse_shard(text: str) -> Shard:
    """``"K/N"`` -> ``Shard(K, N)`` with ``1 <= K <= N``.

    Raises:
        ConfigError: not of that form.
    """
    left, sep, right = text.partition("/")
    try:
        index, count = int(left), int(right)
    except ValueError:
        index = count = 0
    if not sep or count < 1 or not 1 <= index <= count:
        raise ConfigError(f"--shard must be K/N with 1 <= K <= N, got {text!r}")
    return Shard(index, count)


def _file_loader(path: Path, max_bytes: int) -> Callable[[], Document]:
    return lambda: load_document(path, max_bytes=max_bytes)


def _failing(error: InputError) -> Callable[[], Document]:
    def load() -> Document:
        raise error

    return load


def _text_loader(text: str, name: str) -> Callable[[], Document]:
    return lambda: document_from_text(text, name=name)


def _walk(folder: Path) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if not name.startswith(".") and Path(name).suffix.lower() in EXTENSIONS:
                found.append(Path(root) / name)
    return sorted(found)


def _jsonl_items(path: Path, max_bytes: int) -> Iterator[Item]:
    where = str(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        yield Item(where, _failing(InputError(f"cannot read: {exc.strerror}", source=where)))
        return
    with handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            line_id = f"{where}:{number}"
            try:
                record = json.loads(raw)
            except ValueError:
                error = MalformedInputError(f"line {number} is not JSON", source=where)
                yield Item(line_id, _failing(error))
                continue
            if not isinstance(record, dict):
                error = MalformedInputError(f"line {number} is not a JSON object", source=where)
                yield Item(line_id, _failing(error))
                continue
            raw_id = record.get("id")
            if not isinstance(raw_id, str | int) or isinstance(raw_id, bool) or raw_id == "":
                error = MalformedInputError(
                    f'line {number} has no "id" (a string or number)', source=where
                )
                yield Item(line_id, _failing(error))
                continue
            item_id = str(raw_id)
            text, doc_path = record.get("text"), record.get("path")
            if isinstance(text, str):
                yield Item(item_id, _text_loader(text, item_id))
            elif isinstance(doc_path, str) and doc_path:
                target = Path(doc_path)
                if not target.is_absolute():
                    target = path.parent / target
                yield Item(item_id, _file_loader(target, max_bytes))
            else:
                error = MalformedInputError(
                    f'line {number} (id {item_id!r}) has neither "text" nor "path"',
                    source=where,
                )
                yield Item(item_id, _failing(error))


def collect_items(
    inputs: Iterable[str], *, max_bytes: int, shard: Shard | None = None
) -> list[Item]:
    """Expand the command-line inputs into items, in a stable order.

    A repeated id is kept once, the repetition becomes an error item (so it is
    reported, not silently merged). With ``shard``, only that shard's items.

    Raises:
        ConfigError: no input given at all.
    """
    items: list[Item] = []
    for given in inputs:
        path = Path(given)
        if path.is_dir():
            items += [
                Item(found.relative_to(path).as_posix(), _file_loader(found, max_bytes))
                for found in _walk(path)
            ]
        elif path.suffix.lower() == ".jsonl" and path.exists():
            items += _jsonl_items(path, max_bytes)
        elif _GLOB_CHARS & set(given) and not path.exists():
            matches = sorted(glob.glob(given, recursive=True))
            files = [m for m in matches if Path(m).is_file()]
            if not files:
                error = InputError("no file matches this pattern", source=given)
                items.append(Item(given, _failing(error)))
            items += [Item(m, _file_loader(Path(m), max_bytes)) for m in files]
        else:
            items.append(Item(given, _file_loader(path, max_bytes)))
    if not items:
        raise ConfigError("no inputs given: pass files, folders, globs or a .jsonl file")
    seen: set[str] = set()
    unique: list[Item] = []
    for item in items:
        if item.id in seen:
            error = InputError("the same id appears more than once in this batch", source=item.id)
            unique.append(Item(item.id, _failing(error)))
            continue
        seen.add(item.id)
        unique.append(item)
    if shard is not None:
        unique = [item for item in unique if item.id in shard]
    return unique
