"""Finds the provider kinds: every ``Provider`` subclass in this package's modules."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

import junction.providers as package
from junction.providers.base import Provider

_NOT_KINDS = {"base", "registry", "sse", "runtime"}


@cache
def provider_kinds() -> dict[str, type[Provider]]:
    kinds: dict[str, type[Provider]] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if info.name in _NOT_KINDS or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Provider)
                and value is not Provider
                and value.__module__ == module.__name__
                and getattr(value, "kind", None)
            ):
                kinds[value.kind] = value
    return kinds


def provider_class(kind: str) -> type[Provider]:
    try:
        return provider_kinds()[kind]
    except KeyError:
        known = ", ".join(sorted(provider_kinds()))
        raise ValueError(f"unknown provider kind '{kind}' (known: {known})") from None
