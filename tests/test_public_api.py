"""Tests for the package's public surface: exports and the error tree."""

from __future__ import annotations

import inspect

import pytest

import summarizer
from summarizer import errors
from summarizer.errors import (
    InputError,
    MissingVariablesError,
    ProviderError,
    RunError,
    SummarizerError,
    UserError,
)


def test_package_all_is_sorted_and_unique() -> None:
    assert summarizer.__all__ == sorted(summarizer.__all__)
    assert len(set(summarizer.__all__)) == len(summarizer.__all__)


def test_every_exported_name_is_importable() -> None:
    for name in summarizer.__all__:
        assert hasattr(summarizer, name), name
    namespace: dict[str, object] = {}
    exec("from summarizer import *", namespace)
    assert set(summarizer.__all__) <= set(namespace)


def test_package_exports_the_entry_points_and_error_roots() -> None:
    for name in ("summarize", "asummarize", "Summarizer", "SummarizerError", "UserError"):
        assert name in summarizer.__all__
    assert summarizer.__version__ == "0.1.0"


def _error_classes() -> list[type[SummarizerError]]:
    return [
        obj
        for _, obj in inspect.getmembers(errors, inspect.isclass)
        if issubclass(obj, SummarizerError) and obj.__module__ == errors.__name__
    ]


def test_errors_all_lists_every_error_class() -> None:
    defined = {cls.__name__ for cls in _error_classes()}
    assert len(defined) >= 18
    assert set(errors.__all__) == defined
    assert errors.__all__ == sorted(errors.__all__)


def test_package_level_errors_are_the_same_objects() -> None:
    for name in summarizer.__all__:
        obj = getattr(summarizer, name)
        if isinstance(obj, type) and issubclass(obj, SummarizerError):
            assert getattr(errors, name) is obj


def _instance(cls: type[SummarizerError], message: str) -> SummarizerError:
    if issubclass(cls, MissingVariablesError):
        return cls(message, ["b\nc", "a"])
    if issubclass(cls, ProviderError):
        return cls(message, status_code=502, request_id="req\n1", attempts=3)
    if issubclass(cls, RunError):
        return cls(message, attempts=2, usage={"total_tokens": 5})
    if issubclass(cls, InputError):
        return cls(message, source="minutes\n.txt")
    return cls(message)


@pytest.mark.parametrize("cls", _error_classes(), ids=lambda c: c.__name__)
def test_error_str_is_one_line(cls: type[SummarizerError]) -> None:
    error = _instance(cls, "first line\nsecond line\r\n\tthird  line ")
    text = str(error)
    assert "\n" not in text and "\r" not in text and "\t" not in text
    if cls is MissingVariablesError:  # the message is built from the template name
        assert text.endswith("is missing variables: a, b c")
    else:
        assert "first line second line third line" in text
    assert text == text.strip()


@pytest.mark.parametrize("cls", _error_classes(), ids=lambda c: c.__name__)
def test_exit_codes_follow_the_tree(cls: type[SummarizerError]) -> None:
    if issubclass(cls, UserError):
        assert cls.exit_code == 2
        assert _instance(cls, "x").exit_code == 2
    elif issubclass(cls, RunError):
        assert cls.exit_code == 1
        assert _instance(cls, "x").exit_code == 1
    else:
        assert cls is SummarizerError


def test_every_error_is_either_a_user_error_or_a_run_error() -> None:
    for cls in _error_classes():
        if cls is not SummarizerError:
            assert issubclass(cls, UserError) ^ issubclass(cls, RunError), cls


def test_errors_keep_what_a_user_needs() -> None:
    missing = MissingVariablesError("summarize", ["name", "document"])
    assert missing.missing == ["document", "name"]
    assert str(missing) == "prompt 'summarize' is missing variables: document, name"

    provider = ProviderError("server error", status_code=503, request_id="req-1", attempts=3)
    assert (provider.status_code, provider.request_id, provider.attempts) == (503, "req-1", 3)
    assert provider.usage == {}

    bad = InputError("is empty", source="notes.txt")
    assert (str(bad), bad.source) == ("notes.txt: is empty", "notes.txt")
