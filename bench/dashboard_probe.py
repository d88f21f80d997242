"""The tile builder's process for the dashboard bench, beside a daprd whose ports are in the environment.

Usage: dashboard_probe.py NOW [MAX_MESSAGE_BYTES] — then one command a line on stdin, one JSON line
each on stdout: `tick K` runs `functions.tile_builder.refresh.tick` over `DaprStateStore`s of the
`aggregates` and `tiles` stores, at NOW + K seconds, with every catalogue tile's refresh set to one
second (so each tick rebuilds every tile, the tiles it finds in the store being a second old);
`tick-real` the same at the wall clock with the catalogue as it is (the page's tiles); `quit`. Ticks
share one `aggregates.Earlier`, as the app's do: after the first, settled days' shards without a totals
key are not read again.
A tick's figures: this process's CPU (user + system, every thread: the builder's own), its wall time,
the tiles built and failed, and what it read from the counters (keys, by kind too: `totals:`,
`counts:`, `gauges:`; bulk reads, bytes) and wrote.
MAX_MESSAGE_BYTES, when given, raises the Dapr client's gRPC message limit (default 4 MiB).
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from bindings import client
from bindings.dapr_ports import DaprStateStore
from functions.common import aggregates, names
from functions.common.tiles import CATALOGUE
from functions.tile_builder import refresh

if TYPE_CHECKING:
    from collections.abc import Sequence

    from bindings.ports import StateItem

KINDS = ("totals", "counts", "gauges")  # the counters' keys, as `functions.common.aggregates` names them


class Counted(DaprStateStore):
    """`DaprStateStore` counting what a tick reads and writes through it."""

    def __init__(self, store: str) -> None:
        super().__init__(store)
        self.keys = self.reads = self.read_bytes = self.saves = self.saved_bytes = 0
        self.kinds: Counter[str] = Counter()  # keys asked by the part of their name before the first `:`

    def get_many(self, keys: Sequence[str]) -> list[StateItem]:
        """The bulk read, counted."""
        items = super().get_many(keys)
        self.reads += 1
        self.keys += len(keys)
        self.kinds.update(key.partition(":")[0] for key in keys)
        self.read_bytes += sum(len(item.value or b"") for item in items)
        return items

    def save(
        self, key: str, value: bytes, *, etag: str | None = None, ttl_seconds: int | None = None
    ) -> None:
        """The write, counted."""
        super().save(key, value, etag=etag, ttl_seconds=ttl_seconds)
        self.saves += 1
        self.saved_bytes += len(value)

    def figures(self, prefix: str) -> dict[str, int]:
        """The counts so far, each under `prefix`, and reset."""
        out = {f"{prefix}_{name}": getattr(self, name) for name in ("keys", "reads", "read_bytes", "saves")}
        out[f"{prefix}_saved_bytes"] = self.saved_bytes
        out |= {f"{prefix}_keys_{kind}": self.kinds[kind] for kind in KINDS}
        self.keys = self.reads = self.read_bytes = self.saves = self.saved_bytes = 0
        self.kinds.clear()
        return out


def main() -> None:
    """Answer commands until `quit`."""
    base = datetime.fromisoformat(sys.argv[1])
    if len(sys.argv) > 2:  # noqa: PLR2004 - the optional limit
        from dapr.clients import DaprClient  # noqa: PLC0415

        client._client = DaprClient(max_grpc_message_length=int(sys.argv[2]))  # noqa: SLF001 - bench only
    counters, tiles = Counted(names.AGGREGATES), Counted(names.TILES)
    earlier = aggregates.Earlier(settled_before=date.min)  # kept from tick to tick, as the app keeps it
    every_second = tuple(spec.model_copy(update={"refresh_seconds": 1}) for spec in CATALOGUE)
    for line in sys.stdin:
        command = line.split()
        if not command or command[0] == "quit":
            break
        if command[0] == "tick":
            specs, now = every_second, base + timedelta(seconds=int(command[1]))
        else:
            specs, now = CATALOGUE, datetime.now(UTC)
        cpu, wall = time.process_time(), time.perf_counter()
        report = refresh.tick(counters, tiles, specs, now, earlier=earlier)
        out = {"cpu_s": time.process_time() - cpu, "wall_s": time.perf_counter() - wall,
               "built": len(report.built), "failed": report.failed}  # fmt: skip
        out |= counters.figures("counters") | tiles.figures("tiles")
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
