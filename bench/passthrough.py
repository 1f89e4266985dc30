"""The floor for a Python router here: a bare aiohttp + uvloop proxy that forwards bytes.

    python bench/passthrough.py --port P --upstream http://127.0.0.1:U

Every POST is sent as it came (body and Content-Type) to the same path on the upstream through
one pooled ``aiohttp.ClientSession``; the answer's status, Content-Type and body come back
untouched, a stream chunk by chunk as it arrives. No parsing, no authentication, no logging:
what any Python proxy on this stack pays for the two HTTP hops alone. ``run.py`` and ``ab.py``
measure Junction against it in the same run. Binds 127.0.0.1 only.
"""

from __future__ import annotations

import argparse

import uvloop
from aiohttp import ClientSession, ClientTimeout, TCPConnector, web

HOST = "127.0.0.1"


def build(upstream: str) -> web.Application:
    app = web.Application()
    sessions: list[ClientSession] = []

    async def open_session(_app: web.Application) -> None:
        sessions.append(
            ClientSession(
                connector=TCPConnector(limit=0, limit_per_host=0),
                timeout=ClientTimeout(total=60),
                auto_decompress=False,
            )
        )

    async def close_session(_app: web.Application) -> None:
        for session in sessions:
            await session.close()

    async def forward(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {"Content-Type": request.headers.get("Content-Type", "application/json")}
        async with sessions[0].post(upstream + request.path, data=body, headers=headers) as up:
            kind = up.headers.get("Content-Type", "application/json")
            if not kind.startswith("text/event-stream"):
                return web.Response(
                    body=await up.read(), status=up.status, headers={"Content-Type": kind}
                )
            out = web.StreamResponse(status=up.status, headers={"Content-Type": kind})
            await out.prepare(request)
            async for chunk in up.content.iter_any():
                await out.write(chunk)
            await out.write_eof()
            return out

    app.router.add_post("/{tail:.*}", forward)
    app.on_startup.append(open_session)
    app.on_cleanup.append(close_session)
    return app


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--upstream", required=True, help="e.g. http://127.0.0.1:8001")
    args = ap.parse_args()
    if not args.upstream.startswith(f"http://{HOST}:"):
        raise SystemExit("the upstream must be on 127.0.0.1")
    uvloop.install()
    web.run_app(build(args.upstream), host=HOST, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
