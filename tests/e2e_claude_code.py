"""Claude Code, end to end through ``/v1/messages``: an agent that speaks only the Messages API,
pointed at a router whose assistant is backed by an OpenAI-compatible loopback model.

Not collected by pytest: it needs the Claude Code CLI, which the project does not install.
Run it by hand with the CLI's path (``npm install @anthropic-ai/claude-code``; the native
binary is in ``node_modules/@anthropic-ai/claude-code-linux-x64/claude``):

    .venv/bin/python -m tests.e2e_claude_code /path/to/claude

The loopback model plays a one-step agent: asked anything, it calls the ``Bash`` tool to write
a file; given the tool's result, it answers ``done: <result>``. The run passes when Claude Code
ran the tool (the file exists), printed the final answer, and the router logged the requests
as ``messages``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiohttp import web

from tests.conftest import RouterProcess, make_tenant
from tests.loopback import ServerThread


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    data = {
        "id": "chatcmpl-agent",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": "agent",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + orjson.dumps(data) + b"\n\n"


def agent_app(proof: Path, seen: list[dict[str, Any]]) -> web.Application:
    async def models(_request: web.Request) -> web.Response:
        data = [{"id": "agent", "object": "model", "owned_by": "test", "max_model_len": 200000}]
        return web.json_response({"object": "list", "data": data})

    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.json(loads=orjson.loads)
        seen.append(body)
        last = body["messages"][-1]
        tools = [t["function"]["name"] for t in body.get("tools") or []]
        if last["role"] == "tool":
            delta: dict[str, Any] = {"content": f"done: {str(last['content']).strip()}"}
            finish = "stop"
        elif "Bash" in tools:
            command = f"echo junction-e2e > {proof} && cat {proof}"
            arguments = json.dumps({"command": command, "description": "Write the proof file"})
            delta = {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_bash_1",
                        "type": "function",
                        "function": {"name": "Bash", "arguments": arguments},
                    }
                ]
            }
            finish = "tool_calls"
        else:  # side requests (titles, summaries): a short plain answer
            delta, finish = {"content": "ok"}, "stop"
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(_chunk({"role": "assistant", "content": ""}))
        await response.write(_chunk(delta))
        await response.write(_chunk({}, finish))
        usage = {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}
        tail = {"id": "chatcmpl-agent", "object": "chat.completion.chunk", "choices": []}
        await response.write(b"data: " + orjson.dumps({**tail, "usage": usage}) + b"\n\n")
        await response.write(b"data: [DONE]\n\n")
        return response

    app = web.Application()
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/chat/completions", chat)
    return app


def main(claude: str) -> int:
    work = Path(tempfile.mkdtemp(prefix="junction-e2e-"))
    proof = work / "proof.txt"
    seen: list[dict[str, Any]] = []
    server = ServerThread(agent_app(proof, seen))
    url = server.start()
    router = RouterProcess(work / "router", {})
    router.data_dir.mkdir()
    router.start()
    try:
        with router.admin() as admin:
            made = admin.post(
                "/providers", json={"name": "loop", "kind": "openai", "base_url": url + "/v1"}
            )
            assert made.status_code == 201, made.text
        tenant = make_tenant(router)
        tenant.assistant("bot", model="loop/agent")
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(work),
            "ANTHROPIC_BASE_URL": router.url,
            "ANTHROPIC_API_KEY": tenant.key,
            "ANTHROPIC_MODEL": "bot",
            "ANTHROPIC_SMALL_FAST_MODEL": "bot",
            "ANTHROPIC_DEFAULT_HAIKU_MODEL": "bot",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_AUTOUPDATER": "1",
        }
        started = time.monotonic()
        run = subprocess.run(
            [claude, "-p", "Write the proof file.", "--allowedTools", "Bash", "--model", "bot"],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        took = time.monotonic() - started
        print(f"claude exit {run.returncode} in {took:.1f} s")
        print("stdout:", run.stdout.strip()[-2000:])
        print("stderr:", run.stderr.strip()[-2000:])
        logs = httpx.get(
            f"{router.url}/admin/v1/workspaces/{tenant.name}/logs",
            headers={"Authorization": f"Bearer {router.admin_key}"},
            timeout=10,
        ).json()["data"]
        print("request log:", [(e["endpoint"], e["status"]) for e in logs])
        print("upstream requests:", len(seen), "tools offered:", len(seen[0].get("tools") or []))
        wrote = proof.exists() and proof.read_text().strip() == "junction-e2e"
        print("proof file written by the Bash tool:", wrote)
        ok = run.returncode == 0 and wrote and "done: junction-e2e" in run.stdout
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        router.stop()
        server.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
