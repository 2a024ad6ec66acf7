"""``summarizer batch`` as users run it, in a subprocess, killed with SIGKILL mid-run.

The provider is a fake OpenAI server in this (the pytest) process answering with
grounded summaries of each request's document, after a short latency so that a
run is still going when the test kills it. When to kill is decided by events
(lines in the results file), never by timing.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from summarizer.batch.results import errors_path
from tests.fakeprovider import summary_reply
from tests.fakeserver import FakeOpenAI, Reply

ROOT = Path(__file__).resolve().parents[1]
DOCS = 60
CONCURRENCY = 4


def write_docs(folder: Path, n: int) -> list[str]:
    folder.mkdir()
    for i in range(n):
        (folder / f"m{i:03d}.txt").write_text(
            f"Meeting {i} of the library board.\n"
            f"Hana Moreau: We agreed to extend the opening hours of branch {i}.\n"
            f"Goran Tanaka: I will draft the rota for branch {i}.\n"
        )
    return [f"m{i:03d}.txt" for i in range(n)]


def cli(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "summarizer", "batch", *args]


def env(tmp_path: Path) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SUMMARIZER_"))}
    values["SUMMARIZER_CACHE_DIR"] = str(tmp_path / "cache")
    return values


def slow(index: int, body: dict[str, Any]) -> Reply:
    reply = summary_reply(body)
    reply.delay_s = 0.1
    return reply


def complete_lines(path: Path) -> list[dict[str, Any]]:
    data = path.read_bytes()
    assert data == b"" or data.endswith(b"\n"), "the results file ends in a partial line"
    return [json.loads(line) for line in data.splitlines()]


def test_sigkill_mid_run_then_rerun_gives_every_document_exactly_once(tmp_path: Path) -> None:
    ids = write_docs(tmp_path / "docs", DOCS)
    out = tmp_path / "results.jsonl"
    with FakeOpenAI(slow) as srv:
        args = [
            str(tmp_path / "docs"),
            "--out", str(out),
            "--base-url", srv.base_url,
            "--model", "fake-model",
            "--concurrency", str(CONCURRENCY),
            "-q",
        ]  # fmt: skip
        proc = subprocess.Popen(
            cli(args),
            cwd=ROOT,
            env=env(tmp_path),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 120  # a safety net, not a measurement
            while not (out.exists() and out.read_bytes().count(b"\n") >= 10):
                assert proc.poll() is None, f"batch ended before the kill: {proc.stderr}"
                assert time.monotonic() < deadline, "no progress from the batch"
                time.sleep(0.02)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            assert proc.stderr is not None
            proc.stderr.close()
        assert proc.returncode == -signal.SIGKILL
        before = complete_lines(out)
        assert 10 <= len(before) < DOCS, "the kill must land mid-run"
        assert len({r["id"] for r in before}) == len(before)
        calls_before = srv.calls

        loud = [a for a in args if a != "-q"]  # this time with the progress bar and report
        rerun = subprocess.run(
            cli(loud), cwd=ROOT, env=env(tmp_path), capture_output=True, text=True
        )
        assert rerun.returncode == 0, rerun.stderr
        assert "batch report" in rerun.stderr
        skipped = re.search(r"already done \(skipped\)\W+(\d+)", rerun.stderr)
        assert skipped is not None and int(skipped.group(1)) == len(before)
        after = complete_lines(out)
        rerun_calls = srv.calls - calls_before

    counts = Counter(r["id"] for r in after)
    assert sorted(counts) == ids
    assert set(counts.values()) == {1}
    assert after[: len(before)] == before  # the first run's lines are kept as they were
    # The rerun asked the model only for what was not done (minus what the cache had):
    # the documents in flight at the kill were the only work lost.
    assert rerun_calls <= DOCS - len(before)
    assert calls_before + rerun_calls <= DOCS + CONCURRENCY
    assert not errors_path(out).exists() or errors_path(out).read_text() == ""


def test_failed_documents_exit_1_with_one_line_and_an_errors_file(tmp_path: Path) -> None:
    write_docs(tmp_path / "docs", 3)
    (tmp_path / "docs" / "blank.txt").write_text("\n\n")
    out = tmp_path / "results.jsonl"
    with FakeOpenAI(lambda i, body: summary_reply(body)) as srv:
        args = [str(tmp_path / "docs"), "--out", str(out), "--base-url", srv.base_url, "-q"]
        run = subprocess.run(cli(args), cwd=ROOT, env=env(tmp_path), capture_output=True, text=True)
        assert srv.calls == 3
    assert run.returncode == 1
    assert run.stderr.strip().count("\n") == 0
    assert "1 of 4 document(s) failed" in run.stderr
    assert len(complete_lines(out)) == 3
    [error] = complete_lines(errors_path(out))
    assert (error["id"], error["error"]["type"]) == ("blank.txt", "EmptyInputError")


@pytest.mark.parametrize("extra", [["--shard", "3/2"], ["--concurrency", "0"]])
def test_bad_options_are_usage_errors(tmp_path: Path, extra: list[str]) -> None:
    write_docs(tmp_path / "docs", 1)
    args = [str(tmp_path / "docs"), "--out", str(tmp_path / "r.jsonl"), *extra]
    args += ["--base-url", "http://127.0.0.1:9/v1"]
    run = subprocess.run(cli(args), cwd=ROOT, env=env(tmp_path), capture_output=True, text=True)
    assert run.returncode == 2, run.stderr
    assert run.stderr.startswith("error:")
