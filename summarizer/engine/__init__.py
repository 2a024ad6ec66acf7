"""The embedded default engine: a local llama.cpp server with a small model from PyPI."""

from summarizer.engine.build import build_server, installed_server
from summarizer.engine.model import DEFAULT_MODEL, ModelSpec, ensure_model
from summarizer.engine.server import EmbeddedEngine, free_port, prepare_engine

__all__ = [
    "DEFAULT_MODEL",
    "EmbeddedEngine",
    "ModelSpec",
    "build_server",
    "ensure_model",
    "free_port",
    "installed_server",
    "prepare_engine",
]
