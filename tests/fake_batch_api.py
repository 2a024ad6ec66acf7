"""A fake OpenAI Batch API on top of :class:`tests.fakeserver.FakeOpenAI` (stdlib only).

Besides ``POST /v1/chat/completions`` (the synchronous re-asks) it serves:

* ``POST /v1/files`` — a real multipart upload (``purpose=batch``), stored in memory;
* ``POST /v1/batches`` — starts a batch on an uploaded file (status ``validating``);
* ``GET /v1/batches/{id}`` — each retrieval advances the batch one step of its
  ``steps`` (default ``in_progress`` then ``completed``), as a provider would between
  two polls;
* ``GET /v1/files/{id}/content`` — the uploaded input, or the output / error file.

The uploaded requests are really processed: leaving ``validating`` the input file is
checked line by line (JSON, unique ``custom_id``, ``method``, ``url``, a body with
``model`` and ``messages``; a bad file makes the batch ``failed`` with per-line errors),
and on reaching ``completed`` (or ``expired`` / ``cancelled``) every request line is
answered by the scriptable ``answer(custom_id, body)`` function: a 200 :class:`Reply`
goes to the output file, any other reply or a :class:`RequestFailure` to the error
file. An expired or cancelled batch answers only its first ``finished_before_end``
requests; the rest get ``batch_expired`` / ``batch_cancelled`` errors.

Chat completions sent directly (re-asks) are answered by ``answer(None, body)``.
:meth:`FakeBatchAPI.inject` makes the next matching Batch API request fail instead.
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.fakeserver import FakeOpenAI, RecordedRequest, Reply, error

__all__ = ["Answer", "FakeBatchAPI", "FakeBatch", "RequestFailure"]

_ENDPOINTS = {"/v1/chat/completions"}
_ids = itertools.count(1)


@dataclass(frozen=True)
class RequestFailure:
    """A per-request error of the batch itself (no HTTP response), e.g. a server fault."""

    code: str = "server_error"
    message: str = "the request could not be processed"


Answer = Callable[[str | None, dict[str, Any]], "Reply | RequestFailure"]


@dataclass
class FakeBatch:
    """One batch and what happened to it."""

    id: str
    input_file_id: str
    endpoint: str
    completion_window: str
    metadata: dict[str, Any] | None
    steps: list[str]
    status: str = "validating"
    created_at: int = field(default_factory=lambda: int(time.time()))
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(
        default_factory=lambda: {"total": 0, "completed": 0, "failed": 0}
    )
    requests: list[dict[str, Any]] = field(default_factory=list)
    """The parsed request lines, once validated."""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "errors": {"object": "list", "data": self.errors} if self.errors else None,
            "input_file_id": self.input_file_id,
            "completion_window": self.completion_window,
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": self.created_at,
            "request_counts": dict(self.counts),
            "metadata": self.metadata,
        }


class FakeBatchAPI(FakeOpenAI):
    """A fake provider with the Batch API; use as a context manager.

    Args:
        answer: ``(custom_id, request_body) -> Reply | RequestFailure``; ``custom_id`` is
            None for chat completions sent directly rather than through a batch.
        steps: Statuses a batch passes through after ``validating``, one per retrieval.
            The last is where it stays: ``completed``, ``expired`` or ``cancelled``.
        finished_before_end: For ``expired`` / ``cancelled``: how many requests were
            answered before the end.
        max_requests: A batch with more request lines than this fails validation.
    """

    def __init__(
        self,
        answer: Answer,
        *,
        steps: Sequence[str] = ("in_progress", "completed"),
        finished_before_end: int = 0,
        max_requests: int = 50_000,
    ) -> None:
        super().__init__(self._chat_reply)
        self.answer = answer
        self.steps = list(steps)
        self.finished_before_end = finished_before_end
        self.max_requests = max_requests
        self.files: dict[str, tuple[str, str, bytes]] = {}
        """file id -> (filename, purpose, content)."""
        self.batches: dict[str, FakeBatch] = {}
        self.batch_answers = 0
        """Requests answered through batches (not counted in ``calls``)."""
        self._faults: list[tuple[str, str, Reply]] = []
        self._batch_lock = threading.Lock()

    def inject(self, method: str, path_prefix: str, reply: Reply, *, times: int = 1) -> None:
        """Answer the next ``times`` matching Batch API requests with ``reply`` (a fault)."""
        with self._batch_lock:
            self._faults += [(method, path_prefix, reply)] * times

    def _chat_reply(self, index: int, body: dict[str, Any]) -> Reply:
        reply = self.answer(None, body)
        if isinstance(reply, RequestFailure):
            return error(500, reply.message)
        return reply

    # -- routing -----------------------------------------------------------------------

    def route(self, request: RecordedRequest) -> Reply | None:
        parts = request.path.strip("/").split("/")
        with self._batch_lock:
            for fault in self._faults:
                if request.method == fault[0] and request.path.startswith(fault[1]):
                    self._faults.remove(fault)
                    return fault[2]
            if request.method == "POST" and parts == ["v1", "files"]:
                return self._upload(request)
            if request.method == "POST" and parts == ["v1", "batches"]:
                return self._create(request)
            if request.method == "GET" and len(parts) == 3 and parts[:2] == ["v1", "batches"]:
                batch = self.batches.get(parts[2])
                if batch is None:
                    return error(404, f"No batch found with id '{parts[2]}'.")
                self._advance(batch)
                return Reply(json_body=batch.to_json())
            if request.method == "GET" and len(parts) == 4 and parts[1] == "files":
                if parts[3] != "content" or parts[2] not in self.files:
                    return error(404, f"No such File object: {parts[2]}")
                return Reply(
                    raw_body=self.files[parts[2]][2],
                    headers={"Content-Type": "application/octet-stream"},
                )
        return None

    # -- endpoints ---------------------------------------------------------------------

    def _upload(self, request: RecordedRequest) -> Reply:
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data"):
            return error(400, "expected a multipart/form-data upload")
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + request.body
        )
        fields: dict[str, tuple[str | None, bytes]] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                fields[name] = (part.get_filename(), payload)
        if "file" not in fields:
            return error(400, "'file' is a required property")
        purpose = fields.get("purpose", (None, b""))[1].decode()
        if purpose != "batch":
            return error(400, f"unsupported purpose {purpose!r}")
        filename = fields["file"][0] or "upload.jsonl"
        return Reply(json_body=self._store(filename, "batch", fields["file"][1]))

    def _store(self, filename: str, purpose: str, content: bytes) -> dict[str, Any]:
        file_id = f"file-fake{next(_ids)}"
        self.files[file_id] = (filename, purpose, content)
        return {
            "id": file_id,
            "object": "file",
            "bytes": len(content),
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
        }

    def _create(self, request: RecordedRequest) -> Reply:
        body = request.json if isinstance(request.json, dict) else {}
        file_id = body.get("input_file_id")
        if file_id not in self.files:
            return error(400, f"input_file_id {file_id!r} does not exist")
        if body.get("endpoint") not in _ENDPOINTS:
            return error(400, f"unsupported endpoint {body.get('endpoint')!r}")
        if body.get("completion_window") != "24h":
            return error(400, "completion_window must be '24h'")
        batch = FakeBatch(
            id=f"batch_fake{next(_ids)}",
            input_file_id=str(file_id),
            endpoint=str(body["endpoint"]),
            completion_window="24h",
            metadata=body.get("metadata"),
            steps=list(self.steps),
        )
        self.batches[batch.id] = batch
        return Reply(json_body=batch.to_json())

    # -- processing --------------------------------------------------------------------

    def _advance(self, batch: FakeBatch) -> None:
        if not batch.steps or batch.status in {"failed", "completed", "expired", "cancelled"}:
            return
        if batch.status == "validating":
            problems = self._validate(batch)
            if problems:
                batch.status = "failed"
                batch.errors = problems
                return
        batch.status = batch.steps.pop(0)
        if batch.status in {"completed", "expired", "cancelled"}:
            self._process(batch)

    def _validate(self, batch: FakeBatch) -> list[dict[str, Any]]:
        problems: list[dict[str, Any]] = []
        seen: set[str] = set()
        lines = self.files[batch.input_file_id][2].decode("utf-8").splitlines()
        if len(lines) > self.max_requests:
            return [
                {
                    "code": "too_many_requests",
                    "line": None,
                    "message": f"the batch has {len(lines)} requests; at most "
                    f"{self.max_requests} are allowed",
                    "param": None,
                }
            ]
        for number, line in enumerate(lines, start=1):
            try:
                record = json.loads(line)
            except ValueError:
                problems.append(_problem(number, "invalid_json", "line is not JSON"))
                continue
            custom_id = record.get("custom_id")
            body = record.get("body")
            if not isinstance(custom_id, str) or custom_id in seen:
                problems.append(
                    _problem(number, "duplicate_custom_id", "custom_id missing or reused")
                )
            elif record.get("method") != "POST" or record.get("url") != batch.endpoint:
                problems.append(_problem(number, "invalid_url", "method/url do not match"))
            elif not isinstance(body, dict) or "model" not in body or "messages" not in body:
                problems.append(_problem(number, "invalid_body", "body needs model and messages"))
            else:
                seen.add(custom_id)
                batch.requests.append(record)
        batch.counts["total"] = len(lines)
        return problems

    def _process(self, batch: FakeBatch) -> None:
        outputs: list[str] = []
        failures: list[str] = []
        answered = len(batch.requests) if batch.status == "completed" else self.finished_before_end
        for position, record in enumerate(batch.requests):
            custom_id = record["custom_id"]
            line: dict[str, Any] = {
                "id": f"batch_req_fake{next(_ids)}",
                "custom_id": custom_id,
                "response": None,
                "error": None,
            }
            if position >= answered:
                line["error"] = {
                    "code": f"batch_{batch.status}",
                    "message": f"This request could not be executed before the batch was "
                    f"{batch.status}.",
                }
                failures.append(json.dumps(line))
                continue
            reply = self.answer(custom_id, record["body"])
            self.batch_answers += 1
            if isinstance(reply, RequestFailure):
                line["error"] = {"code": reply.code, "message": reply.message}
                failures.append(json.dumps(line))
                continue
            line["response"] = {
                "status_code": reply.status,
                "request_id": f"req_fake{next(_ids)}",
                "body": reply.json_body,
            }
            (outputs if reply.status == 200 else failures).append(json.dumps(line))
        batch.counts["completed"] = len(outputs)
        batch.counts["failed"] = len(failures)
        if outputs:
            batch.output_file_id = self._store(
                f"{batch.id}_output.jsonl", "batch_output", ("\n".join(outputs) + "\n").encode()
            )["id"]
        if failures:
            batch.error_file_id = self._store(
                f"{batch.id}_error.jsonl", "batch_output", ("\n".join(failures) + "\n").encode()
            )["id"]


def _problem(line: int, code: str, message: str) -> dict[str, Any]:
    return {"code": code, "line": line, "message": message, "param": None}
