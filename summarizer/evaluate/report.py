"""Totals over a run, the printed table, and two runs side by side.

A report is plain JSON data (``runner.run_eval`` builds it, ``--out`` saves it),
so an older report from another branch or model can be compared with a new one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from summarizer.errors import InputError

__all__ = ["ROWS", "compare_table", "load_report", "report_table", "totals"]


def load_report(path: Path) -> dict[str, Any]:
    """A report written by ``summarizer eval --out``.

    Raises:
        InputError: the file is missing or is not such a report.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{path}: not a readable eval report ({error})") from None
    if not isinstance(data, dict) or not isinstance(data.get("totals"), dict):
        raise InputError(f"{path}: not an eval report (no totals)")
    return data


def _ratio(num: float, den: float) -> float | None:
    return round(num / den, 4) if den else None


def _sum(docs: list[dict[str, Any]], key: str) -> int:
    return sum(int(d["score"][key] or 0) for d in docs if d["score"][key] is not None)


def _count(docs: list[dict[str, Any]], key: str) -> int:
    return sum(1 for d in docs if d["score"][key])


def totals(documents: list[dict[str, Any]]) -> dict[str, Any]:
    """Aggregate metrics over every document record of a report.

    Rates are ``None`` when no document is labelled for them. Participant
    precision/recall/F1 are micro-averaged (summed counts over documents).
    """
    n = len(documents)
    ok = [d for d in documents if d.get("ok")]
    scored = [d for d in ok if d.get("score")]
    people = [d["score"]["participants"] for d in scored if d["score"]["participants"]]
    tp = sum(p["tp"] for p in people)
    fp = sum(p["fp"] for p in people)
    fn = sum(p["fn"] for p in people)
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = (
        round(2 * precision * recall / (precision + recall), 4)
        if precision and recall
        else (0.0 if precision is not None and recall is not None else None)
    )
    date_stated = [d for d in scored if d["score"]["date_stated"]]
    loc_stated = [d for d in scored if d["score"]["location_stated"]]
    cost = [d["cost"] for d in ok if d.get("cost")]
    return {
        "documents": n,
        "schema_valid": len(ok),
        "schema_valid_rate": _ratio(len(ok), n),
        "evidence_total": _sum(scored, "evidence_total"),
        "grounding_rate": _ratio(_sum(scored, "evidence_found"), _sum(scored, "evidence_total")),
        "participant_tp": tp,
        "participant_fp": fp,
        "participant_fn": fn,
        "participant_precision": precision,
        "participant_recall": recall,
        "participant_f1": f1,
        "mentioned_as_participant": sum(p["mentioned"] for p in people),
        "date_documents": len(date_stated),
        "date_accuracy": _ratio(_count(date_stated, "date_correct"), len(date_stated)),
        "date_spurious": _count(scored, "date_spurious"),
        "location_documents": len(loc_stated),
        "location_accuracy": _ratio(_count(loc_stated, "location_correct"), len(loc_stated)),
        "location_spurious": _count(scored, "location_spurious"),
        "decisions_reference": _sum(scored, "decisions_reference"),
        "decision_recall": _ratio(
            _sum(scored, "decisions_recalled"), _sum(scored, "decisions_reference")
        ),
        "actions_reference": _sum(scored, "actions_reference"),
        "action_recall": _ratio(
            _sum(scored, "actions_recalled"), _sum(scored, "actions_reference")
        ),
        "calls_per_doc": _ratio(sum(c["completions"] for c in cost), len(cost)),
        "http_calls_per_doc": _ratio(sum(c["http_calls"] for c in cost), len(cost)),
        "tokens_per_doc": _ratio(sum(c["total_tokens"] for c in cost), len(cost)),
        "seconds_per_doc": _ratio(sum(c["seconds"] for c in cost), len(cost)),
    }


