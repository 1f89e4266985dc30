"""``POST /admin/v1/batch``: up to 1,000 admin writes in one transaction (what ``apply`` sends).

Each operation is what it would be on its own (``{"method", "path", "body"}`` on the provider,
workspace, key and assistant routes) and answers what it would answer. All or nothing: the
first failing operation fails the batch, with its error naming ``operations[i]``, and nothing
is stored. One commit and one change-feed notification for the whole batch.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.responses import Response
from starlette.routing import Match

from junction.admin import assistants, keys, providers, workspaces
from junction.admin.deps import BATCH, Admin, Session, save
from junction.errors import JunctionError, NotFound, ValidationFailed
from junction.schemas.bulk import BatchCreate, BatchResult

router = APIRouter(tags=["batch"])


@functools.cache
def _routes() -> list[APIRoute]:
    modules = (providers, workspaces, keys, assistants)
    return [r for module in modules for r in module.router.routes if isinstance(r, APIRoute)]


def _match(method: str, path: str) -> tuple[Callable[..., Any], dict[str, str]] | None:
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    for route in _routes():
        found, child = route.matches(scope)
        if found is Match.FULL:
            return route.endpoint, dict(child.get("path_params", {}))
    return None


@functools.cache
def _signature(endpoint: Callable[..., Any]) -> tuple[list[str], TypeAdapter[Any] | None]:
    """A handler's parameter names and its body's validator (built once: building is slow)."""
    hints = typing.get_type_hints(endpoint)
    names = list(inspect.signature(endpoint).parameters)
    return names, TypeAdapter(hints["body"]) if "body" in names else None


def _answer(value: object) -> Any:
    if isinstance(value, Response):
        return None
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return value


def _where(i: int, exc: JunctionError) -> JunctionError:
    param = f"operations[{i}]" + (f".{exc.param}" if exc.param else "")
    exc.message = f"operations[{i}]: {exc.message}"
    exc.param = param
    return exc


@router.post("/batch")
async def batch(body: BatchCreate, rt: Admin, s: Session) -> BatchResult:
    answers: list[Any] = []
    s.info[BATCH] = True
    try:
        for i, op in enumerate(body.operations):
            found = _match(op.method, op.path)
            if found is None:
                raise NotFound(
                    f"operations[{i}]: no {op.method} {op.path} among the provider, workspace, "
                    "key and assistant routes",
                    param=f"operations[{i}].path",
                )
            endpoint, params = found
            names, body_type = _signature(endpoint)
            kwargs: dict[str, Any] = {}
            for name in names:
                if name == "rt":
                    kwargs[name] = rt
                elif name == "s":
                    kwargs[name] = s
                elif name == "body":
                    try:
                        assert body_type is not None
                        kwargs[name] = body_type.validate_python(op.body)
                    except ValidationError as exc:
                        first = exc.errors()[0]
                        field = ".".join(str(p) for p in first["loc"])
                        raise ValidationFailed(
                            f"operations[{i}].body{'.' + field if field else ''}: {first['msg']}",
                            param=f"operations[{i}].body" + (f".{field}" if field else ""),
                        ) from None
                elif name in params:
                    kwargs[name] = params[name]
            try:
                answers.append(_answer(await endpoint(**kwargs)))
            except JunctionError as exc:
                raise _where(i, exc) from None
    except BaseException:
        await s.rollback()
        raise
    finally:
        s.info.pop(BATCH, None)
    await save(rt, s)
    return BatchResult(data=answers)
