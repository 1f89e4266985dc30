"""The in-process copy of the configuration that the request path reads: immutable views of
providers, workspaces, keys and assistants, looked up by dictionary. ``catalog.Catalog`` builds
and replaces them; nothing here touches the database.

A change never edits a snapshot in place: the catalog builds a new one that shares every
unchanged view and dictionary with the old one (copy-on-write), then swaps it in at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from junction.providers.base import Provider, ProviderConfig


@dataclass(frozen=True)
class ModelInfo:
    name: str
    context_length: int | None = None
    input_price: float | None = None
    output_price: float | None = None


@dataclass(frozen=True)
class ProviderRuntime:
    config: ProviderConfig
    client: Provider
    models: dict[str, ModelInfo]


@dataclass(frozen=True, slots=True)
class WorkspaceView:
    id: str
    name: str
    token_context_window: str | None
    max_tokens: int | None
    rpm_limit: int | None
    tpm_limit: int | None
    monthly_token_budget: int | None
    judge_assistant: str | None
    log_content: bool = False


@dataclass(frozen=True, slots=True)
class KeyView:
    id: str
    workspace_id: str
    name: str
    expires_at: float | None  # unix time
    revoked: bool
    rpm_limit: int | None
    tpm_limit: int | None
    owner_id: str = ""  # the first key of its rotation chain: what owns its conversations

    def usable(self, now: float) -> bool:
        return not self.revoked and (self.expires_at is None or now < self.expires_at)


@dataclass(frozen=True, slots=True)
class AssistantSettings:
    """What an assistant does, apart from its identity: one object for all the assistants
    configured alike (tenants made from one template repeat it), so that a large catalog
    holds each distinct configuration once."""

    description: str
    model: tuple[str, ...]
    fallbacks: tuple[str, ...]
    system_prompt: str
    chat_history: str
    temperature: float | None
    quality_score: int
    max_tokens: int | None
    embedding_model: str | None = None  # "<provider>/<model>" of its knowledge
    context_score: int = 65  # least relevance (0-100) a knowledge chunk needs to be used
    knowledge_version: str = ""  # "" = no usable knowledge; else changes with it
    disable_think: bool = False  # thinking switched off and stripped, whatever chat_history


@dataclass(frozen=True, slots=True)
class AssistantView:
    id: str
    workspace_id: str
    name: str
    created: int  # unix time, for /v1/models
    settings: AssistantSettings

    @property
    def description(self) -> str:
        return self.settings.description

    @property
    def model(self) -> tuple[str, ...]:
        return self.settings.model

    @property
    def fallbacks(self) -> tuple[str, ...]:
        return self.settings.fallbacks

    @property
    def system_prompt(self) -> str:
        return self.settings.system_prompt

    @property
    def chat_history(self) -> str:
        return self.settings.chat_history

    @property
    def temperature(self) -> float | None:
        return self.settings.temperature

    @property
    def quality_score(self) -> int:
        return self.settings.quality_score

    @property
    def max_tokens(self) -> int | None:
        return self.settings.max_tokens

    @property
    def embedding_model(self) -> str | None:
        return self.settings.embedding_model

    @property
    def context_score(self) -> int:
        return self.settings.context_score

    @property
    def knowledge_version(self) -> str:
        return self.settings.knowledge_version

    @property
    def disable_think(self) -> bool:
        return self.settings.disable_think


@dataclass(frozen=True)
class Snapshot:
    providers: dict[str, ProviderRuntime] = field(default_factory=dict)
    workspaces: dict[str, WorkspaceView] = field(default_factory=dict)
    keys: dict[str, KeyView] = field(default_factory=dict)  # by key hash
    assistants: dict[str, dict[str, AssistantView]] = field(default_factory=dict)  # by ws id
