"""Checks of an assistant's models against the configured providers (422 naming the field)."""

from __future__ import annotations

from collections.abc import Sequence

from junction.config.snapshot import Snapshot
from junction.errors import ValidationFailed


def check_model_refs(snapshot: Snapshot, field: str, refs: Sequence[str]) -> None:
    """Each ``<provider>/<model>`` must name a provider, and a model that provider lists."""
    for i, ref in enumerate(refs):
        provider_name, _, model = ref.partition("/")
        provider = snapshot.providers.get(provider_name)
        param = f"{field}[{i}]" if len(refs) > 1 or field == "fallbacks" else field
        if provider is None:
            known = ", ".join(sorted(snapshot.providers)) or "none yet"
            raise ValidationFailed(
                f"{param}: unknown provider '{provider_name}' (providers: {known})", param=param
            )
        if provider.models and model not in provider.models:
            raise ValidationFailed(
                f"{param}: provider '{provider_name}' does not serve '{model}' "
                f"(refresh its models, or list the model on the provider by hand)",
                param=param,
            )


def check_window(snapshot: Snapshot, window: str | None, refs: Sequence[str], param: str) -> None:
    """A percentage window needs every model's context length to be known."""
    if window is None or not window.endswith("%"):
        return
    for ref in refs:
        provider_name, _, model = ref.partition("/")
        provider = snapshot.providers.get(provider_name)
        info = provider.models.get(model) if provider else None
        if info is None or info.context_length is None:
            raise ValidationFailed(
                f"{param}: the workspace's token_context_window is {window}, but the context "
                f"length of '{ref}' is unknown; set it on the provider's model, or give the "
                "workspace an absolute window",
                param=param,
            )


def check_window_for_assistants(snapshot: Snapshot, window: str | None, workspace_id: str) -> None:
    for assistant in snapshot.roster(workspace_id).values():
        check_window(
            snapshot,
            window,
            [*assistant.model, *assistant.fallbacks],
            "token_context_window",
        )
