"""The SQLite request-log sink: a small child process that stores batches of log rows.

Run as ``python -m junction.accounting.sqlite_sink <database file> <insert statement> <columns>``
(the rows' column names, comma-separated) by
``row_store.SqliteSinkStore``, never by hand. Why a process of its own: storing rows from a
thread of the router (aiosqlite's) cost the router's event loop about 40 µs of CPU a request at
saturation, on top of the insert itself, however the statements were batched — the thread
competes for the GIL. Here the inserts run beside the router instead (``bench/logging_bench.py``).

Protocol, binary on stdin and stdout: the router sends frames of a 4-byte big-endian length and
an orjson array of rows; each frame is stored in one transaction and answered with one line,
``ok`` or ``error <type>: <message>``. The same transaction adds the inserted rows to the
usage rollups (``store.rollup``); rows already stored (a batch re-sent after its reply was lost) are
neither inserted nor counted again. The child ends at the end of its input — when the router
closes the pipe, or dies — so it never outlives the router. It runs in a session of its own
and ignores SIGINT and SIGTERM: a Ctrl-C or a stop signal sent to every process of the router
must not end it before the router's last flush. It runs at a lower CPU priority than the
router: storing a batch is a burst of CPU that no one waits for, and on a small machine it must
not delay requests.

Only the standard library, orjson and ``store.rollup`` are imported: the process starts and ends
in about 30 ms.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
from typing import BinaryIO

import orjson

from junction.store import rollup

BUSY_TIMEOUT_SECONDS = 30.0
NICENESS = 10


class Statements:
    def __init__(self, insert: str, columns: list[str]) -> None:
        self.insert = insert
        self.reader = rollup.Reader(columns)
        self.upsert = rollup.upsert_statement("qmark")


def serve(database: str, statements: Statements, frames: BinaryIO, replies: BinaryIO) -> None:
    db = sqlite3.connect(database, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
    try:
        while True:
            head = frames.read(4)
            if len(head) < 4:
                return
            size = int.from_bytes(head, "big")
            payload = frames.read(size)
            if len(payload) < size:
                return
            replies.write(store(db, statements, payload) + b"\n")
            replies.flush()
    finally:
        db.close()


def store(db: sqlite3.Connection, statements: Statements, payload: bytes) -> bytes:
    try:
        rows = orjson.loads(payload)
        db.execute("BEGIN IMMEDIATE")  # the write lock first: the check below stays true
        try:
            stored: set[str] = set()
            for ids in rollup.id_chunks(rows):
                found = db.execute(rollup.select_existing("qmark", len(ids)), ids)
                stored.update(r[0] for r in found)
            fresh = rollup.fresh_rows(rows, stored)
            db.executemany(statements.insert, fresh)
            totals = statements.reader.add({}, fresh)
            db.executemany(statements.upsert, rollup.upsert_values(totals))
            db.execute("COMMIT")
        finally:
            if db.in_transaction:
                db.execute("ROLLBACK")
    except Exception as exc:  # reported to the router, which keeps the batch and retries
        message = f"error {type(exc).__name__}: {exc}"
        return message.replace("\n", " ").encode("utf-8", "replace")
    return b"ok"


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.nice(NICENESS)
    database, insert, columns = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    serve(database, Statements(insert, columns), sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    main()
