"""A small JSON-Schema subset, enough to tell whether generated JSON has the asked-for shape.

Checked: ``type`` (one or a list), ``enum``, ``const``, ``properties`` (recursively),
``required``, ``additionalProperties: false``, ``items`` (one schema). Everything else
(``$ref``, ``anyOf``, formats, bounds, patterns) is not checked and passes.
"""

from __future__ import annotations

from typing import Any

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "null": (type(None),),
}


def problem(value: Any, schema: Any, path: str = "$") -> str | None:
    """The first way ``value`` breaks ``schema``, or None when it fits (as far as checked)."""
    if not isinstance(schema, dict):
        return None
    wanted = schema.get("type")
    if wanted is not None:
        names = wanted if isinstance(wanted, list) else [wanted]
        if not any(_is(value, name) for name in names if isinstance(name, str)):
            return f"{path} should be {' or '.join(str(n) for n in names)}"
    if "enum" in schema and isinstance(schema["enum"], list) and value not in schema["enum"]:
        return f"{path} is not one of the allowed values"
    if "const" in schema and value != schema["const"]:
        return f"{path} is not the required constant"
    if isinstance(value, dict):
        properties = schema.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        required = schema.get("required")
        for name in required if isinstance(required, list) else []:
            if name not in value:
                return f"{path}.{name} is required"
        if schema.get("additionalProperties") is False:
            extra = [k for k in value if k not in properties]
            if extra:
                return f"{path}.{extra[0]} is not allowed"
        for name, sub in properties.items():
            if name in value and (found := problem(value[name], sub, f"{path}.{name}")):
                return found
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            if found := problem(item, schema["items"], f"{path}[{i}]"):
                return found
    return None


def _is(value: Any, name: str) -> bool:
    kinds = _TYPES.get(name)
    if kinds is None:
        return True
    if isinstance(value, bool) and name in ("number", "integer"):
        return False
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, kinds)
