"""The `bindery` commands that work on the local stack's storage: dead letters and uploads.

They use the running stack's Azurite, or start a temporary one over the same data folder.
"""

from __future__ import annotations

import contextlib
import json
import sys
from typing import TYPE_CHECKING

from tooling import azurite, deadletters, procs
from tooling.paths import project_root, var_dir

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator
    from pathlib import Path


def dead_letters(args: argparse.Namespace) -> int:
    """`bindery dead-letters list|redrive`: show dead letters, or put them back on their queues."""
    from azure.storage.blob import BlobServiceClient  # noqa: PLC0415
    from azure.storage.queue import QueueServiceClient  # noqa: PLC0415

    local = project_root() / "components" / "local"
    with storage() as connection:
        blobs = BlobServiceClient.from_connection_string(connection)
        rows = list(deadletters.records(blobs, local))
        if args.action == "list":
            print(deadletters.table(rows) if rows else "no dead letters")
            return 0
        chosen = rows if args.all else [row for row in rows if row.record.id == args.id]
        if not chosen:
            print(f"bindery: no dead letter {args.id}" if args.id else "no dead letters", file=sys.stderr)
            return 1 if args.id else 0
        queues = QueueServiceClient.from_connection_string(connection)
        for row in chosen:
            queue = deadletters.redrive(row, blobs, queues, local)
            print(f"redriven {row.record.id} -> queue {queue}")
    return 0


def upload(args: argparse.Namespace) -> int:
    """`bindery upload FILE`: the file into the documents container, its BlobCreated event queued."""
    from azure.storage.blob import BlobServiceClient  # noqa: PLC0415
    from azure.storage.queue import QueueServiceClient  # noqa: PLC0415

    from tooling import upload as uploads  # noqa: PLC0415

    path: Path = args.file
    if not path.is_file():
        print(f"bindery: no file {path}", file=sys.stderr)
        return 1
    with storage() as connection:
        blobs = BlobServiceClient.from_connection_string(connection)
        queues = QueueServiceClient.from_connection_string(connection)
        event = uploads.upload(blobs, queues, path, prefix=args.prefix)
    data = event["data"]
    print(f"uploaded {data['url']} ({data['contentLength']} bytes); BlobCreated {event['id']} queued")
    return 0


@contextlib.contextmanager
def storage() -> Iterator[str]:
    """The running stack's Azurite, or a temporary one over the same data folder."""
    info = stack_file()
    if info.is_file():
        running = json.loads(info.read_text())
        if procs.port_open(int(running["blob_port"]))():
            yield str(running["connection_string"])
            return
    emulator = azurite.start(var_dir() / "azurite", var_dir() / "log" / "azurite-cli.log")
    try:
        yield emulator.connection_string
    finally:
        emulator.proc.stop()


def stack_file() -> Path:
    """Where `bindery run` records how to reach its Azurite."""
    path = var_dir() / "run" / "stack.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
