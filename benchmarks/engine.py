"""Where the embedded default's time goes: wall clock against llama.cpp's own clock.

    python benchmarks/engine.py [--runs N] [--docs PATH ...]

Starts the embedded engine (the model must be assembled: `summarizer engine install`),
then summarizes the bundled example and the example news report from ../shared/examples
(skipped when ../shared is absent), each once cold (first time the engine sees the
document) and N times warm (the same document again, its prompt in the KV cache).

Per run it prints wall seconds, prompt and completion tokens, the engine's own
prompt-evaluation and generation seconds, HTTP calls and the server's resident memory.
The final line:

    overhead_ratio=<warm wall / warm engine compute> startup_s=<engine start-up>
    prompt_tokens=<tokens of the fixed prompt: system prompt, field guide and wrapper,
    without the document>

The JSON schema itself goes to the engine's grammar, not to the prompt; what the model
reads of the schema is the field guide in the system prompt, so it is counted here.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.request
from pathlib import Path
from typing import Any

from summarizer import Summarizer, load_document
from summarizer.api import _fence
from summarizer.config import resolve_settings
from summarizer.prompts import load_prompt
from summarizer.schemas import MeetingSummary
from summarizer.schemas.guide import field_guide

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DOCS = (
    ROOT / "examples" / "harbour-works-committee.txt",
    ROOT.parent / "shared" / "examples" / "news-report-china-russia-2023.txt",
)


def _post(base: str, path: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def fixed_prompt_tokens(server: str) -> int:
    """Tokens of everything the model reads besides the document itself."""
    prompt = load_prompt("summarize")
    rendered = prompt.render(
        document="", name="x.txt", fence=_fence(""), field_guide=field_guide(MeetingSummary)
    )
    messages = [
        {"role": "system", "content": rendered["system"]},
        {"role": "user", "content": rendered["user"]},
    ]
    text = _post(server, "/apply-template", {"messages": messages})["prompt"]
    return len(_post(server, "/tokenize", {"content": text})["tokens"])


def rss_mb(pid: int | None) -> float:
    """Resident memory of a process in MiB (0 when unknown)."""
    if pid is None:
        return 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=2, help="warm runs per document")
    parser.add_argument("--docs", type=Path, nargs="*", default=list(DEFAULT_DOCS))
    args = parser.parse_args()
    docs = [d for d in args.docs if d.is_file()]
    for missing in set(args.docs) - set(docs):
        print(f"skip: {missing} not found", file=sys.stderr)
    # The embedded default: whatever provider the environment names is ignored.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "SUMMARIZER_BASE_URL", "SUMMARIZER_API_KEY"))
    }
    settings = resolve_settings(env=env)
    rows: list[dict[str, Any]] = []
    with Summarizer(settings=settings) as s:
        s.ensure_chat()  # start the engine outside the timed runs
        engine = s.engine
        assert engine is not None and engine._proc is not None
        startup = engine.startup_s or 0.0
        server = engine.base_url.removesuffix("/v1")
        prefix = fixed_prompt_tokens(server)
        for doc in docs:
            document = load_document(doc)
            for run in range(args.runs + 1):
                run_info = s.summarize(document).to_dict()["run"]
                rows.append(
                    {
                        "document": doc.name[:28],
                        "run": "cold" if run == 0 else f"warm{run}",
                        "wall_s": run_info["duration_s"],
                        "engine_s": run_info["engine_seconds"] or 0.0,
                        "prompt_eval_s": run_info["engine_prompt_s"] or 0.0,
                        "generation_s": run_info["engine_generation_s"] or 0.0,
                        "prompt_tok": run_info["usage"]["prompt_tokens"],
                        "completion_tok": run_info["usage"]["completion_tokens"],
                        "calls": run_info["http_calls"],
                        "engine_rss_mb": rss_mb(engine._proc.pid),
                    }
                )
    header = list(rows[0])
    print(" | ".join(header))
    for row in rows:
        print(
            " | ".join(
                f"{row[h]:.2f}" if isinstance(row[h], float) else str(row[h]) for h in header
            )
        )
    warm = [r for r in rows if r["run"] != "cold"]
    wall = sum(r["wall_s"] for r in warm)
    compute = sum(r["engine_s"] for r in warm)
    print(f"engine start-up: {startup:.2f} s; fixed prompt: {prefix} tokens", file=sys.stderr)
    print(
        f"overhead_ratio={wall / compute if compute else float('nan'):.3f} "
        f"startup_s={startup:.2f} prompt_tokens={prefix}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
