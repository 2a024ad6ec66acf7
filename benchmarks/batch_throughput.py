"""Batch throughput against a rate-limited local OpenAI-compatible server.

Starts ``tests.fakeserver.FakeOpenAI`` on 127.0.0.1 with a script
(``tests.fakeprovider.LimitedProvider``) that answers every request after a fixed
latency with a valid, grounded ``MeetingSummary`` built from the request's own
document, and enforces RPM/TPM limits with 429 + ``Retry-After``. Then:

1. runs ``summarizer batch`` (the real CLI, in a subprocess) over N synthetic
   documents with ``--rpm``/``--tpm`` set to the server's limits;
2. runs a naive sequential instructor loop over the first 20 documents;
3. reruns the unchanged job into a fresh results file (so only the cache can
   spare the calls) and counts the model calls it made.

Achieved RPM is measured at the server: successful requests over the span from
the first request's arrival to the last one's, i.e. while the job was sending.

    python benchmarks/batch_throughput.py [--docs 500] [--latency 0.5] [--rpm 1200]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import instructor  # noqa: E402
import openai  # noqa: E402

from summarizer.schemas.meeting import MeetingSummary  # noqa: E402
from tests.fakeprovider import LimitedProvider  # noqa: E402
from tests.fakeserver import FakeOpenAI  # noqa: E402

FIRST = ["Alice", "Bruno", "Chen", "Dana", "Emeka", "Farah", "Goran", "Hana", "Ivo", "Jana"]
LAST = ["Schmidt", "Okafor", "Lindqvist", "Moreau", "Tanaka", "Novak", "Silva", "Haddad"]
TEAMS = ["platform", "billing", "harbour works", "library board", "grants panel", "safety"]
SUBJECTS = [
    "the release date",
    "the hosting budget",
    "the new intake form",
    "the winter schedule",
    "the supplier contract",
    "the accessibility audit",
]
LINES = [
    "{a}: Thanks for coming. Today we look at {s}.",
    "{b}: The numbers for {s} came in lower than we planned.",
    "{a}: Then we agreed to revisit {s} at the next meeting.",
    "{c}: I can draft a short note on {s} for everyone.",
    "{b}: We agreed that {c} owns the follow-up on {s}.",
    "{c}: One risk is that {s} slips by two weeks.",
    "{a}: Noted. Let us keep {s} on the agenda.",
]


def make_documents(folder: Path, count: int, seed: int = 7) -> list[Path]:
    """Write ``count`` synthetic meeting transcripts from the templates above."""
    rng = random.Random(seed)
    paths = []
    for i in range(count):
        a, b, c = (f"{rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(3))
        team = rng.choice(TEAMS)
        lines = [f"Meeting {i} of the {team} group."]
        for subject in rng.sample(SUBJECTS, 3):
            lines += [t.format(a=a, b=b, c=c, s=subject) for t in rng.sample(LINES, 5)]
        path = folder / f"meeting-{i:04d}.txt"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def run_cli(args: list[str], cache_dir: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SUMMARIZER_CACHE_DIR=str(cache_dir))
    env.pop("OPENAI_API_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "summarizer", "batch", *args, "-q"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


def achieved_rpm(srv: FakeOpenAI, since: int) -> tuple[int, float]:
    times = [r.time for r in srv.chat_requests[since:]]
    if len(times) < 2:
        return len(times), 0.0
    span = max(times) - min(times)
    return len(times), (len(times) - 1) / span * 60 if span > 0 else 0.0


def naive_loop(base_url: str, paths: list[Path]) -> float:
    """The peer baseline: one instructor call after another."""
    client = instructor.from_openai(
        openai.OpenAI(base_url=base_url, api_key="not-needed"), mode=instructor.Mode.JSON_SCHEMA
    )
    started = time.monotonic()
    for path in paths:
        text = path.read_text(encoding="utf-8")
        fence = "0123456789ab"
        client.chat.completions.create(
            model="fake-model",
            response_model=MeetingSummary,
            messages=[
                {"role": "system", "content": "Summarise the meeting as JSON."},
                {
                    "role": "user",
                    "content": f'<document-{fence} name="{path.name}">\n{text.strip()}\n'
                    f"</document-{fence}>",
                },
            ],
        )
    return len(paths) / (time.monotonic() - started) * 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.5, help="seconds per request")
    parser.add_argument("--rpm", type=float, default=1200)
    parser.add_argument("--tpm", type=float, default=3_000_000)
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument("--naive", type=int, default=20)
    args = parser.parse_args()
    # Enough requests in flight to fill the rate at this latency, with room for overhead.
    concurrency = args.concurrency or int(args.rpm / 60 * (args.latency + 0.1) * 1.5) + 2

    with tempfile.TemporaryDirectory(prefix="batch-bench-") as tmp:
        work = Path(tmp)
        docs = work / "docs"
        docs.mkdir()
        paths = make_documents(docs, args.docs)
        provider = LimitedProvider(rpm=args.rpm, tpm=args.tpm, latency_s=args.latency)
        with FakeOpenAI(provider) as srv:
            common = ["--base-url", srv.base_url, "--model", "fake-model"]
            limits = ["--rpm", f"{args.rpm:g}", "--tpm", f"{args.tpm:g}"]
            out = work / "results.jsonl"
            started = time.monotonic()
            first = run_cli(
                [str(docs), "--out", str(out), "--concurrency", str(concurrency), *common, *limits],
                work / "cache",
            )
            wall = time.monotonic() - started
            if first.returncode not in (0, 1):
                sys.exit(f"batch failed ({first.returncode}): {first.stderr.strip()}")
            requests, rpm = achieved_rpm(srv, 0)
            http_429 = provider.rejected
            results = out.read_text(encoding="utf-8").splitlines()
            errors_file = out.with_name("results.errors.jsonl")
            failed = len(errors_file.read_text().splitlines()) if errors_file.exists() else 0
            tokens = sum(
                json.loads(line)["run"]["usage"]["total_tokens"] for line in results if line
            )

            naive_rpm = naive_loop(srv.base_url, paths[: args.naive])

            before = srv.calls
            rerun = run_cli(
                [str(docs), "--out", str(work / "rerun.jsonl"), *common, *limits], work / "cache"
            )
            rerun_calls = srv.calls - before
            if rerun.returncode != 0:
                sys.exit(f"rerun failed ({rerun.returncode}): {rerun.stderr.strip()}")

    rows = [
        ("documents", f"{args.docs}"),
        ("latency per request", f"{args.latency:g} s"),
        ("server limits", f"{args.rpm:g} RPM, {args.tpm:g} TPM"),
        ("concurrency", f"{concurrency}"),
        ("results written", f"{len(results)}"),
        ("failed", f"{failed}"),
        ("HTTP 429 answered", f"{http_429}"),
        ("requests (batch)", f"{requests}"),
        ("tokens (batch)", f"{tokens:,}"),
        ("achieved RPM (server side)", f"{rpm:.0f}"),
        ("batch wall time incl. start-up", f"{wall:.1f} s"),
        (f"naive instructor loop ({args.naive} docs)", f"{naive_rpm:.0f} RPM"),
        ("model calls on unchanged rerun", f"{rerun_calls}"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  -----")
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    print(
        f"throughput_ratio={rpm / args.rpm:.3f} failed={failed} http_429={http_429} "
        f"naive_ratio={naive_rpm / args.rpm:.3f} rerun_calls={rerun_calls}"
    )


if __name__ == "__main__":
    main()
