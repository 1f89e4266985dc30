"""The YAML document: its schema (the admin API's own Create schemas), ``${VAR}`` secrets from
the environment, and errors that name the line and field that are wrong."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from junction.schemas.assistants import AssistantCreate
from junction.schemas.common import Strict
from junction.schemas.keys import KeyCreate
from junction.schemas.providers import ProviderCreate
from junction.schemas.workspaces import WorkspaceCreate

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _Loader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false. ``chat_history: on`` must stay the string "on"."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class AssistantSpec(AssistantCreate):
    files: list[str] = Field(default_factory=list)
    """Knowledge files, as paths relative to the YAML file."""


class WorkspaceSpec(WorkspaceCreate):
    keys: list[KeyCreate] = Field(default_factory=list)
    """Key names and limits only: key values never appear in a file."""
    assistants: list[AssistantSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> WorkspaceSpec:
        _no_duplicates([k.name for k in self.keys], "keys")
        _no_duplicates([a.name for a in self.assistants], "assistants")
        return self


class Document(Strict):
    version: Literal[1] = 1
    providers: list[ProviderCreate] = Field(default_factory=list)
    workspaces: list[WorkspaceSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> Document:
        _no_duplicates([p.name for p in self.providers], "providers")
        _no_duplicates([w.name for w in self.workspaces], "workspaces")
        return self


def _no_duplicates(names: list[str], what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{what}: '{name}' appears twice")
        seen.add(name)


class DocumentError(Exception):
    """What is wrong with the file, with its line where known."""


def load_document(text: str, env: Mapping[str, str], source: str = "<config>") -> Document:
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise DocumentError(f"{source}: not valid YAML: {exc}") from None
    if root is None:
        return Document()
    data = _substitute(yaml.load(text, Loader=_Loader), env, root, source)  # a SafeLoader
    try:
        return Document.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            where = ".".join(str(p) for p in loc) or "(document)"
            line = _line_of(root, loc)
            at = f"{source}:{line}" if line else source
            problems.append(f"{at}: {where}: {error['msg']}")
        raise DocumentError("\n".join(problems)) from None


def _substitute(
    value: Any, env: Mapping[str, str], root: yaml.Node, source: str, loc: tuple[Any, ...] = ()
) -> Any:
    """Replace ``${VAR}`` in strings; a variable that is not set is an error naming its line."""
    if isinstance(value, dict):
        return {k: _substitute(v, env, root, source, (*loc, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, env, root, source, (*loc, i)) for i, v in enumerate(value)]
    if isinstance(value, str) and "${" in value:

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in env:
                line = _line_of(root, loc)
                where = ".".join(str(p) for p in loc)
                raise DocumentError(
                    f"{source}:{line}: {where}: environment variable {name} is not set"
                )
            return env[name]

        return _VAR.sub(replace, value)
    return value


def _line_of(node: yaml.Node, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the node at ``loc`` (or of its nearest existing parent)."""
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == part), None)
            if match is None:
                key = next((k for k, _ in node.value if k.value == part), None)
                return key.start_mark.line + 1 if key else line
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
        else:
            return line
        line = node.start_mark.line + 1
    return line


def dump_document(doc: Document) -> str:
    data = doc.model_dump(mode="json", exclude_defaults=True)
    for spec, dumped in zip(doc.providers, data.get("providers", []), strict=True):
        if spec.api_key is not None:  # pydantic masks secrets; the file holds a ${VAR}
            dumped["api_key"] = spec.api_key.get_secret_value()
    data["version"] = 1
    ordered = {"version": 1, **{k: v for k, v in data.items() if k != "version"}}
    return yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True)
