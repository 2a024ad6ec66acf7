"""summarize() (the Python API) against the fake OpenAI server, faults included.

The whole pipeline runs for real (prompt rendering, structured call, grounding,
quote re-asks, run metadata); only the provider is the scripted local server.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from summarizer import asummarize, resolve_settings, summarize
from summarizer.api import Result
from summarizer.errors import ProviderError, RunError, ValidationExhaustedError
from summarizer.schemas.meeting import MeetingSummary
from tests.fakeserver import FakeOpenAI, RecordedRequest, Reply, completion, error

KEY = "sk-test-PLANTED-KEY-1234567890"
# Retry-After keeps the pipeline's transport waits short: Summarizer builds its
# ChatModel with the production backoff (0.5 s base), but honours the header.
BUSY = error(503, "overloaded", retry_after=0.01)

DOC = """Weekly sync of the platform team, held in Berlin on 3 March 2025.
Alice Schmidt chaired the meeting and Bob Jones presented the hosting budget.
The team agreed to move the release to Friday.
Bob Jones will update the roadmap by 10 March 2025.
"""

TITLE = "QXT title marker"
SUMMARY = "QXT summary marker: the team met and agreed to move the release."
INVENTED = "Purchase twelve velvet armchairs for the lobby."
FIXABLE = "Approve a larger hosting budget next quarter."


def answer(*, invented: bool = True) -> dict[str, Any]:
    """A valid MeetingSummary answer; decisions[1] and [2] have evidence not in DOC."""
    decisions = [
        {
            "description": "Move the release to Friday.",
            "evidence": "The team agreed to move the release to Friday.",
        }
    ]
    if invented:
        decisions += [
            # Shares no words with the document: cannot be re-anchored, must be re-asked.
            {"description": INVENTED, "evidence": "We shall acquire seating furniture forthwith."},
            # Too little overlap to re-anchor, but a real quote can support it.
            {"description": FIXABLE, "evidence": "Everyone loved the bigger budget plan."},
        ]
    return {
        "title": TITLE,
        "date": "2025-03-03",
        "location": "Berlin",
        "participants": [
            {
                "name": "Alice Schmidt",
                "role": "chair",
                "organization": None,
                "evidence": "Alice Schmidt chaired the meeting",
            },
            {
                "name": "Bob Jones",
                "role": None,
                "organization": None,
                "evidence": "Bob Jones presented the hosting budget.",
            },
        ],
        "topics": ["release date", "hosting budget"],
        "positions": [],
        "decisions": decisions,
        "action_items": [
            {
                "task": "Update the roadmap",
                "owner": "Bob Jones",
                "due_date": "2025-03-10",
                "evidence": "Bob Jones will update the roadmap by 10 March 2025.",
            }
        ],
        "summary": SUMMARY,
    }


FIXES = {"decisions[1]": None, "decisions[2]": "Bob Jones presented the hosting budget."}


def run(srv: FakeOpenAI, **overrides: Any) -> Result[MeetingSummary]:
    return summarize(
        DOC, base_url=srv.base_url, model="fake-model", api_key=KEY, env={}, **overrides
    )


def schema_name(request: RecordedRequest) -> str:
    body = request.json
    assert isinstance(body, dict)
    return str(body["response_format"]["json_schema"]["name"])


def test_invented_evidence_is_reasked_for_that_item_only_then_dropped() -> None:
    script = [
        completion(json.dumps(answer()), prompt_tokens=300, completion_tokens=200),
        completion(json.dumps(FIXES), prompt_tokens=350, completion_tokens=30),
    ]
    with FakeOpenAI(script) as srv:
        result = run(srv)
    first, reask = srv.chat_requests
    assert schema_name(first) == "MeetingSummary"
    assert schema_name(reask) == "QuoteFixes"

    # The re-ask names the failing items and asks only for them ...
    assert reask.json is not None
    fix_schema = reask.json["response_format"]["json_schema"]["schema"]
    assert sorted(fix_schema["properties"]) == ["decisions[1]", "decisions[2]"]
    messages = reask.json["messages"]
    last = messages[-1]["content"]
    assert "decisions[1]" in last
    assert "armchairs" in last
    # ... it does not resend the whole previous answer (no assistant turn, no other fields).
    assert [m["role"] for m in messages] == [m["role"] for m in first.json["messages"]]
    body = reask.body.decode()
    assert TITLE not in body
    assert "QXT summary marker" not in body
    assert "decisions[0]" not in body
    assert "participants[" not in body
    # Same prefix as the first call (a local engine can reuse its KV cache).
    assert messages[:-1] == first.json["messages"][:-1]
    assert last.startswith(first.json["messages"][-1]["content"])

    summary = result.summary
    assert [d.description for d in summary.decisions] == ["Move the release to Friday.", FIXABLE]
    assert summary.decisions[1].evidence == "Bob Jones presented the hosting budget."
    run_info = result.run
    assert [(d.key, d.item) for d in run_info.dropped] == [
        ("decisions[1]", f"description={INVENTED}")
    ]
    assert run_info.reasks == 1
    assert (run_info.completions, run_info.http_calls) == (2, 2)
    assert run_info.usage == {"prompt_tokens": 650, "completion_tokens": 230, "total_tokens": 880}


def test_grounded_answer_needs_no_reask() -> None:
    with FakeOpenAI([completion(json.dumps(answer(invented=False)))]) as srv:
        result = run(srv)
    assert srv.calls == 1
    assert (result.run.completions, result.run.http_calls, result.run.reasks) == (1, 1, 0)
    assert result.run.dropped == []
    assert result.run.model == "fake-model"
    assert result.run.provider == "compatible"


def test_no_reask_when_grounding_reasks_is_zero() -> None:
    with FakeOpenAI([completion(json.dumps(answer()))]) as srv:
        result = run(srv, grounding_reasks=0)
    assert srv.calls == 1
    assert result.run.reasks == 0
    assert {d.key for d in result.run.dropped} == {"decisions[1]", "decisions[2]"}
    assert len(result.summary.decisions) == 1


def test_usage_and_counts_sum_over_every_completion_and_retry() -> None:
    script = [
        BUSY,  # transport retry of the first call
        completion("this is not JSON", prompt_tokens=100, completion_tokens=7),  # validation re-ask
        completion(json.dumps(answer()), prompt_tokens=110, completion_tokens=200),
        error(502, retry_after=0.01),  # transport retry of the grounding re-ask
        completion(json.dumps(FIXES), prompt_tokens=130, completion_tokens=20),
    ]
    with FakeOpenAI(script) as srv:
        result = run(srv)
    assert srv.calls == 5
    assert result.run.http_calls == 5
    assert result.run.completions == 3
    assert result.run.usage == {"prompt_tokens": 340, "completion_tokens": 227, "total_tokens": 567}
    assert result.run.reasks == 1
    assert [d.key for d in result.run.dropped] == ["decisions[1]"]


def _worst_case_script(last: Reply) -> Any:
    """Each completion fails transiently twice; the answers are invalid, valid, invalid, last."""
    answers = [
        completion("not JSON"),
        completion(json.dumps(answer())),
        completion("still not JSON"),
        last,
    ]

    def script(index: int, body: dict[str, Any]) -> Reply:
        if index % 3 < 2:
            return BUSY
        return answers[min(index // 3, len(answers) - 1)]

    return script


def test_worst_case_reaches_but_never_exceeds_the_bound() -> None:
    settings = resolve_settings(base_url="http://127.0.0.1:1/v1", api_key=KEY, env={})
    assert settings.worst_case_calls == 12  # 3 transport x 2 validation x (1 + 1 re-ask)
    with FakeOpenAI(_worst_case_script(completion(json.dumps(FIXES)))) as srv:
        result = run(srv)
    assert srv.calls == settings.worst_case_calls
    assert result.run.http_calls == settings.worst_case_calls
    assert result.run.completions == 4
    assert [d.key for d in result.run.dropped] == ["decisions[1]"]


def test_worst_case_failure_stops_at_the_bound() -> None:
    with FakeOpenAI(_worst_case_script(completion("never JSON"))) as srv:
        with pytest.raises(ValidationExhaustedError):
            run(srv)
        assert srv.calls == resolve_settings(base_url=srv.base_url, env={}).worst_case_calls


@pytest.mark.parametrize(
    ("overrides", "bound"),
    [
        ({}, 12),
        ({"transport_attempts": 2, "validation_attempts": 3, "grounding_reasks": 2}, 18),
    ],
)
@pytest.mark.parametrize("hostile", ["always_busy", "always_invalid", "invented_forever"])
def test_hostile_providers_stay_within_worst_case(
    overrides: dict[str, Any], bound: int, hostile: str
) -> None:
    def script(index: int, body: dict[str, Any]) -> Reply:
        if hostile == "always_busy":
            return BUSY
        if hostile == "always_invalid":
            return completion("nope")
        # A model that keeps inventing and never admits it (answers its own bad quote).
        if body["response_format"]["json_schema"]["name"] == "MeetingSummary":
            return completion(json.dumps(answer()))
        keys = body["response_format"]["json_schema"]["schema"]["properties"]
        return completion(json.dumps({k: "Made-up quote that is nowhere." for k in keys}))

    with FakeOpenAI(script) as srv:
        try:
            result = run(srv, **overrides)
        except RunError:
            pass
        else:
            assert result.run.http_calls == srv.calls
            assert result.run.reasks == overrides.get("grounding_reasks", 1)
    assert resolve_settings(base_url=srv.base_url, env={}, **overrides).worst_case_calls == bound
    assert 1 <= srv.calls <= bound


def test_provider_failure_is_a_provider_error_with_counts() -> None:
    with FakeOpenAI(default=BUSY) as srv:
        with pytest.raises(ProviderError) as info:
            run(srv)
    assert srv.calls == 3
    assert info.value.status_code == 503
    assert "after 3 request" in str(info.value)


def test_result_json_holds_no_api_key() -> None:
    script = [completion(json.dumps(answer())), completion(json.dumps(FIXES))]
    with FakeOpenAI(script) as srv:
        result = run(srv)
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in srv.chat_requests)
    text = json.dumps(result.to_dict())
    assert KEY not in text
    assert "PLANTED" not in text
    assert result.run.base_url == srv.base_url


def test_async_api_matches_sync() -> None:
    script = [BUSY, completion(json.dumps(answer())), completion(json.dumps(FIXES))]
    with FakeOpenAI(script) as srv:
        result = asyncio.run(
            asummarize(DOC, base_url=srv.base_url, model="fake-model", api_key=KEY, env={})
        )
    assert (result.run.http_calls, result.run.completions, result.run.reasks) == (3, 2, 1)
    assert [d.key for d in result.run.dropped] == ["decisions[1]"]
    assert len(result.summary.decisions) == 2
