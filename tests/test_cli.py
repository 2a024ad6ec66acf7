"""The command line, run as users run it: ``python -m summarizer`` in a subprocess.

Each run imports the whole package (~2 s of CPU), so every case is started at once
by one module fixture and the tests only inspect the finished runs. Cases that need
a provider talk to a fake OpenAI server living in this (the pytest) process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from summarizer import __version__
from tests.fakeserver import FakeOpenAI, Reply, completion, error

ROOT = Path(__file__).resolve().parents[1]
DOC = """Weekly sync of the platform team, held in Berlin on 3 March 2025.
Alice Schmidt chaired the meeting and Bob Jones presented the hosting budget.
The team agreed to move the release to Friday.
Bob Jones will update the roadmap by 10 March 2025.
"""
ANSWER = {
    "title": "Platform team weekly sync",
    "date": "2025-03-03",
    "location": "Berlin",
    "participants": [
        {
            "name": "Alice Schmidt",
            "role": "chair",
            "organization": None,
            "evidence": "Alice Schmidt chaired the meeting",
        }
    ],
    "topics": ["release date"],
    "positions": [],
    "decisions": [
        {
            "description": "Move the release to Friday.",
            "evidence": "The team agreed to move the release to Friday.",
        }
    ],
    "action_items": [
        {
            "task": "Update the roadmap",
            "owner": "Bob Jones",
            "due_date": "2025-03-10",
            "evidence": "Bob Jones will update the roadmap by 10 March 2025.",
        }
    ],
    "summary": "The platform team agreed to move the release to Friday.",
}
MALFORMED_VTT = (
    "WEBVTT\n\n1\n00:00:01.000 -> 00:00:04.000\nAisha Rahman: the arrow is missing a dash.\n"
)

MALFORMED_SRT = "1\n00:00:01,000 00:00:04,000\nAisha Rahman: the arrow is missing.\n"


@dataclass
class Case:
    """One CLI invocation; ``{url}``, ``{tmp}`` in argv are filled in at run time."""

    argv: list[str]
    script: list[Reply] | None = None
    default: Reply | None = None
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Run:
    proc: subprocess.CompletedProcess[str]
    tmp: Path
    server: FakeOpenAI | None = None

    @property
    def stderr_lines(self) -> list[str]:
        return self.proc.stderr.splitlines()


# Inputs that are the user's fault, with a word the one-line error must contain.
USER_ERRORS = {
    "missing": ("missing.txt", "no such file"),
    "empty": ("empty.txt", "empty"),
    "folder": ("folder", "directory"),
    "unsupported": ("notes.docx", "unsupported"),
    "binary": ("binary.txt", "binary"),
    "whitespace": ("blank.txt", "whitespace"),
    "invalid_utf8": ("latin1.txt", "utf-8"),
    "too_large": ("large.txt", "larger than the limit"),
    "malformed_vtt": ("broken.vtt", "timing"),
    "malformed_srt": ("broken.srt", "timing"),
    "malformed_json": ("broken.json", "invalid json"),
}
# The limit comes from the environment, so the oversized file can stay small.
USER_ERROR_ENV = {"too_large": {"SUMMARIZER_MAX_INPUT_BYTES": "100"}}
# Points at a port nobody listens on: if an input were wrongly accepted, the run
# fails fast with exit code 1 instead of starting the embedded engine.
DEAD_URL = "http://127.0.0.1:9/v1"

CASES: dict[str, Case] = {
    **{
        name: Case(
            ["summarize", "--base-url", DEAD_URL, "{tmp}/" + path],
            env=USER_ERROR_ENV.get(name, {}),
        )
        for name, (path, _) in USER_ERRORS.items()
    },
    "utf16_bom": Case(
        ["summarize", "-q", "--base-url", "{url}", "--model", "fake-model", "{tmp}/utf16.txt"],
        script=[completion(json.dumps(ANSWER))],
    ),
    "bad_format": Case(["summarize", "--format", "yaml", "{tmp}/doc.txt"]),
    "version": Case(["--version"]),
    "help": Case(["--help"]),
    "json": Case(
        ["summarize", "--base-url", "{url}", "--model", "fake-model", "{tmp}/doc.txt"]
        + ["--format", "json"],
        script=[completion(json.dumps(ANSWER), prompt_tokens=321, completion_tokens=123)],
    ),
    "markdown": Case(
        ["summarize", "--base-url", "{url}", "--model", "fake-model", "{tmp}/doc.txt"]
        + ["--format", "md", "--out", "{tmp}/minutes.md"],
        script=[completion(json.dumps(ANSWER))],
    ),
    "provider_500": Case(
        ["summarize", "--quiet", "--base-url", "{url}", "--model", "fake-model", "{tmp}/doc.txt"],
        default=error(500, "upstream exploded"),
    ),
}


def _inputs(tmp: Path) -> None:
    (tmp / "doc.txt").write_text(DOC, encoding="utf-8")
    (tmp / "empty.txt").write_bytes(b"")
    (tmp / "folder").mkdir()
    (tmp / "notes.docx").write_text(DOC, encoding="utf-8")
    (tmp / "binary.txt").write_bytes(b"PK\x03\x04\x00\x00binary\x00data")
    (tmp / "broken.vtt").write_text(MALFORMED_VTT, encoding="utf-8")
    (tmp / "blank.txt").write_bytes(b"  \n\t\n   \r\n")
    (tmp / "latin1.txt").write_bytes("Caf\xe9 du Port: weekly meeting".encode("latin-1"))
    (tmp / "large.txt").write_text(DOC, encoding="utf-8")  # > 100 bytes, see USER_ERROR_ENV
    (tmp / "broken.srt").write_text(MALFORMED_SRT, encoding="utf-8")
    (tmp / "broken.json").write_text('[{"speaker": "Ana", "text": "hi"', encoding="utf-8")
    (tmp / "utf16.txt").write_bytes(DOC.encode("utf-16"))  # with BOM: accepted


def _env(cache: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "SUMMARIZER_")) and k not in ("FORCE_COLOR", "COLUMNS")
    }
    env.update(SUMMARIZER_CACHE_DIR=str(cache), NO_COLOR="1", TERM="dumb", PYTHONUTF8="1")
    return env


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Run]]:
    base = tmp_path_factory.mktemp("cli")
    env = _env(base / "cache")
    servers: dict[str, FakeOpenAI] = {}

    def one(name: str) -> Run:
        case = CASES[name]
        tmp = base / name
        tmp.mkdir()
        _inputs(tmp)
        url = ""
        if case.script is not None or case.default is not None:
            servers[name] = FakeOpenAI(case.script or [], default=case.default).start()
            url = servers[name].base_url
        argv = [a.replace("{tmp}", str(tmp)).replace("{url}", url) for a in case.argv]
        proc = subprocess.run(
            [sys.executable, "-m", "summarizer", *argv],
            cwd=ROOT,
            env={**env, **case.env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        return Run(proc, tmp, servers.get(name))

    try:
        with ThreadPoolExecutor(max_workers=len(CASES)) as pool:
            results = dict(zip(CASES, pool.map(one, CASES), strict=True))
    finally:
        for srv in servers.values():
            srv.stop()
    yield results


def _describe(run: Run) -> str:
    return f"rc={run.proc.returncode}\nstdout={run.proc.stdout!r}\nstderr={run.proc.stderr!r}"


@pytest.mark.parametrize("name", list(USER_ERRORS))
def test_user_errors_exit_2_with_one_line(runs: dict[str, Run], name: str) -> None:
    run = runs[name]
    path, word = USER_ERRORS[name]
    assert run.proc.returncode == 2, _describe(run)
    assert "Traceback" not in run.proc.stderr
    (line,) = run.stderr_lines  # exactly one line
    assert line.startswith("error:"), line
    assert path in line
    assert word in line.lower()
    assert run.proc.stdout == ""


def test_unknown_format_is_a_usage_error(runs: dict[str, Run]) -> None:
    run = runs["bad_format"]
    assert run.proc.returncode == 2, _describe(run)
    assert "Usage:" in run.proc.stderr
    assert "yaml" in run.proc.stderr
    assert "Traceback" not in run.proc.stderr


def test_version(runs: dict[str, Run]) -> None:
    run = runs["version"]
    assert run.proc.returncode == 0, _describe(run)
    assert run.proc.stdout.strip() == f"summarizer {__version__}"


def test_help(runs: dict[str, Run]) -> None:
    run = runs["help"]
    assert run.proc.returncode == 0, _describe(run)
    assert "Usage:" in run.proc.stdout
    assert "summarize" in run.proc.stdout
    assert run.proc.stderr == ""


def test_summarize_json_to_stdout(runs: dict[str, Run]) -> None:
    run = runs["json"]
    assert run.proc.returncode == 0, _describe(run)
    data = json.loads(run.proc.stdout)
    assert set(data) == {"summary", "run"}
    assert data["summary"]["title"] == ANSWER["title"]
    assert data["summary"]["decisions"] == ANSWER["decisions"]
    assert data["run"]["model"] == "fake-model"
    assert data["run"]["http_calls"] == 1
    assert data["run"]["usage"] == {
        "prompt_tokens": 321,
        "completion_tokens": 123,
        "total_tokens": 444,
    }
    # Progress goes to stderr, never into the JSON.
    assert "summarizing doc.txt" in run.proc.stderr
    assert "done in" in run.proc.stderr
    assert "error" not in run.proc.stderr.lower()
    assert run.server is not None
    assert run.server.calls == 1
    request = run.server.chat_requests[0].json
    assert isinstance(request, dict)
    assert request["model"] == "fake-model"


def test_summarize_markdown_to_file(runs: dict[str, Run]) -> None:
    run = runs["markdown"]
    assert run.proc.returncode == 0, _describe(run)
    assert run.proc.stdout == ""
    out = run.tmp / "minutes.md"
    text = out.read_text(encoding="utf-8")
    assert text.startswith(f"# {ANSWER['title']}\n")
    assert "## Decisions" in text
    assert "The team agreed to move the release to Friday." in text
    assert "wrote" in run.proc.stderr
    assert not list(run.tmp.glob(".*.tmp"))  # the temporary file was renamed away


def test_provider_failure_exits_1_with_one_line(runs: dict[str, Run]) -> None:
    run = runs["provider_500"]
    assert run.proc.returncode == 1, _describe(run)
    assert "Traceback" not in run.proc.stderr
    (line,) = run.stderr_lines  # --quiet: the error is the only line
    assert line.startswith("error:")
    assert "HTTP 500" in line
    assert "upstream exploded" in line
    assert run.proc.stdout == ""
    assert run.server is not None
    assert run.server.calls == 3  # the default transport_attempts, then give up


def test_utf16_with_bom_is_accepted(runs: dict[str, Run]) -> None:
    run = runs["utf16_bom"]
    assert run.proc.returncode == 0, _describe(run)
    assert run.proc.stderr == ""
    data = json.loads(run.proc.stdout)
    assert data["run"]["document"]["format"] == "text"
    assert run.server is not None
    request = run.server.chat_requests[0].json
    assert isinstance(request, dict)
    # The model saw the decoded text, not UTF-16 bytes.
    assert "Alice Schmidt chaired the meeting" in request["messages"][-1]["content"]
