"""The `bindery` commands that work on the local stack's storage: dead letters and uploads.

They use the running stack's Azurite, or start a temporary one over the same data folder.
"""

from __future__ import annotations

import contextlib
import json
import sys
from typing import TYPE_CHECKING, Any

from tooling import azurite, deadletters, procs
from tooling.paths import project_root, var_dir

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator
    from pathlib import Path


def dead_letters(args: argparse.Namespace) -> int:
    """`bindery dead-letters list|redrive`: show dead letters, or put them back on their queues and topics.

    With the stack running, its rendered components (the broker's address for a topic's dead letter).
    """
    from azure.storage.blob import BlobServiceClient  # noqa: PLC0415
    from azure.storage.queue import QueueServiceClient  # noqa: PLC0415

    with storage() as connection:
        rendered = rendered_components()
        folder = rendered if running() and rendered.is_dir() else project_root() / "components" / "local"
        blobs = BlobServiceClient.from_connection_string(connection)
        rows = list(deadletters.records(blobs, folder))
        if args.action == "list":
            print(deadletters.table(rows) if rows else "no dead letters")
            return 0
        chosen = rows if args.all else [row for row in rows if row.record.id == args.id]
        if not chosen:
            print(f"bindery: no dead letter {args.id}" if args.id else "no dead letters", file=sys.stderr)
            return 1 if args.id else 0
        queues = QueueServiceClient.from_connection_string(connection)
        for row in chosen:
            where = deadletters.redrive(row, blobs, queues, folder)
            kind = "topic" if deadletters.is_topic(row.record) else "queue"
            print(f"redriven {row.record.id} -> {kind} {where}")
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
    stack = running()
    if stack is not None:
        yield str(stack["connection_string"])
        return
    emulator = azurite.start(var_dir() / "azurite", var_dir() / "log" / "azurite-cli.log")
    try:
        yield emulator.connection_string
    finally:
        emulator.proc.stop()


def running() -> dict[str, Any] | None:
    """What `bindery run` recorded of its stack (`stack_file`) while its Azurite answers; else None."""
    info = stack_file()
    if info.is_file():
        stack: dict[str, Any] = json.loads(info.read_text())
        if procs.port_open(int(stack["blob_port"]))():
            return stack
    return None


def rendered_components() -> Path:
    """The components `bindery run` renders with its ports (`Stack.resources` of a stack over var/)."""
    return var_dir() / "run" / "components"


def stack_file() -> Path:
    """Where `bindery run` records how to reach its Azurite."""
    path = var_dir() / "run" / "stack.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
