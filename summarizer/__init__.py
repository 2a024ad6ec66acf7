"""Evidence-grounded structured summaries of meeting documents.

Quick use::

    from pathlib import Path
    from summarizer import summarize

    result = summarize(Path("minutes.txt"))
    print(result.summary.participants, result.run.usage)
"""

from summarizer.api import Result, RunInfo, Summarizer, asummarize, summarize
from summarizer.batch import asummarize_many, summarize_many
from summarizer.config import Settings, resolve_settings
from summarizer.errors import (
    ConfigError,
    InputError,
    ProviderError,
    RunError,
    SummarizerError,
    TruncatedOutputError,
    UserError,
    ValidationExhaustedError,
)
from summarizer.inputs import Document, document_from_text, load_document
from summarizer.schemas import (
    ActionItem,
    Decision,
    Evidence,
    MeetingSummary,
    Mentioned,
    MentionedDate,
    Participant,
    Position,
)

__version__ = "0.1.0"

__all__ = [
    "ActionItem",
    "ConfigError",
    "Decision",
    "Document",
    "Evidence",
    "InputError",
    "MeetingSummary",
    "Mentioned",
    "MentionedDate",
    "Participant",
    "Position",
    "ProviderError",
    "Result",
    "RunError",
    "RunInfo",
    "Settings",
    "Summarizer",
    "SummarizerError",
    "TruncatedOutputError",
    "UserError",
    "ValidationExhaustedError",
    "__version__",
    "asummarize",
    "asummarize_many",
    "document_from_text",
    "load_document",
    "resolve_settings",
    "summarize",
    "summarize_many",
]
