"""Summarize the example news report with the embedded default and check the result.

    python benchmarks/example_report.py [--doc PATH] [--runs N]

Reads the third-party example from ../shared/examples (never copied into the
repository). Prints a table per run and ends with one key=value line:
wall seconds, tokens, participants found, whether the two ministers (and not
the presidents they cite) are the participants, and the share of evidence
quotes found verbatim in the text.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

from summarizer import Summarizer, load_document
from summarizer.config import resolve_settings
from summarizer.evaluate.metrics import evidence_quotes

DEFAULT_DOC = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "examples"
    / "news-report-china-russia-2023.txt"
)
EXPECTED = ("Wang", "Lavrov")
CITED_ONLY = ("Xi Jinping", "Putin")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--doc", type=Path, default=DEFAULT_DOC)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    if not args.doc.is_file():
        print(f"skip: {args.doc} not found (needs ../shared)", file=sys.stderr)
        return 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    settings = resolve_settings(env=env)
    text = load_document(args.doc).text
    rows = []
    with Summarizer(settings=settings, progress=lambda m: print(m, file=sys.stderr)) as s:
        for run in range(1, args.runs + 1):
            result = s.summarize(args.doc)
            data = result.to_dict()
            names = [p["name"] for p in data["summary"]["participants"]]
            quotes = evidence_quotes(data["summary"])
            grounded = sum(q in text for q in quotes) / len(quotes) if quotes else 1.0
            ministers = all(any(e in n for n in names) for e in EXPECTED)
            cited = any(c in n for n in names for c in CITED_ONLY)
            rows.append(
                {
                    "run": run,
                    "wall_s": data["run"]["duration_s"],
                    "engine_s": data["run"]["engine_seconds"] or 0.0,
                    "prompt_tok": data["run"]["usage"]["prompt_tokens"],
                    "completion_tok": data["run"]["usage"]["completion_tokens"],
                    "calls": data["run"]["http_calls"],
                    "participants": "; ".join(names),
                    "ministers_ok": ministers and not cited,
                    "grounded": grounded,
                    "dropped": len(data["run"]["dropped"]),
                }
            )
        startup = s.engine.startup_s if s.engine else None
    header = list(rows[0])
    print(" | ".join(header))
    for row in rows:
        print(
            " | ".join(
                f"{row[h]:.2f}" if isinstance(row[h], float) else str(row[h]) for h in header
            )
        )
    print(
        f"wall_s={statistics.median(r['wall_s'] for r in rows):.1f} "
        f"startup_s={startup or 0:.2f} "
        f"prompt_tokens={rows[-1]['prompt_tok']} completion_tokens={rows[-1]['completion_tok']} "
        f"ministers_ok={all(r['ministers_ok'] for r in rows)} "
        f"grounded={min(r['grounded'] for r in rows):.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
