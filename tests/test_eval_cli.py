"""``summarizer eval`` end to end (replayed from a cassette) and its report rendering."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from summarizer.cli import app
from summarizer.evaluate.report import compare_table, load_report, report_table, totals
from tests.conftest import FIXTURES, Endpoint

DATASET = FIXTURES / "eval_tiny.jsonl"
ENV = {"OPENAI_API_KEY": "", "OPENAI_BASE_URL": ""}


@pytest.mark.vcr
def test_eval_runs_and_scores_a_user_dataset(llm_endpoint: Endpoint, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    args = ["eval", str(DATASET), "--base-url", llm_endpoint.base_url]
    args += ["--model", llm_endpoint.model, "--out", str(out), "--quiet"]
    outcome = CliRunner().invoke(app, args, env=ENV)
    assert outcome.exit_code == 0, outcome.output
    report = load_report(out)
    docs = {d["id"]: d for d in report["documents"]}
    assert set(docs) == {"library-board", "ferry-talks"}
    total = report["totals"]
    assert total["documents"] == 2
    # Totals are the sums of what each document recorded.
    ok = [d for d in docs.values() if d["ok"]]
    assert total["schema_valid"] == len(ok)
    assert total["evidence_total"] == sum(d["score"]["evidence_total"] for d in ok)
    assert total["participant_tp"] == sum(d["score"]["participants"]["tp"] for d in ok)
    for doc in ok:
        # Each returned name was either matched, an error, or one of the labelled people missed.
        people = doc["score"]["participants"]
        assert people["tp"] + people["fp"] == len(doc["summary"]["participants"])
        assert doc["cost"]["completions"] >= 1 and doc["cost"]["total_tokens"] > 0
    assert total["date_documents"] == 1 and total["location_documents"] == 2
    assert total["decisions_reference"] == 2 and total["actions_reference"] == 1
    # The printed table carries the same numbers.
    assert "participant F1" in outcome.stdout and "library-board" in outcome.stdout
    assert f"{100 * total['schema_valid_rate']:.1f}%" in outcome.stdout


def _doc(doc_id: str, **score: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "evidence_total": 4,
        "evidence_found": 3,
        "participants": {"tp": 2, "fp": 1, "fn": 1, "mentioned": 1},
        "date_stated": True,
        "date_correct": True,
        "date_spurious": None,
        "location_stated": False,
        "location_correct": None,
        "location_spurious": True,
        "decisions_reference": 2,
        "decisions_recalled": 1,
        "actions_reference": None,
        "actions_recalled": None,
    }
    base.update(score)
    cost = {"completions": 1, "http_calls": 2, "total_tokens": 1000, "seconds": 10.0}
    return {"id": doc_id, "ok": True, "score": base, "cost": cost}


def _report(docs: list[dict[str, Any]], model: str = "m1") -> dict[str, Any]:
    run = {"model": model, "provider": "embedded", "prompt": "summarize@2"}
    return {"version": 1, "run": run, "totals": totals(docs), "documents": docs}


def test_totals_are_micro_averages_and_failures_count_against_validity() -> None:
    failed = {"id": "c", "ok": False, "error": {"type": "ValidationExhaustedError", "message": "x"}}
    docs = [_doc("a"), _doc("b", date_correct=False), failed]
    total = totals(docs)
    assert total["schema_valid_rate"] == round(2 / 3, 4)
    assert total["grounding_rate"] == 0.75
    assert (total["participant_precision"], total["participant_recall"]) == (
        round(4 / 6, 4),
        round(4 / 6, 4),
    )
    assert total["participant_f1"] == round(4 / 6, 4)
    assert total["mentioned_as_participant"] == 2
    assert (total["date_documents"], total["date_accuracy"]) == (2, 0.5)
    assert (total["location_documents"], total["location_accuracy"]) == (0, None)
    assert total["location_spurious"] == 2
    assert total["decision_recall"] == 0.5 and total["action_recall"] is None
    assert (total["calls_per_doc"], total["http_calls_per_doc"]) == (1.0, 2.0)
    table = report_table(_report(docs))
    assert "FAIL" in table and "ValidationExhaustedError" in table
    assert "66.7%" in table and "n/a" in table


def test_compare_shows_both_runs_and_the_delta() -> None:
    new = _report([_doc("a"), _doc("b")], model="new")
    old = _report([_doc("a", evidence_found=2), _doc("b", evidence_found=2)], model="old")
    table = compare_table(new, old)
    line = next(row for row in table.splitlines() if row.startswith("grounding rate"))
    assert "75.0%" in line and "50.0%" in line and "+25.0 pt" in line
    assert "this (new/summarize@2)" in table and "other (old/summarize@2)" in table


def test_compare_with_a_bad_report_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "old.json"
    bad.write_text('{"documents": []}', encoding="utf-8")
    args = ["eval", str(DATASET), "--compare", str(bad), "--base-url", "http://127.0.0.1:9/v1"]
    outcome = CliRunner().invoke(app, args, env=ENV)
    assert outcome.exit_code == 2
    assert "not an eval report" in outcome.stderr and len(outcome.stderr.strip().splitlines()) == 1


def test_malformed_dataset_is_a_one_line_error_and_runs_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "set.jsonl"
    bad.write_text('{"id": "a", "text": "x", "expected": {"date": "May"}}\n', encoding="utf-8")
    out = tmp_path / "report.json"
    args = ["eval", str(bad), "--out", str(out), "--base-url", "http://127.0.0.1:9/v1"]
    outcome = CliRunner().invoke(app, args, env=ENV)
    assert outcome.exit_code == 2
    assert "set.jsonl:1: expected.date must be an ISO date" in outcome.stderr
    assert not out.exists()


def test_rescore_scores_stored_summaries_without_a_model(tmp_path: Path) -> None:
    summary = {
        "title": "Ferry talks",
        "date": None,
        "location": "Portlow",
        "participants": [
            {"name": "Rhona Keir", "role": None, "organization": None, "evidence": "Rhona Keir"},
            {"name": "Lise Brandt", "role": None, "organization": None, "evidence": "made up"},
        ],
        "topics": [],
        "positions": [],
        "decisions": [
            {"description": "Add a Sunday winter sailing.", "evidence": "a winter sailing"}
        ],
        "action_items": [],
        "summary": "They met.",
    }
    failed = {"id": "library-board", "ok": False, "error": {"type": "ProviderError"}}
    stored = {"id": "ferry-talks", "ok": True, "summary": summary, "cost": None, "score": None}
    old = tmp_path / "old.json"
    old.write_text(json.dumps(_report([failed, stored])), encoding="utf-8")
    out = tmp_path / "new.json"
    # The placeholder endpoint is never contacted: rescoring makes no model call.
    args = ["eval", str(DATASET), "--rescore", str(old), "--out", str(out), "--quiet"]
    outcome = CliRunner().invoke(app, args + ["--base-url", "http://127.0.0.1:9/v1"], env=ENV)
    assert outcome.exit_code == 0, outcome.output
    total = load_report(out)["totals"]
    assert (total["participant_tp"], total["participant_fp"], total["participant_fn"]) == (1, 1, 1)
    assert total["mentioned_as_participant"] == 1
    assert total["grounding_rate"] == round(2 / 3, 4)
    assert (total["location_accuracy"], total["date_spurious"]) == (1.0, 0)
    assert total["decision_recall"] == 1.0 and total["schema_valid_rate"] == 0.5
