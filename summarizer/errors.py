"""Every error the package raises, rooted at one base class.

The tree splits *misuse* (the caller can fix it by changing their input or
configuration) from *runtime failures* (the model or the network let us down)::

    SummarizerError
    ├── UserError                      misuse: fix the call, the file or the config
    │   ├── ConfigError                bad or conflicting settings
    │   ├── InputError                 a document we cannot read
    │   │   ├── EmptyInputError        empty or whitespace-only
    │   │   ├── UnsupportedInputError  unknown extension, binary data, a folder
    │   │   ├── DecodeError            not valid UTF-8 / UTF-16
    │   │   ├── InputTooLargeError     larger than the configured limit
    │   │   └── MalformedInputError    a .vtt/.srt/.json that does not parse
    │   ├── PromptError                unknown prompt or bad template
    │   │   └── MissingVariablesError  rendering without every variable
    │   ├── EngineSetupError           embedded engine or model cannot be installed
    │   └── BatchManifestError         no, a corrupt or a conflicting Batch API manifest
    └── RunError                       runtime: the summary could not be produced
        ├── ProviderError              HTTP/transport failure after all retries
        ├── TruncatedOutputError       completion cut at the token limit
        ├── ValidationExhaustedError   output never matched the schema
        ├── ContextOverflowError       document does not fit the model's context
        ├── IncompleteSummaryError     a part of a long document could not be summarized
        ├── EngineError                embedded engine failed to start or died
        ├── BudgetExceededError        a batch stopped before exceeding its budget
        ├── BatchFailedError           a batch finished with failed documents
        ├── BatchNotReadyError         a Batch API batch has not finished yet
        └── RemoteBatchFailedError     a Batch API batch failed, was cancelled or lost

Errors carry what a user needs to act (attempt counts, HTTP status, request
id, usage so far) and never the API key or the document text.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BatchFailedError",
    "BatchManifestError",
    "BatchNotReadyError",
    "BudgetExceededError",
    "ConfigError",
    "ContextOverflowError",
    "DecodeError",
    "EmptyInputError",
    "EngineError",
    "EngineSetupError",
    "IncompleteSummaryError",
    "InputError",
    "InputTooLargeError",
    "MalformedInputError",
    "MissingVariablesError",
    "PromptError",
    "ProviderError",
    "RemoteBatchFailedError",
    "RunError",
    "SummarizerError",
    "TruncatedOutputError",
    "UnsupportedInputError",
    "UserError",
    "ValidationExhaustedError",
]


class SummarizerError(Exception):
    """Base of every error raised by ``summarizer``.

    ``str(error)`` is a single line fit for a terminal.
    """

    exit_code: int = 1

    def __str__(self) -> str:
        # One line, always: the CLI prints str(error) as is.
        return " ".join(super().__str__().split())


class UserError(SummarizerError):
    """The caller can fix this by changing input, arguments or configuration."""

    exit_code = 2


class ConfigError(UserError):
    """Settings are missing, malformed or contradict each other."""


class InputError(UserError):
    """A document could not be read as a meeting document."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class EmptyInputError(InputError):
    """The document is empty or holds only whitespace."""


class UnsupportedInputError(InputError):
    """The document's type is not one we read (binary, folder, unknown extension)."""


class DecodeError(InputError):
    """The bytes are not valid UTF-8 (or BOM-marked UTF-16)."""


class InputTooLargeError(InputError):
    """The document exceeds the configured size limit."""


class MalformedInputError(InputError):
    """A structured format (VTT, SRT, JSON) does not parse."""


class PromptError(UserError):
    """A prompt template is unknown or malformed."""


class MissingVariablesError(PromptError):
    """A template was rendered without all the variables it uses."""

    def __init__(self, template: str, missing: list[str]) -> None:
        self.template = template
        self.missing = sorted(missing)
        super().__init__(f"prompt {template!r} is missing variables: {', '.join(self.missing)}")


class EngineSetupError(UserError):
    """The embedded engine or its model cannot be installed or verified."""


class BatchManifestError(UserError):
    """A Batch API manifest is missing, unreadable, or conflicts with the request."""


class RunError(SummarizerError):
    """The summary could not be produced at run time."""

    def __init__(
        self,
        message: str,
        *,
        attempts: int | None = None,
        usage: dict[str, int] | None = None,
        last_completion: str | None = None,
    ) -> None:
        self.attempts = attempts
        self.usage = usage or {}
        self.last_completion = last_completion
        super().__init__(message)


class ProviderError(RunError):
    """The provider kept failing (HTTP status, timeout, dropped connection)."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        request_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.status_code = status_code
        self.request_id = request_id
        super().__init__(message, **kwargs)


class TruncatedOutputError(RunError):
    """The completion stopped at the output-token limit before the JSON ended."""


class ValidationExhaustedError(RunError):
    """Every validation attempt produced output that does not fit the schema."""


class ContextOverflowError(RunError):
    """The prompt plus the expected output exceed the model's context window."""


class IncompleteSummaryError(RunError):
    """Parts of a long document could not be summarized; ``result`` holds the rest."""

    def __init__(self, message: str, *, result: Any = None, **kwargs: Any) -> None:
        self.result = result
        if result is not None:
            kwargs.setdefault("usage", result.run.usage)
        super().__init__(message, **kwargs)


class EngineError(RunError):
    """The embedded llama.cpp server failed to start, answer or stay alive."""


class BudgetExceededError(RunError):
    """A batch stopped starting documents: the next one could exceed the budget."""


class BatchFailedError(RunError):
    """A batch finished, but some documents failed (their reasons are in the errors file)."""


class BatchNotReadyError(RunError):
    """The Batch API batch is still validating or running: collect it later."""


class RemoteBatchFailedError(RunError):
    """The Batch API batch failed or was cancelled and has no output to collect."""
