"""A workspace view holding its assistants compactly reads them back exactly as they were."""

from __future__ import annotations

from junction.config.snapshot import AssistantSettings, AssistantView, Snapshot, WorkspaceView

PLAIN = AssistantSettings("", ("p/m",), (), "Be brief.", "on", None, 0, None)
KNOWING = AssistantSettings(
    "", ("p/m",), (), "", "on", None, 0, None, "p/e", knowledge_version="v1"
)


def test_assistants_read_back_by_name_with_ids_of_any_length() -> None:
    views = [
        AssistantView("asst_0123456789abcdef", "ws_1", "long", 1_700_000_000, PLAIN),
        AssistantView("a", "ws_1", "short", 1_700_000_001, KNOWING),
        AssistantView("asst_x", "ws_1", "mid", 1_700_000_002, PLAIN),
    ]
    shared: dict[tuple[str, ...], dict[str, int]] = {}
    workspace = WorkspaceView("ws_1", "team").with_assistants(views, shared)
    roster = Snapshot(workspaces={"ws_1": workspace}).roster("ws_1")
    assert len(roster) == 3 and list(roster) == ["long", "short", "mid"]
    assert [roster[v.name] for v in views] == views
    assert roster.get("nobody") is None and "mid" in roster and "nobody" not in roster
    assert [a.id for a in roster.values()] == ["asst_0123456789abcdef", "a", "asst_x"]
    assert list(roster.with_knowledge()) == [views[1]]

    other = WorkspaceView("ws_2", "other").with_assistants(
        [v._replace(workspace_id="ws_2", id=v.id + "2") for v in views], shared
    )
    assert other.roster_at is workspace.roster_at, "one name dictionary for the same names"
    assert other.assistants["short"].id == "a2"


def test_a_workspace_without_assistants_holds_nothing_for_them() -> None:
    workspace = WorkspaceView("ws_1", "team").with_assistants([])
    assert workspace.roster_at is None and workspace.roster_rows == ()
    assert len(workspace.assistants) == 0 and workspace.assistants.get("x") is None
    assert len(Snapshot().roster("ws_missing")) == 0
