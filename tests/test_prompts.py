"""Tests for summarizer.prompts: loading, overriding, strict rendering and the sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2.exceptions import SecurityError

from summarizer.errors import MissingVariablesError, PromptError, UserError
from summarizer.grounding import Failure
from summarizer.prompts import bundled_prompts_dir, load_prompt

ALL_VARIABLES = {
    "document": "Alice: we ship on Friday.\nBob: agreed.",
    "name": "standup.txt",
    "fence": "a1b2c3d4e5f6",
    "field_guide": "- title (text): A short title.",
}


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.md"
    path.write_text(text, encoding="utf-8")
    return path


def _one_line(error: pytest.ExceptionInfo[PromptError]) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


def test_bundled_summarize_prompt_has_name_version_and_variables() -> None:
    prompt = load_prompt("summarize")
    assert prompt.name == "summarize"
    assert prompt.version == "2"
    assert prompt.description
    assert prompt.path.parent == bundled_prompts_dir()
    assert set(prompt.sections) == {"system", "user"}
    assert prompt.variables == {"document", "name", "fence", "field_guide"}


def test_render_fences_the_document() -> None:
    rendered = load_prompt("summarize").render(**ALL_VARIABLES)
    assert set(rendered) == {"system", "user"}
    user = rendered["user"]
    opening = '<document-a1b2c3d4e5f6 name="standup.txt">'
    closing = "</document-a1b2c3d4e5f6>"
    assert user.count(opening) == 1 and user.count(closing) == 1
    inside = user[user.index(opening) + len(opening) : user.index(closing)]
    assert inside.strip() == ALL_VARIABLES["document"]
    assert user.endswith(closing)
    assert "- title (text): A short title." in rendered["system"]
    assert "{{" not in rendered["system"] and "{{" not in user


def test_document_text_is_data_not_template_code() -> None:
    document = "{{ 7 * 7 }} {% if true %}yes{% endif %} </document-a1b2c3d4e5f6x>"
    rendered = load_prompt("summarize").render(**{**ALL_VARIABLES, "document": document})
    assert document in rendered["user"]
    assert "49" not in rendered["user"]


def test_render_without_variables_names_every_missing_one_sorted() -> None:
    prompt = load_prompt("summarize")
    with pytest.raises(MissingVariablesError) as err:
        prompt.render(document="text only")
    assert err.value.missing == ["fence", "field_guide", "name"]
    assert _one_line(err) == "prompt 'summarize' is missing variables: fence, field_guide, name"

    with pytest.raises(MissingVariablesError) as err:
        prompt.render()
    assert err.value.missing == ["document", "fence", "field_guide", "name"]
    assert isinstance(err.value, PromptError) and isinstance(err.value, UserError)


def test_reask_prompt_lists_every_failure() -> None:
    failures = [
        Failure("decisions[1]", "description=Sell the building", "We sell.", "not found"),
        Failure("participants[0]", "name=Ann Lee", "Ann spoke.", "does not support the item"),
    ]
    user = load_prompt("reask_quotes").render(failures=failures)["user"]
    for failure in failures:
        assert f"- {failure.key}: {failure.item}" in user
        assert f'evidence given: "{failure.evidence}"' in user
        assert f"problem: {failure.problem}" in user


def test_unknown_prompt_lists_the_available_ones() -> None:
    with pytest.raises(PromptError) as err:
        load_prompt("sumarize")
    assert _one_line(err) == "unknown prompt 'sumarize'; available: reask_quotes, reduce, summarize"


@pytest.mark.parametrize("name", ["../summarize", "sub/summarize", "", "a b"])
def test_prompt_names_cannot_reach_other_folders(name: str) -> None:
    with pytest.raises(PromptError, match="invalid prompt name"):
        load_prompt(name)


def test_user_folder_overrides_a_bundled_prompt_and_adds_new_ones(tmp_path: Path) -> None:
    own = _write(
        tmp_path,
        "summarize",
        "---\nname: summarize\nversion: 7\n---\n[user]\nShort summary of {{ document }}\n",
    )
    _write(tmp_path, "brief", "---\nversion: 2\ndescription: A brief.\n---\n[user]\nBrief {{ x }}")

    prompt = load_prompt("summarize", folder=tmp_path)
    assert (prompt.version, prompt.path) == ("7", own)
    assert prompt.render(document="the notes") == {"user": "Short summary of the notes"}

    brief = load_prompt("brief", folder=tmp_path)
    assert (brief.name, brief.version, brief.description) == ("brief", "2", "A brief.")
    assert brief.render(x=1) == {"user": "Brief 1"}

    # Prompts the folder does not define still come from the bundle.
    assert load_prompt("reask_quotes", folder=tmp_path).path.parent == bundled_prompts_dir()
    # Without the folder the bundled prompt is used.
    assert load_prompt("summarize").version == "2"

    with pytest.raises(PromptError) as err:
        load_prompt("nothing", folder=tmp_path)
    assert _one_line(err).endswith("available: brief, reask_quotes, reduce, summarize")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("---\nname: x\n---\n[user]\nhello\n", "must give a version"),
        ("[user]\nhello\n", "must give a version"),
        ("---\nname: x\nversion: 1\n[user]\nhello\n", "front matter is not closed"),
        ("---\nversion 1\n---\n[user]\nhello\n", "is not 'key: value'"),
        ("---\nversion: 1\n---\n[system]\nYou summarise.\n", "a [user] section is required"),
        ("---\nversion: 1\n---\nhello\n[user]\nhi\n", "text before the first"),
        ("---\nversion: 1\n---\n[user]\n{% if x %}never closed\n", "[user] line"),
        ("---\nversion: 1\n---\n[system]\n{{ x }\n[user]\nhi\n", "[system] line"),
    ],
)
def test_malformed_prompt_files_raise_prompt_error_with_the_path(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = _write(tmp_path, "broken", text)
    with pytest.raises(PromptError) as err:
        load_prompt("broken", folder=tmp_path)
    message = _one_line(err)
    assert message.startswith(f"{path}: ")
    assert problem in message


@pytest.mark.parametrize(
    "expression",
    [
        "''.__class__.__mro__",
        "''.__class__.__mro__[1].__subclasses__()",
        "cycler.__init__.__globals__",
        "x.__class__",
    ],
)
def test_templates_cannot_reach_python_internals(tmp_path: Path, expression: str) -> None:
    _write(tmp_path, "escape", f"---\nversion: 1\n---\n[user]\n{{{{ {expression} }}}}\n")
    prompt = load_prompt("escape", folder=tmp_path)
    with pytest.raises(PromptError, match="unsafe") as caught:
        prompt.render(x=object())
    assert isinstance(caught.value.__cause__, SecurityError)
    assert "\n" not in str(caught.value)
