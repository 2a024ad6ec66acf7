"""The Python API end to end, replayed from cassettes recorded against the embedded engine."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import vcr as vcrpy
from pydantic import BaseModel, ConfigDict, Field
from typer.testing import CliRunner

from summarizer import (
    Evidence,
    MeetingSummary,
    Mentioned,
    ProviderError,
    Result,
    Summarizer,
    asummarize,
    load_document,
    summarize,
)
from summarizer.cli import app
from summarizer.evaluate.metrics import evidence_quotes
from summarizer.prompts import bundled_prompts_dir, load_prompt
from tests.conftest import CASSETTES, FIXTURES, ROOT, Endpoint, json_body_matcher

SCHEMA = json.loads((ROOT / "schemas" / "meeting_summary.schema.json").read_text())


def _assert_grounded(result: Result[Any], source: Path) -> None:
    text = load_document(source).text
    quotes = evidence_quotes(result.summary.model_dump(mode="json"))
    for quote in quotes:
        assert quote in text, f"evidence not verbatim in {source.name}: {quote!r}"
    assert result.run.usage["total_tokens"] == (
        result.run.usage["prompt_tokens"] + result.run.usage["completion_tokens"]
    )
    assert result.run.completions >= 1
    assert result.run.http_calls >= result.run.completions
    assert result.run.prompt.name == "summarize"
    # The run names the template version that was rendered (from its front matter).
    assert result.run.prompt.version == load_prompt("summarize").version != ""
    assert result.run.document.sha256 == load_document(source).sha256


def _run(endpoint: Endpoint, name: str, **kwargs: Any) -> Result[Any]:
    return summarize(
        FIXTURES / name,
        base_url=endpoint.base_url,
        model=endpoint.model,
        api_key=endpoint.api_key,
        **kwargs,
    )


@pytest.mark.vcr
def test_board_minutes_summary_is_valid_and_grounded(llm_endpoint: Endpoint) -> None:
    result = _run(llm_endpoint, "board_meeting.txt")
    data = result.to_dict()
    jsonschema.validate(data["summary"], SCHEMA)
    _assert_grounded(result, FIXTURES / "board_meeting.txt")
    names = " ".join(p.name for p in result.summary.participants)
    assert result.summary.participants, "no participants found"
    # The mayor only wrote to the board; he did not attend.
    assert "Okafor" not in names
    assert result.run.provider == "compatible"
    for dropped in result.run.dropped:
        assert dropped.reason


@pytest.mark.vcr
def test_news_report_keeps_cited_presidents_out(llm_endpoint: Endpoint) -> None:
    result = _run(llm_endpoint, "ministers_news.txt")
    jsonschema.validate(result.to_dict()["summary"], SCHEMA)
    _assert_grounded(result, FIXTURES / "ministers_news.txt")
    names = " ".join(p.name for p in result.summary.participants)
    assert "Marchetti" in names and "Brevik" in names
    assert "Vance" not in names and "Halvorsen" not in names


@pytest.mark.vcr
def test_vtt_transcript_summary(llm_endpoint: Endpoint) -> None:
    result = _run(llm_endpoint, "standup.vtt")
    jsonschema.validate(result.to_dict()["summary"], SCHEMA)
    _assert_grounded(result, FIXTURES / "standup.vtt")
    assert result.run.document.format == "vtt"


@pytest.mark.vcr
def test_async_api_gives_the_same_answer(llm_endpoint: Endpoint) -> None:
    """The async driver sends the same requests as the sync one (same cassette content)."""
    result = asyncio.run(
        asummarize(
            FIXTURES / "standup.json",
            base_url=llm_endpoint.base_url,
            model=llm_endpoint.model,
            api_key=llm_endpoint.api_key,
        )
    )
    jsonschema.validate(result.to_dict()["summary"], SCHEMA)
    _assert_grounded(result, FIXTURES / "standup.json")
    assert isinstance(result.summary, MeetingSummary)


class Commitment(BaseModel):
    """A promise someone made in the meeting."""

    model_config = ConfigDict(extra="forbid")

    person: Mentioned = Field(description="Who promised.", max_length=80)
    promise: str = Field(description="What they promised to do.", max_length=160)
    evidence: Evidence


class Commitments(BaseModel):
    """Every promise made in the meeting."""

    model_config = ConfigDict(extra="forbid")

    commitments: list[Commitment] = Field(description="Promises, each once.", max_length=6)


@pytest.mark.vcr
def test_user_schema_goes_through_the_same_pipeline(llm_endpoint: Endpoint) -> None:
    with Summarizer(
        base_url=llm_endpoint.base_url, model=llm_endpoint.model, api_key=llm_endpoint.api_key
    ) as summarizer:
        result = summarizer.summarize(FIXTURES / "board_meeting.txt", schema=Commitments)
    assert isinstance(result.summary, Commitments)
    text = load_document(FIXTURES / "board_meeting.txt").text
    for item in result.summary.commitments:
        assert item.evidence in text
        assert item.person.split()[-1].lower() in text.lower()


@pytest.mark.vcr
def test_cli_json_output_validates_against_the_committed_schema(
    llm_endpoint: Endpoint, tmp_path: Path
) -> None:
    out = tmp_path / "minutes.md"
    runner = CliRunner()
    args = ["summarize", str(FIXTURES / "ministers_news.txt"), "--base-url", llm_endpoint.base_url]
    args += ["--model", llm_endpoint.model, "--format", "md", "--out", str(out), "--quiet"]
    outcome = runner.invoke(app, args, env={"OPENAI_API_KEY": "", "OPENAI_BASE_URL": ""})
    assert outcome.exit_code == 0, outcome.output
    markdown = out.read_text()
    assert markdown.startswith("# ")
    assert "## Participants" in markdown


def test_prompt_edit_without_rerecording_fails(llm_endpoint: Endpoint, tmp_path: Path) -> None:
    """Request bodies are matched, so a changed prompt cannot replay a stale answer."""
    cassette = CASSETTES / "test_api" / "test_board_minutes_summary_is_valid_and_grounded.yaml"
    assert cassette.is_file()
    for name in ("summarize.md", "reask_quotes.md"):
        shutil.copy(bundled_prompts_dir() / name, tmp_path / name)
    edited = tmp_path / "summarize.md"
    edited.write_text(edited.read_text().replace("Rules:", "Rules (edited):"))
    # The same matcher as every cassette test (see conftest.vcr_config).
    player = vcrpy.VCR(record_mode="none", match_on=["method", "path", "json_body"])
    player.register_matcher("json_body", json_body_matcher)
    with player.use_cassette(str(cassette)), pytest.raises(ProviderError) as caught:
        summarize(
            FIXTURES / "board_meeting.txt",
            base_url=llm_endpoint.base_url,
            model=llm_endpoint.model,
            api_key=llm_endpoint.api_key,
            prompts_dir=tmp_path,
        )
    chain: list[str] = []
    seen: set[int] = set()
    error: BaseException | None = caught.value
    while error is not None and id(error) not in seen:  # chains can loop through __context__
        seen.add(id(error))
        chain.append(type(error).__name__)
        error = error.__cause__ or error.__context__
    assert "CannotOverwriteExistingCassetteException" in chain
