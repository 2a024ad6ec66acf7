"""Write the JSON Schema files under ``schemas/`` from the pydantic models.

The files are build artifacts: ``python -m summarizer.schemas.export`` rewrites
them and ``tests/test_schemas.py`` fails when they drift from the models.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from summarizer.schemas.fields import max_items
from summarizer.schemas.meeting import MeetingSummary

__all__ = ["EXPORTED", "render_schema", "write_all"]

# file name -> model
EXPORTED: dict[str, type[BaseModel]] = {"meeting_summary.schema.json": MeetingSummary}


def _result_limits(model: type[BaseModel], schema: dict[str, Any]) -> None:
    """Give each list the limit a *result* has, where the model is asked for fewer.

    A field may tell the model a smaller ``maxItems`` than it validates
    (``MeetingSummary.participants``: the model lists 6, the pipeline adds the rest
    of an attendance list). The exported file describes results, so it carries the
    validation limit.
    """
    for name, info in model.model_fields.items():
        limit = max_items(info)
        prop = schema.get("properties", {}).get(info.alias or name)
        if limit is not None and isinstance(prop, dict) and "maxItems" in prop:
            prop["maxItems"] = limit


def render_schema(model: type[BaseModel]) -> str:
    """Return the JSON Schema of the model's results as stable, pretty-printed text."""
    schema = model.model_json_schema()
    _result_limits(model, schema)
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_all(folder: Path) -> list[Path]:
    """Write every exported schema into ``folder`` and return the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in EXPORTED.items():
        path = folder / name
        path.write_text(render_schema(model), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parents[2] / "schemas"
    for path in write_all(target):
        print(path)
