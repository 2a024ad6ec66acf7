"""The results and errors files: append-only JSON Lines, crash-safe.

Every finished document becomes **one complete line**, written with a single
``write`` on a file opened in append mode, then flushed and ``fsync``-ed
before the next document is reported done. A ``kill -9`` can therefore only
lose documents still in flight; if it ever lands mid-write, the torn tail
(bytes after the last newline) is cut off when the file is opened again, so
a reader never sees a partial record. The errors file is created with its
first record, so a run without failures leaves none behind.

Both batch paths write through :class:`ResultsWriter`: the synchronous runner
and the provider Batch API's ``collect``, so the two files have one format and
one resume rule whichever way a document went.

Results (``results.jsonl``)::

    {"id", "input_sha256", "summary", "run", "via": "sync" | "cache" | "batch-api"}

Errors (``results.errors.jsonl``, next to the results)::

    {"id", "input_sha256" | null, "error": {"type", "message", "exit_code"}}
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from summarizer.errors import ConfigError, SummarizerError

__all__ = ["ResultsWriter", "Via", "errors_path", "read_records"]

Via = Literal["sync", "cache", "batch-api"]


def errors_path(out: Path) -> Path:
    """``results.jsonl`` -> ``results.errors.jsonl`` (same folder)."""
    return out.with_name(f"{out.stem}.errors.jsonl")


def _repair_tail(path: Path) -> int:
    """Cut bytes after the last newline (a write torn by a crash); return bytes cut."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return 0
    if size == 0:
        return 0
    with path.open("rb+") as handle:
        # Read backwards in blocks until a newline is found.
        end = size
        block = 64 * 1024
        while end > 0:
            start = max(0, end - block)
            handle.seek(start)
            chunk = handle.read(end - start)
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                keep = start + cut + 1
                break
            end = start
        else:
            keep = 0
        if keep < size:
            handle.truncate(keep)
            handle.flush()
            os.fsync(handle.fileno())
        return size - keep


def read_records(path: Path) -> Iterator[dict[str, Any]]:
    """The complete JSON records of a JSON Lines file (a torn last line is skipped)."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return
    with handle:
        for raw in handle:
            if not raw.endswith(b"\n"):
                return  # torn tail, never a record
            line = raw.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                yield record


class _AppendFile:
    """One append-only JSON Lines file; opened at once, or with its first record (lazy)."""

    def __init__(self, path: Path, *, lazy: bool = False) -> None:
        self.path = path
        self.repaired_bytes = _repair_tail(path)
        self._fd: int | None = None if lazy else self._open()

    def _open(self) -> int:
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def append(self, record: dict[str, Any]) -> None:
        if self._fd is None:
            try:
                self._fd = self._open()
            except OSError as exc:
                raise ConfigError(f"cannot write to {self.path}: {exc.strerror or exc}") from exc
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        data = line.encode("utf-8")
        # One write call for the whole line; loop only if the kernel writes less.
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class ResultsWriter:
    """Appends result and error records; knows which ids are already done.

    Args:
        out: The results file (created if missing). The errors file goes next to it.

    Raises:
        ConfigError: the file cannot be opened for appending.
    """

    def __init__(self, out: Path) -> None:
        self.out = out
        self.errors_out = errors_path(out)
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            self._results = _AppendFile(out)
            self._errors = _AppendFile(self.errors_out, lazy=True)
        except OSError as exc:
            raise ConfigError(f"cannot write results to {out}: {exc.strerror or exc}") from exc
        self.done: dict[str, str] = {
            str(r["id"]): str(r.get("input_sha256", ""))
            for r in read_records(out)
            if isinstance(r.get("id"), str)
        }
        self._lock = threading.Lock()

    def has_result(self, item_id: str, input_sha256: str) -> bool:
        """Whether the results file already holds this id for this very document."""
        return self.done.get(item_id) == input_sha256

    @property
    def repaired_bytes(self) -> int:
        """Bytes of torn last lines removed when the files were opened."""
        return self._results.repaired_bytes + self._errors.repaired_bytes

    def write_result(
        self, item_id: str, input_sha256: str, result: dict[str, Any], via: Via
    ) -> None:
        """Append one result (``result`` is ``Result.to_dict()``: summary and run)."""
        record = {
            "id": item_id,
            "input_sha256": input_sha256,
            "summary": result["summary"],
            "run": result["run"],
            "via": via,
        }
        with self._lock:
            self._results.append(record)
            self.done[item_id] = input_sha256

    def write_error(
        self,
        item_id: str,
        input_sha256: str | None,
        error: SummarizerError,
        *,
        message: str | None = None,
    ) -> None:
        """Append one error record.

        Args:
            item_id: The document's id.
            input_sha256: Its hash (None when it could not even be loaded).
            error: The failure; its class and exit code are recorded.
            message: One line to record instead of ``str(error)`` (a caller adding
                context). Either way it must already be redacted.
        """
        record = {
            "id": item_id,
            "input_sha256": input_sha256,
            "error": {
                "type": type(error).__name__,
                "message": " ".join((str(error) if message is None else message).split()),
                "exit_code": error.exit_code,
            },
        }
        with self._lock:
            self._errors.append(record)

    def close(self) -> None:
        """Close both files."""
        self._results.close()
        self._errors.close()

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
