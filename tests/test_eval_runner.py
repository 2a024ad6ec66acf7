"""``summarizer eval`` against a real local HTTP server: a failing document is recorded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from summarizer.cli import app
from summarizer.evaluate.report import load_report
from tests.conftest import FIXTURES
from tests.fakeserver import FakeOpenAI, Reply, completion, error

SUMMARY = {
    "title": "Riverside Library board",
    "date": "2025-05-14",
    "location": "Harwick",
    "participants": [
        {
            "name": "Ingrid Solberg",
            "role": "chair",
            "organization": None,
            "evidence": "chair Ingrid Solberg",
        },
        {
            "name": "Paul Dacre",
            "role": "town engineer",
            "organization": None,
            "evidence": "the town engineer, Paul Dacre",
        },
    ],
    "topics": ["roof leak"],
    "positions": [],
    "decisions": [
        {
            "description": "Close the reading room in July for the roof repair.",
            "evidence": "The board agreed to close the reading room in July",
        }
    ],
    "action_items": [],
    "summary": "The board met about the roof leak.",
}


def _script(index: int, body: dict[str, Any]) -> Reply:
    prompt = json.dumps(body.get("messages", []))
    if "Riverside" in prompt:
        return completion(json.dumps(SUMMARY), prompt_tokens=300, completion_tokens=120)
    return error(400, "fake: this document is refused")


def test_a_failing_document_is_recorded_and_the_run_goes_on(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    with FakeOpenAI(_script) as server:
        args = ["eval", str(FIXTURES / "eval_tiny.jsonl"), "--base-url", server.base_url]
        args += ["--model", "fake-model", "--out", str(out), "--quiet"]
        outcome = CliRunner().invoke(app, args, env={"OPENAI_API_KEY": "sk-test-eval-1234567"})
        calls = server.calls
    assert outcome.exit_code == 0, outcome.output
    report = load_report(out)
    library, ferry = report["documents"]
    assert library["ok"] and not ferry["ok"]
    assert ferry["error"]["type"] == "ProviderError" and "400" in ferry["error"]["message"]
    assert "sk-test-eval" not in out.read_text()  # the key never reaches the report
    score = library["score"]
    # Solberg is right, Dacre was only mentioned, Wren and Obi were missed.
    assert score["participants"] == {"tp": 1, "fp": 1, "fn": 2, "mentioned": 1}
    assert (score["evidence_found"], score["evidence_total"]) == (3, 3)
    assert score["date_correct"] and score["location_correct"]
    assert (score["decisions_recalled"], score["actions_recalled"]) == (1, 0)
    total = report["totals"]
    assert total["schema_valid_rate"] == 0.5 and total["tokens_per_doc"] == 420
    assert total["calls_per_doc"] == 1.0
    # One completion for the good document, one refused request for the other.
    assert calls == 2
    assert "ProviderError" in outcome.stdout
