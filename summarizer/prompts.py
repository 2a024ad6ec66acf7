"""Prompt templates: files loaded by name, versioned, rendered strictly.

A template is a text file ``<name>.md`` with a front matter block and one or
two sections::

    ---
    name: summarize
    version: 1
    description: ...
    ---
    [system]
    ... Jinja2 text ...
    [user]
    ... Jinja2 text ...

Templates are looked up first in the user's folder (``--prompts-dir`` /
``SUMMARIZER_PROMPTS_DIR``), then among the bundled ones. Rendering uses a
sandboxed Jinja2 environment with ``StrictUndefined``; every variable missing
from a render is reported at once (a typo never renders as empty text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

from summarizer.errors import MissingVariablesError, PromptError

__all__ = ["Prompt", "bundled_prompts_dir", "load_prompt"]

_ENV = SandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
)
_SECTION = re.compile(r"^\[(system|user)\]\s*$", re.MULTILINE)
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def bundled_prompts_dir() -> Path:
    """Folder of the prompts shipped with the package.

    In a wheel they sit in ``summarizer/_prompts``; in a source checkout they
    are the top-level ``prompts/`` folder.
    """
    packaged = Path(str(resources.files("summarizer"))) / "_prompts"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "prompts"


@dataclass(frozen=True)
class Prompt:
    """A loaded template: metadata plus the source of each chat section."""

    name: str
    version: str
    description: str
    sections: dict[str, str]
    path: Path

    @property
    def variables(self) -> set[str]:
        """Names of every variable the template uses."""
        names: set[str] = set()
        for source in self.sections.values():
            names |= meta.find_undeclared_variables(_ENV.parse(source))
        return names

    def render(self, **variables: Any) -> dict[str, str]:
        """Render every section.

        Returns:
            section name (``system``/``user``) to rendered text.

        Raises:
            MissingVariablesError: naming every variable not supplied.
        """
        missing = self.variables - variables.keys()
        if missing:
            raise MissingVariablesError(self.name, sorted(missing))
        rendered = {}
        for section, source in self.sections.items():
            try:
                rendered[section] = _ENV.from_string(source).render(**variables).strip()
            except TemplateError as exc:  # undefined attribute, sandbox violation, ...
                raise PromptError(f"{self.path}: [{section}]: {exc}") from exc
        return rendered


def _parse(path: Path) -> Prompt:
    text = path.read_text(encoding="utf-8")
    meta_fields: dict[str, str] = {}
    body = text
    if text.startswith("---\n"):
        end = text.find("\n---\n", 4)
        if end == -1:
            raise PromptError(f"{path}: front matter is not closed with '---'")
        for line in text[4:end].splitlines():
            if not line.strip():
                continue
            key, sep, value = line.partition(":")
            if not sep:
                raise PromptError(f"{path}: front matter line {line!r} is not 'key: value'")
            meta_fields[key.strip()] = value.strip()
        body = text[end + 5 :]
    if "version" not in meta_fields:
        raise PromptError(f"{path}: front matter must give a version")
    parts = _SECTION.split(body)
    # parts = [preamble, name1, text1, name2, text2, ...]
    if parts[0].strip():
        raise PromptError(f"{path}: text before the first [system] or [user] section")
    sections = {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}
    if "user" not in sections:
        raise PromptError(f"{path}: a [user] section is required")
    for section, source in sections.items():
        try:
            _ENV.parse(source)
        except TemplateSyntaxError as exc:
            raise PromptError(f"{path}: [{section}] line {exc.lineno}: {exc.message}") from exc
    return Prompt(
        name=meta_fields.get("name", path.stem),
        version=meta_fields["version"],
        description=meta_fields.get("description", ""),
        sections=sections,
        path=path,
    )


def load_prompt(name: str, *, folder: Path | None = None) -> Prompt:
    """Load the template called ``name`` (``name.md``).

    Raises:
        PromptError: unknown name (listing the available ones) or a malformed file.
    """
    if not _NAME.match(name):
        raise PromptError(f"invalid prompt name {name!r}")
    folders = [f for f in (folder, bundled_prompts_dir()) if f is not None]
    for candidate in folders:
        path = candidate / f"{name}.md"
        if path.is_file():
            return _parse(path)
    available = sorted({p.stem for f in folders if f.is_dir() for p in f.glob("*.md")})
    raise PromptError(f"unknown prompt {name!r}; available: {', '.join(available) or 'none'}")
