"""Validates answers against OpenAI's own OpenAPI document (``tests/spec/openai-openapi.yaml``).

The document is OpenAPI 3.0: ``nullable: true`` becomes a JSON-schema null before validating.
"""

from __future__ import annotations

import copy
import os
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

# Vendored with its licence note (tests/spec/README.md); JUNCTION_OPENAI_SPEC names another copy.
DOCUMENT = Path(
    os.environ.get("JUNCTION_OPENAI_SPEC")
    or Path(__file__).resolve().parent / "spec" / "openai-openapi.yaml"
)


def _nullable_to_null(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _nullable_to_null(v) for k, v in node.items()}
        if node.pop("nullable", False):
            if "$ref" in node or "anyOf" in node or "oneOf" in node or "allOf" in node:
                return {"anyOf": [node, {"type": "null"}]}
            kind = node.get("type")
            if isinstance(kind, str):
                node["type"] = [kind, "null"]
            if "enum" in node and None not in node["enum"]:
                node["enum"] = [*node["enum"], None]
        return node
    if isinstance(node, list):
        return [_nullable_to_null(v) for v in node]
    return node


@cache
def _components() -> dict[str, Any]:
    with DOCUMENT.open() as f:
        doc = yaml.safe_load(f)
    converted: dict[str, Any] = _nullable_to_null(doc)
    return converted


def validate(schema_name: str, instance: Any) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``instance`` fits the named component."""
    doc = _components()
    schema = copy.deepcopy(doc["components"]["schemas"][schema_name])
    schema["components"] = doc["components"]
    jsonschema.Draft202012Validator(schema).validate(instance)
