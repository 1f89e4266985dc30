"""From the ``model`` a client names to the assistant and the deployments that can serve it."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from junction.config.snapshot import AssistantView, ModelInfo, ProviderRuntime, Snapshot
from junction.errors import ModelNotFound


@dataclass(frozen=True)
class Deployment:
    """One ``<provider>/<model>`` an assistant can be served by."""

    ref: str
    provider: ProviderRuntime
    model: str
    info: ModelInfo | None


def resolve_assistant(snapshot: Snapshot, workspace_id: str, name: object) -> AssistantView:
    assistants = snapshot.roster(workspace_id)
    if isinstance(name, str):
        found = assistants.get(name)
        if found is not None:
            return found
    shown = name if isinstance(name, str) else repr(name)
    close = difflib.get_close_matches(str(name), list(assistants), n=3, cutoff=0.4)
    hint = (
        f" Did you mean: {', '.join(close)}?"
        if close
        else (f" Available: {', '.join(sorted(assistants)[:10])}." if assistants else "")
    )
    raise ModelNotFound(
        f"The model '{shown}' does not exist in this workspace.{hint}", param="model"
    )


def deployment(snapshot: Snapshot, ref: str) -> Deployment | None:
    provider_name, _, model = ref.partition("/")
    provider = snapshot.providers.get(provider_name)
    if provider is None:
        return None
    return Deployment(ref, provider, model, provider.models.get(model))


def model_info(snapshot: Snapshot, ref: str) -> ModelInfo | None:
    """``deployment(snapshot, ref).info`` without making the deployment (every request asks)."""
    provider_name, _, model = ref.partition("/")
    provider = snapshot.providers.get(provider_name)
    return None if provider is None else provider.models.get(model)
