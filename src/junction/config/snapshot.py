"""The in-process copy of the configuration that the request path reads: immutable views of
providers, workspaces, keys and assistants, looked up by dictionary. ``catalog.Catalog`` builds
and replaces them; nothing here touches the database.

A change never edits a snapshot in place: the catalog builds a new one that shares every
unchanged view and dictionary with the old one (copy-on-write), then swaps it in at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

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
class WorkspaceSettings:
    """A workspace's limits and options: one object for all the workspaces set alike (most
    keep the defaults), so that a large catalog holds each distinct set once."""

    token_context_window: str | None = None
    max_tokens: int | None = None
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    monthly_token_budget: int | None = None
    judge_assistant: str | None = None
    log_content: bool = False


DEFAULT_WORKSPACE = WorkspaceSettings()


@dataclass(frozen=True, slots=True)
class WorkspaceView:
    """A workspace, holding its assistants compactly in its last two fields (``Roster``
    explains them); ``assistants`` reads them."""

    id: str
    name: str
    settings: WorkspaceSettings = DEFAULT_WORKSPACE
    roster_at: dict[str, int] | None = None  # assistant name -> its place in roster_rows
    roster_rows: tuple[Any, ...] = ()  # (ids, then creation time and settings of each)

    @property
    def assistants(self) -> Roster:
        return Roster(self.id, self.roster_at or NO_NAMES, self.roster_rows)

    def with_assistants(
        self,
        views: Iterable[AssistantView],
        shared: dict[tuple[str, ...], dict[str, int]] | None = None,
    ) -> WorkspaceView:
        """This workspace holding these assistants (and no other). ``shared``: the name
        dictionaries made so far (a load's), to reuse an equal one."""
        views = list(views)
        if not views:
            return WorkspaceView(self.id, self.name, self.settings)
        width = max(len(view.id) for view in views)
        rows: list[Any] = ["".join(view.id.ljust(width, PAD) for view in views)]
        for view in views:
            rows += (view.created, view.settings)
        names = tuple(view.name for view in views)
        at = {name: 1 + 2 * i for i, name in enumerate(names)}
        if shared is not None:
            at = shared.setdefault(names, at)
        return WorkspaceView(self.id, self.name, self.settings, at, tuple(rows))

    @property
    def token_context_window(self) -> str | None:
        return self.settings.token_context_window

    @property
    def max_tokens(self) -> int | None:
        return self.settings.max_tokens

    @property
    def rpm_limit(self) -> int | None:
        return self.settings.rpm_limit

    @property
    def tpm_limit(self) -> int | None:
        return self.settings.tpm_limit

    @property
    def monthly_token_budget(self) -> int | None:
        return self.settings.monthly_token_budget

    @property
    def judge_assistant(self) -> str | None:
        return self.settings.judge_assistant

    @property
    def log_content(self) -> bool:
        return self.settings.log_content


@dataclass(frozen=True, slots=True)
class KeyTerms:
    """When and how much a key may be used, and who owns what it stores: one object for all the
    keys with the same terms (most keys: never expiring, not revoked, no limits of their own,
    not rotated)."""

    expires_at: float | None = None  # unix time
    revoked: bool = False
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    owner_id: str = ""  # rotated: the first key of its chain; "" = the key itself


DEFAULT_TERMS = KeyTerms()


@dataclass(frozen=True, slots=True)
class KeyView:
    """A key as requests see it (its name is for people: only the admin API shows it)."""

    id: str
    workspace_id: str
    terms: KeyTerms = DEFAULT_TERMS

    @property
    def expires_at(self) -> float | None:
        return self.terms.expires_at

    @property
    def revoked(self) -> bool:
        return self.terms.revoked

    @property
    def rpm_limit(self) -> int | None:
        return self.terms.rpm_limit

    @property
    def tpm_limit(self) -> int | None:
        return self.terms.tpm_limit

    @property
    def owner_id(self) -> str:
        """What owns the key's conversations: the first key of its rotation chain."""
        return self.terms.owner_id or self.id

    def usable(self, now: float) -> bool:
        terms = self.terms
        return not terms.revoked and (terms.expires_at is None or now < terms.expires_at)


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


class AssistantView(NamedTuple):
    """An assistant as a request sees it. Not kept in the catalog: a ``Roster`` makes one
    when asked (a tuple, the quickest immutable object to make)."""

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


class Roster(Mapping[str, AssistantView]):
    """A workspace's assistants by name (``WorkspaceView.assistants``), read from what the
    workspace view holds: a dictionary from name to position (one object for all the
    workspaces whose assistants have the same names: tenants made from one template) and one
    flat tuple: the assistants' ids in one string (each padded to the longest), then each one's
    creation time and settings. A view is made when one is looked up. A dictionary, a view
    object and an id string per assistant instead cost about 180 bytes more an assistant in a
    catalog of small workspaces (each Python object has a header of 16-50 bytes)."""

    __slots__ = ("_at", "_rows", "workspace_id")

    def __init__(self, workspace_id: str, at: dict[str, int], rows: tuple[Any, ...]) -> None:
        self.workspace_id = workspace_id
        self._at = at
        self._rows = rows

    def get(self, name: str, default: None = None) -> AssistantView | None:  # type: ignore[override]
        at = self._at.get(name)
        if at is None:
            return None
        rows = self._rows
        return AssistantView(self._id(at), self.workspace_id, name, rows[at], rows[at + 1])

    def _id(self, at: int) -> str:
        ids: str = self._rows[0]
        width = len(ids) // len(self._at)
        start = (at // 2) * width
        return ids[start : start + width].rstrip(PAD)

    def __getitem__(self, name: str) -> AssistantView:
        found = self.get(name)
        if found is None:
            raise KeyError(name)
        return found

    def __contains__(self, name: object) -> bool:
        return name in self._at

    def __iter__(self) -> Iterator[str]:
        return iter(self._at)

    def __len__(self) -> int:
        return len(self._at)

    def with_knowledge(self) -> Iterator[AssistantView]:
        """The views of the assistants that have usable knowledge (only theirs are made)."""
        rows = self._rows
        for name, at in self._at.items():
            if rows[at + 1].knowledge_version:
                yield AssistantView(self._id(at), self.workspace_id, name, rows[at], rows[at + 1])


NO_NAMES: dict[str, int] = {}  # shared, never changed
PAD = "\0"  # after a shorter id in a workspace's ids (no id holds it)
EMPTY_ROSTER = Roster("", NO_NAMES, ())


@dataclass(frozen=True)
class Snapshot:
    providers: dict[str, ProviderRuntime] = field(default_factory=dict)
    workspaces: dict[str, WorkspaceView] = field(default_factory=dict)
    keys: dict[bytes, KeyView] = field(default_factory=dict)  # by key digest (``key_digest``)

    def roster(self, workspace_id: str) -> Roster:
        """The workspace's assistants (none when there is no such workspace)."""
        workspace = self.workspaces.get(workspace_id)
        return EMPTY_ROSTER if workspace is None else workspace.assistants
