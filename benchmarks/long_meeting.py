"""Summarize long real transcripts with the embedded default, part by part.

    python benchmarks/long_meeting.py [--doc PATH ...] [--context-tokens N]

Without ``--doc`` it runs the four longest transcripts of
``../shared/data/meetings`` (read there at run time, never copied). Prints one
row per document and ends with one key=value line over all of them:

* ``chunks``: parts the documents were cut into (halves of a retried part count);
* ``calls``: model completions (map, re-asks, reduce);
* ``token_ratio``: prompt tokens the server reported over all calls, divided by
  the documents' own tokens as the engine's tokenizer counts them (``/tokenize``)
  -- the price of the fixed prompt repeated per part, of re-asks and of the
  reduce call;
* ``wall_s``: total seconds, engine start-up excluded;
* ``failed_chunks``: parts that could not be summarized (the run keeps going,
  with ``allow_partial``, so a gap is counted, not hidden);
* ``decision_recall``: reference decisions (the ``decisions`` sections of the
  files) covered by a predicted decision or action item, pooled over documents;
  the method is ``summarizer eval``'s (README, "Measuring quality"): a reference
  sentence counts when some predicted item's text plus evidence holds >= 50% of
  its content words.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from summarizer import Summarizer
from summarizer.config import resolve_settings
from summarizer.evaluate.datasets import load_datasets
from summarizer.evaluate.metrics import score_document
from summarizer.inputs import document_from_text

MEETINGS = Path(__file__).resolve().parents[2] / "shared" / "data" / "meetings"
DEFAULT_DOCS = (
    "qmsum-icsi-Bmr006.json",
    "qmsum-icsi-Bed015.json",
    "qmsum-icsi-Bro027.json",
    "qmsum-senedd-education_4.json",
)


def _engine_tokens(base_url: str, text: str) -> int:
    """Tokens of ``text`` by the engine's own tokenizer (llama-server ``/tokenize``)."""
    root = base_url.removesuffix("/v1")
    request = urllib.request.Request(
        f"{root}/tokenize",
        data=json.dumps({"content": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return len(json.load(response)["tokens"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--doc", type=Path, action="append")
    parser.add_argument("--context-tokens", type=int, default=None)
    parser.add_argument("--out", type=Path, help="also save each result here (JSON Lines)")
    args = parser.parse_args()
    paths = args.doc or [MEETINGS / name for name in DEFAULT_DOCS]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        print(f"skip: {missing[0]} not found (needs ../shared)", file=sys.stderr)
        return 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    settings = resolve_settings(env=env, context_tokens=args.context_tokens, allow_partial=True)
    documents = load_datasets(paths)
    rows: list[dict[str, Any]] = []
    totals = {"chunks": 0, "calls": 0, "prompt": 0, "doc_tokens": 0, "wall": 0.0, "failed": 0}
    recalled = references = 0
    with Summarizer(settings=settings, progress=lambda m: print(m, file=sys.stderr)) as s:
        s.ensure_chat()  # start the engine outside the timed region
        assert s.engine is not None, "the benchmark measures the embedded engine"
        for doc in documents:
            document = document_from_text(doc.text, name=doc.id, format="text")
            doc_tokens = _engine_tokens(s.engine.base_url, document.text)
            started = time.monotonic()
            result = s.summarize(document)
            wall = time.monotonic() - started
            run = result.run
            summary = result.summary.model_dump(mode="json")
            score = score_document(summary, document.text, doc.expected)
            chunking = run.chunking
            parts = len(chunking.parts) if chunking else 1
            failed = len(chunking.missing) if chunking else 0
            if args.out:
                with args.out.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps({"id": doc.id, **result.to_dict()}) + "\n")
            row = {
                "document": doc.id,
                "words": len(document.text.split()),
                "doc_tokens": doc_tokens,
                "chunks": parts,
                "calls": run.completions,
                "token_ratio": run.usage["prompt_tokens"] / doc_tokens,
                "wall_s": wall,
                "failed": failed,
                "decisions": f"{score.decisions_recalled}/{score.decisions_reference}"
                if score.decisions_reference is not None
                else "-",
                "grounded": f"{score.evidence_found}/{score.evidence_total}",
                "dropped": len(run.dropped),
            }
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
            totals["chunks"] += parts
            totals["calls"] += run.completions
            totals["prompt"] += run.usage["prompt_tokens"]
            totals["doc_tokens"] += doc_tokens
            totals["wall"] += wall
            totals["failed"] += failed
            if score.decisions_reference:
                references += score.decisions_reference
                recalled += score.decisions_recalled or 0
    header = list(rows[0])
    widths = {h: max(len(h), *(len(_cell(r[h])) for r in rows)) for h in header}
    print(" | ".join(h.ljust(widths[h]) for h in header))
    print("-+-".join("-" * widths[h] for h in header))
    for row in rows:
        print(" | ".join(_cell(row[h]).ljust(widths[h]) for h in header))
    recall = recalled / references if references else float("nan")
    print(
        f"chunks={totals['chunks']} calls={totals['calls']} "
        f"token_ratio={totals['prompt'] / totals['doc_tokens']:.2f} "
        f"wall_s={totals['wall']:.0f} failed_chunks={totals['failed']} "
        f"decision_recall={recall:.2f}"
    )
    return 0


def _cell(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    sys.exit(main())
