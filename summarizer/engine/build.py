"""Compile llama.cpp's own C++ ``llama-server`` once, into the cache folder.

Why the C++ server rather than ``llama-cpp-python``'s Python one: it accepts
OpenAI's ``json_schema`` response format (so the embedded engine speaks the
same structured-output protocol as OpenAI), samples grammars in C++, reports
its own timings and has parallel slots. Its sources come from PyPI: the
``llama-cpp-python`` sdist vendors llama.cpp under ``vendor/llama.cpp``. The
build takes about six minutes on two cores and happens once per machine.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

from summarizer.errors import EngineSetupError

__all__ = ["LLAMA_CPP_PYTHON_VERSION", "build_server", "installed_server"]

Progress = Callable[[str], None]

# The sdist whose vendored llama.cpp we build; bump deliberately (and re-record cassettes).
LLAMA_CPP_PYTHON_VERSION = "0.3.36"
_CMAKE_FLAGS = [
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=OFF",  # one self-contained binary
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_TOOLS=ON",
    "-DLLAMA_BUILD_SERVER=ON",
    "-DLLAMA_BUILD_APP=OFF",
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",  # would download the web UI at build time
    "-DLLAMA_OPENSSL=OFF",
    "-DLLAMA_CURL=OFF",
    # -march=native picked up AMX/AVX-512 paths that died with SIGILL on these VMs
    # (the CPU advertises them, the hypervisor does not allow them). AVX2/FMA is
    # the portable fast path on x86-64; other machines get the generic build.
    "-DGGML_NATIVE=OFF",
]
if platform.machine().lower() in ("x86_64", "amd64"):
    _CMAKE_FLAGS += [f"-DGGML_{isa}=ON" for isa in ("AVX", "AVX2", "FMA", "F16C", "BMI2")]
# A different source version or flag set builds into a different folder.
_BUILD_ID = hashlib.sha256(" ".join(_CMAKE_FLAGS).encode()).hexdigest()[:8]
_PERCENT = re.compile(r"^\[\s*(\d+)%\]")


def installed_server(cache_dir: Path) -> Path:
    """Where the built binary lives (it may not exist yet)."""
    folder = f"llama.cpp-{LLAMA_CPP_PYTHON_VERSION}-{_BUILD_ID}"
    return cache_dir / "engine" / folder / "llama-server"


def _run(cmd: list[str], cwd: Path, progress: Progress | None, what: str) -> None:
    """Run a build step, reporting percentage lines; keep the tail for errors."""
    tail: list[str] = []
    last_percent = -1
    with subprocess.Popen(
        cmd,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            tail = (tail + [line.rstrip()])[-30:]
            match = _PERCENT.match(line)
            if match and progress and int(match.group(1)) >= last_percent + 5:
                last_percent = int(match.group(1))
                progress(f"{what}: {last_percent}%")
        code = proc.wait()
    if code != 0:
        detail = " | ".join(t for t in tail[-5:] if t.strip())
        raise EngineSetupError(f"{what} failed (exit {code}): {detail}")


def build_server(cache_dir: Path, progress: Progress | None = None) -> Path:
    """Download the llama.cpp sources from PyPI and build ``llama-server``.

    Returns the installed binary's path; an existing build is reused.

    Raises:
        EngineSetupError: no compiler/cmake, download or build failure.
    """
    target = installed_server(cache_dir)
    if target.is_file() and os.access(target, os.X_OK):
        return target
    for tool in ("cmake", "c++"):
        if shutil.which(tool) is None:
            raise EngineSetupError(
                f"building the embedded engine needs {tool!r} on PATH "
                "(or set SUMMARIZER_ENGINE_BIN to an existing llama-server)"
            )
    work_root = cache_dir / "engine"
    work_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work_root, prefix="build-") as tmp:
        work = Path(tmp)
        if progress:
            progress(
                f"downloading llama.cpp sources (llama-cpp-python {LLAMA_CPP_PYTHON_VERSION} sdist)"
            )
        _run(
            [
                sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                "--no-binary", ":all:", f"llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION}",
                "-d", str(work),
            ],
            work, None, "downloading the llama.cpp sources",
        )  # fmt: skip
        archives = list(work.glob("llama_cpp_python-*.tar.gz"))
        if not archives:
            raise EngineSetupError("pip did not produce the llama-cpp-python sdist")
        with tarfile.open(archives[0]) as tar:
            tar.extractall(work, filter="data")
        sources = next(work.glob("llama_cpp_python-*/vendor/llama.cpp"), None)
        if sources is None:
            raise EngineSetupError("the sdist has no vendor/llama.cpp folder")
        build = work / "build"
        if progress:
            progress("compiling llama-server (about 6 minutes on 2 cores; done once)")
        _run(["cmake", "-S", str(sources), "-B", str(build), *_CMAKE_FLAGS], work, None, "cmake")
        jobs = str(os.cpu_count() or 2)
        _run(
            ["cmake", "--build", str(build), "--target", "llama-server", "-j", jobs],
            work,
            progress,
            "compiling llama-server",
        )
        built = build / "bin" / "llama-server"
        if not built.is_file():
            raise EngineSetupError("the build finished but produced no llama-server binary")
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = target.with_suffix(".tmp")
        shutil.copy2(built, staged)
        os.replace(staged, target)
    if progress:
        progress(f"engine ready: {target}")
    return target