# (label, key in totals, how to print it)
ROWS: list[tuple[str, str, str]] = [
    ("documents", "documents", "int"),
    ("schema-valid rate", "schema_valid_rate", "pct"),
    ("grounding rate (evidence in source)", "grounding_rate", "pct"),
    ("evidence quotes", "evidence_total", "int"),
    ("participant precision", "participant_precision", "pct"),
    ("participant recall", "participant_recall", "pct"),
    ("participant F1", "participant_f1", "pct"),
    ("mentioned people as participants", "mentioned_as_participant", "int"),
    ("date accuracy (docs stating one)", "date_accuracy", "pct"),
    ("  documents stating a date", "date_documents", "int"),
    ("  dates given where none stated", "date_spurious", "int"),
    ("location accuracy (docs stating one)", "location_accuracy", "pct"),
    ("  documents stating a location", "location_documents", "int"),
    ("  locations given where none stated", "location_spurious", "int"),
    ("decision recall", "decision_recall", "pct"),
    ("  reference decisions", "decisions_reference", "int"),
    ("action-item recall", "action_recall", "pct"),
    ("  reference action items", "actions_reference", "int"),
    ("model calls / doc", "calls_per_doc", "num"),
    ("HTTP calls / doc", "http_calls_per_doc", "num"),
    ("tokens / doc", "tokens_per_doc", "int"),
    ("seconds / doc", "seconds_per_doc", "num"),
]


def _fmt(value: Any, how: str) -> str:
    if value is None:
        return "n/a"
    if how == "pct":
        return f"{100 * value:.1f}%"
    if how == "int":
        return f"{round(value)}"
    return f"{value:.2f}"


def _delta(new: Any, old: Any, how: str) -> str:
    if new is None or old is None:
        return ""
    diff = new - old
    if how == "pct":
        return f"{100 * diff:+.1f} pt"
    if how == "int":
        return f"{round(diff):+d}"
    return f"{diff:+.2f}"


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def _doc_rows(report: dict[str, Any]) -> list[list[str]]:
    rows = [["document", "valid", "evidence", "people P/R", "date", "location", "decisions"]]
    for doc in report["documents"]:
        score = doc.get("score")
        if not doc.get("ok") or not score:
            rows.append([doc["id"], "FAIL", doc.get("error", {}).get("type", ""), "", "", "", ""])
            continue
        people = score["participants"]
        tp = people["tp"] if people else 0
        pr = f"{tp}/{tp + people['fp']} {tp}/{tp + people['fn']}" if people else "-"

        def mark(stated: Any, correct: Any, spurious: Any) -> str:
            if stated:
                return "ok" if correct else "wrong"
            return "invented" if spurious else "-"

        dec = (
            f"{score['decisions_recalled']}/{score['decisions_reference']}"
            if score["decisions_reference"] is not None
            else "-"
        )
        rows.append(
            [
                doc["id"],
                "yes",
                f"{score['evidence_found']}/{score['evidence_total']}",
                pr,
                mark(score["date_stated"], score["date_correct"], score["date_spurious"]),
                mark(
                    score["location_stated"],
                    score["location_correct"],
                    score["location_spurious"],
                ),
                dec,
            ]
        )
    return rows


def report_table(report: dict[str, Any]) -> str:
    """Per-document rows, then the totals."""
    run = report.get("run", {})
    head = f"eval: model {run.get('model')} ({run.get('provider')}), prompt {run.get('prompt')}\n"
    total = report["totals"]
    rows = [["metric", "value"]] + [[label, _fmt(total.get(key), how)] for label, key, how in ROWS]
    return head + _table(_doc_rows(report)) + "\n" + _table(rows)


def compare_table(report: dict[str, Any], other: dict[str, Any]) -> str:
    """Two runs' totals side by side, with the difference (this run minus the other)."""

    def name(r: dict[str, Any]) -> str:
        run = r.get("run", {})
        return f"{run.get('model')}/{run.get('prompt')}"

    rows = [["metric", f"this ({name(report)})", f"other ({name(other)})", "delta"]]
    for label, key, how in ROWS:
        new, old = report["totals"].get(key), other["totals"].get(key)
        rows.append([label, _fmt(new, how), _fmt(old, how), _delta(new, old, how)])
    return _table(rows)
