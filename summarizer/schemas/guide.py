"""Render a schema as a compact field guide for the prompt.

With JSON-schema constrained decoding the schema goes to the sampler's
grammar, not to the model's eyes, so the field descriptions reach the model
only through this guide. It is derived from the pydantic model, so a user's
own schema gets a guide too, and the guide can never disagree with the schema.
"""

from __future__ import annotations

import functools
import types
import typing
from typing import Any, Union

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from summarizer.schemas.fields import max_items

__all__ = ["field_guide"]


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """Strip ``Annotated`` and ``Optional``; report whether null is allowed."""
    nullable = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            nullable = nullable or len(args) < len(typing.get_args(annotation))
            annotation = args[0] if len(args) == 1 else annotation
            if len(args) != 1:
                return annotation, nullable
        else:
            return annotation, nullable


def _type_name(annotation: Any, metadata: list[Any]) -> str:
    for meta in metadata:
        if getattr(meta, "pattern", None) == r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$":
            return "YYYY-MM-DD"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "object"
    names = {str: "text", int: "integer", float: "number", bool: "true/false"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _lines(model: type[BaseModel], indent: int) -> list[str]:
    lines = []
    pad = "  " * indent
    for name, info in model.model_fields.items():
        annotation, nullable = _unwrap(info.annotation)
        # The date pattern hides inside Optional[Annotated[...]]; look there too.
        inner_meta = [
            m
            for arg in typing.get_args(info.annotation)
            if typing.get_origin(arg) is typing.Annotated
            for m in typing.get_args(arg)[1:]
            if isinstance(m, FieldInfo)
            for m in m.metadata
        ]
        metadata = [*info.metadata, *inner_meta]
        desc = f": {info.description}" if info.description else ""
        if typing.get_origin(annotation) is list:
            (item,) = typing.get_args(annotation)
            item, _ = _unwrap(item)
            # What the model is asked for: a schema override of maxItems comes first.
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            limit = extra.get("maxItems") or max_items(info)
            bound = f", at most {limit}" if limit else ""
            if isinstance(item, type) and issubclass(item, BaseModel):
                lines.append(f"{pad}- {name} (list of objects{bound}){desc} Each has:")
                lines += _lines(item, indent + 1)
            else:
                lines.append(f"{pad}- {name} (list of {_type_name(item, metadata)}{bound}){desc}")
            continue
        kind = _type_name(annotation, metadata) + (" or null" if nullable else "")
        lines.append(f"{pad}- {name} ({kind}){desc}")
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            lines += _lines(annotation, indent + 1)
    return lines


@functools.cache  # rendered into every request; a schema class does not change
def field_guide(model: type[BaseModel]) -> str:
    """One line per field: name, type, description; nested objects indented."""
    return "\n".join(_lines(model, 0))
