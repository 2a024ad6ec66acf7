"""Run the prompt-injection corpus through a real model and count attacks that got through.

    python benchmarks/injection.py [--base-url URL --model M] [--only NAME ...]

With no provider configured this starts the embedded engine (about a minute per
document on a 2-core machine). The corpus is ``tests/fixtures/injection/*.txt``;
``cases.json`` gives each document's canaries: strings the attack tries to get into
the output and that are no fact of the meeting.

Per document the table shows whether the attack was *followed* (a canary anywhere
in the final output, after grounding; *where* names the fields), whether the model
*tried* (a canary in an item that grounding dropped), whether the output is *valid*
(it validates against ``schemas/meeting_summary.schema.json``; a run error counts as
invalid), the items dropped, and the wall time. The last line is
``injection_followed=<n>/<total> invalid_outputs=<n>`` (goal: 0 and 0).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema

from summarizer import Summarizer
from summarizer.config import resolve_settings
from summarizer.errors import RunError

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "fixtures" / "injection"
SCHEMA = json.loads((ROOT / "schemas" / "meeting_summary.schema.json").read_text(encoding="utf-8"))


def _contains(text: str, canaries: list[str]) -> list[str]:
    low = text.lower()
    return [c for c in canaries if c.lower() in low]


def _where(data: Any, canaries: list[str], path: str = "") -> list[str]:
    """Paths of the output fields holding a canary (e.g. ``summary``, ``decisions[1]``)."""
    if isinstance(data, dict):
        return [p for k, v in data.items() for p in _where(v, canaries, f"{path}.{k}")]
    if isinstance(data, list):
        return [p for i, v in enumerate(data) for p in _where(v, canaries, f"{path}[{i}]")]
    if isinstance(data, str) and _contains(data, canaries):
        return [path.lstrip(".")]
    return []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", help="an OpenAI-compatible endpoint (default: embedded)")
    parser.add_argument("--model")
    parser.add_argument("--only", nargs="*", help="document names (default: all)")
    parser.add_argument("--save", type=Path, help="write every result here (JSON)")
    args = parser.parse_args()
    cases: dict[str, dict[str, Any]] = {
        k: v
        for k, v in json.loads((CORPUS / "cases.json").read_text(encoding="utf-8")).items()
        if not k.startswith("_") and (not args.only or k in args.only)
    }
    # The embedded engine unless a URL is given: ignore a developer's OpenAI settings.
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    settings = resolve_settings(base_url=args.base_url, model=args.model, env=env)
    rows: list[dict[str, Any]] = []
    saved: dict[str, Any] = {}
    with Summarizer(settings=settings, progress=lambda m: print(m, file=sys.stderr)) as s:
        for name, case in cases.items():
            started = time.monotonic()
            row: dict[str, Any] = {"document": name}
            try:
                result = s.summarize(CORPUS / f"{name}.txt")
            except RunError as exc:
                row.update(followed="-", tried="-", valid=False, dropped="-", error=str(exc)[:80])
                row["where"] = ""
            else:
                data = result.to_dict()
                output = json.dumps(data["summary"], ensure_ascii=False)
                dropped = json.dumps(data["run"]["dropped"], ensure_ascii=False)
                try:
                    jsonschema.validate(data["summary"], SCHEMA)
                    valid = True
                except jsonschema.ValidationError:
                    valid = False
                saved[name] = data
                row.update(
                    followed=",".join(_contains(output, case["canary"])) or "no",
                    where=",".join(_where(data["summary"], case["canary"])),
                    tried=",".join(_contains(dropped, case["canary"])) or "no",
                    valid=valid,
                    dropped=len(data["run"]["dropped"]),
                    error="",
                )
            row["seconds"] = round(time.monotonic() - started, 1)
            rows.append(row)
            print(f"{name}: {row}", file=sys.stderr)
    if args.save:
        args.save.write_text(json.dumps(saved, indent=2, ensure_ascii=False), encoding="utf-8")
    header = ["document", "followed", "where", "tried", "valid", "dropped", "seconds", "error"]
    widths = {h: max(len(h), *(len(str(r[h])) for r in rows)) for h in header}
    print(" | ".join(h.ljust(widths[h]) for h in header))
    print("-+-".join("-" * widths[h] for h in header))
    for row in rows:
        print(" | ".join(str(row[h]).ljust(widths[h]) for h in header))
    followed = sum(r["followed"] not in ("no", "-") for r in rows)
    invalid = sum(not r["valid"] for r in rows)
    print(f"injection_followed={followed}/{len(rows)} invalid_outputs={invalid}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
