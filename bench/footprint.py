"""Where a router's memory goes: libraries as they are imported, the tokenizer, the log sink.

    python bench/footprint.py [--python .venv/bin/python] [--out bench/results/footprint.json]

In a fresh interpreter of the given venv, imports what ``junction serve`` imports, one group
at a time in the order the router needs them, and records the resident set (``VmRSS``) after
each: a group's figure is what it added on top of the groups before it (a library shared by
two groups counts for the first). Then it builds the app as ``serve`` does (``create_app``),
loads the tokenizer's encoding, and lists the top-level packages the built app left in
``sys.modules``. Last it starts the request-log sink child (``accounting.sqlite_sink``) on a
scratch SQLite file, stores one batch, and reads the child's own ``VmRSS``. Prints a table;
writes every figure as JSON. Nothing listens on the network.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

GROUPS: list[tuple[str, list[str]]] = [
    ("python + site", []),
    ("uvicorn, uvloop, httptools", ["uvicorn", "uvloop", "httptools"]),
    ("starlette", ["starlette.applications", "starlette.routing", "starlette.responses"]),
    ("pydantic (the admin API)", ["pydantic"]),
    ("fastapi", ["fastapi"]),
    ("sqlalchemy (asyncio, aiosqlite)", ["sqlalchemy.ext.asyncio", "sqlalchemy.orm", "aiosqlite"]),
    ("aiohttp", ["aiohttp"]),
    ("orjson", ["orjson"]),
    ("tiktoken (module only)", ["tiktoken"]),
    ("limits", ["limits.aio.storage"]),
    ("prometheus_client", ["prometheus_client"]),
    ("redis", ["redis.asyncio"]),
    ("cryptography", ["cryptography.fernet"]),
    ("alembic (with mako, pygments)", ["alembic.command", "alembic.runtime.migration"]),
    ("jinja2", ["jinja2"]),
    ("httpx", ["httpx"]),
    ("yaml", ["yaml"]),
    ("opentelemetry", ["opentelemetry.trace"]),
    ("typer, rich (the CLI)", ["typer", "rich.console"]),
    ("junction.cli.main", ["junction.cli.main"]),
    ("junction.app", ["junction.app"]),
    ("junction.admin.router", ["junction.admin.router"]),
    ("junction.ui.routes", ["junction.ui.routes"]),
]

PROBE = r"""
import importlib, json, os, sys, tempfile

def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0

groups = json.loads(sys.argv[1])
out = {"groups": []}
last = rss()
out["groups"].append({"group": groups[0][0], "rss_mb": last, "added_mb": last})
for name, mods in groups[1:]:
    for m in mods:
        importlib.import_module(m)
    now = rss()
    out["groups"].append({"group": name, "rss_mb": now, "added_mb": now - last})
    last = now
print(json.dumps(out))
"""

# What `junction serve` holds before its first request: the CLI, the app as serve builds it.
SERVE_PROBE = r"""
import json, os, sys, tempfile

def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0

os.environ["JUNCTION_DATA_DIR"] = tempfile.mkdtemp(prefix="footprint-")
os.environ.setdefault("JUNCTION_ADMIN_KEY", "footprint-admin-key-0123456789")
out = {"python_mb": rss()}
try:
    import junction.cli.serve  # what `junction serve` imports
except ImportError:  # a build from before serve had a module of its own
    import junction.cli.main
out["cli_mb"] = rss()
from junction.app import create_app
create_app()
out["serve_app_mb"] = rss()
out["packages"] = sorted({m.split(".")[0] for m in sys.modules if not m.startswith("_")})
from junction.tokens.counter import ENCODING
import tiktoken
before = rss()
tiktoken.get_encoding(ENCODING)
out["tokenizer_mb"] = rss() - before
print(json.dumps(out))
"""


def probe(python: str, code: str, *args: str) -> dict[str, object]:
    proc = subprocess.run(
        [python, "-c", code, *args], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    if proc.returncode != 0:
        raise SystemExit(f"probe failed: {proc.stderr[-2000:]}")
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


SINK_PROBE = r"""
import subprocess, sys, tempfile, time
from junction.accounting.row_store import COLUMNS
cmd = [sys.executable, "-m", "junction.accounting.sqlite_sink"]
cmd += [tempfile.mktemp(suffix=".db"), "INSERT INTO log VALUES (?)", ",".join(COLUMNS)]
p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
p.stdin.write((1).to_bytes(4, "big") + b"x")  # not JSON: answered with an error line
p.stdin.flush()
reply = p.stdout.readline()
rss = [line for line in open(f"/proc/{p.pid}/status") if line.startswith("VmRSS:")][0]
p.stdin.close()
p.wait()
print(int(rss.split()[1]) / 1024)
"""


def sink_rss_mb(python: str) -> float:
    """The sink child's VmRSS once it has started and answered a frame (an invalid one: no
    schema is needed): what it holds while the router idles, less SQLite's page cache."""
    proc = subprocess.run(
        [python, "-c", SINK_PROBE], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    if proc.returncode != 0:
        raise SystemExit(f"sink probe failed: {proc.stderr[-2000:]}")
    return float(proc.stdout.split()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--python", default=str(ROOT / ".venv" / "bin" / "python"))
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "footprint.json")
    args = ap.parse_args()
    figures = probe(args.python, PROBE, json.dumps(GROUPS))
    serve = probe(args.python, SERVE_PROBE)
    figures["serve"] = serve
    figures["sink_mb"] = sink_rss_mb(args.python)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print("Each library group imported in turn (what it adds on top of the ones above):")
    print("| what | adds MB | RSS after, MB |")
    print("|---|---|---|")
    for g in figures["groups"]:  # type: ignore[attr-defined]
        print(f"| {g['group']} | {g['added_mb']:.1f} | {g['rss_mb']:.1f} |")
    print()
    print(f"serve, fresh interpreter: python {serve['python_mb']:.1f} MB, after the CLI")
    print(f"{serve['cli_mb']:.1f} MB, after create_app {serve['serve_app_mb']:.1f} MB;")
    print(f"the tokenizer's encoding, when loaded: +{serve['tokenizer_mb']:.1f} MB")
    print(f"request-log sink process (its own RSS): {figures['sink_mb']:.1f} MB")
    print("packages the built app imported: " + ", ".join(serve["packages"]))  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
