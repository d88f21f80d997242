"""`make demo`'s dashboard: every tile rebuilt from the scenario's final counters before the demo ends.

The tile builder rebuilds a tile when it is missing or its refresh has passed (two minutes and more),
and the scenario takes seconds, so tiles built while it ran would show part of it until long after it
ended. The demo deletes each tile built before the last event was counted, through the dashboard's
sidecar, and waits until the builder (ticking every few seconds) has built it again: the tiles that
`make run` serves afterwards show the whole scenario.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from functions.common import names
from functions.common.tiles import CATALOGUE, KEY_PREFIX, Tile
from tooling.waiting import eventually

NOT_FOUND = 404  # the dashboard's answer for a tile it has none of

if TYPE_CHECKING:
    from collections.abc import Callable

    from tooling.stack import Stack


def built_at(stack: Stack, tile_id: str) -> datetime | None:
    """When the tile the dashboard serves was built; None while it has none."""
    try:
        with urllib.request.urlopen(f"{stack.dashboard_url}api/tiles/{tile_id}", timeout=10) as answer:  # noqa: S310
            return Tile.model_validate_json(answer.read()).generated_at
    except urllib.error.HTTPError as error:
        if error.code == NOT_FOUND:
            return None
        raise


def _delete(stack: Stack, tile_id: str) -> None:
    """Delete the tile from the `tiles` store through the dashboard's daprd (the builder rebuilds it)."""
    port = stack.apps[names.DASHBOARD].ports.http
    headers = {"dapr-api-token": stack.dapr_token} if stack.dapr_token else {}
    url = f"http://127.0.0.1:{port}/v1.0/state/{names.TILES}/{KEY_PREFIX}{tile_id}"
    request = urllib.request.Request(url, headers=headers, method="DELETE")
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
        assert answer.status in {200, 204}  # noqa: S101 - daprd answers 204


def run(stack: Stack, say: Callable[[str], None]) -> int:
    """Have every tile rebuilt after now (the events are all counted); the number of tiles."""
    if names.DASHBOARD not in stack.apps or names.TILE_BUILDER not in stack.apps:
        return 0
    say(f"   the dashboard's {len(CATALOGUE)} tiles, rebuilt from the final counters: {stack.dashboard_url}")
    since = datetime.now(UTC)

    def rebuilt() -> bool:
        done = True
        for spec in CATALOGUE:
            at = built_at(stack, spec.id)
            if at is None or at <= since:
                done = False
                if at is not None:  # built before the last count: have it built again
                    _delete(stack, spec.id)
        return done

    eventually(rebuilt, "every dashboard tile rebuilt from the final counters", timeout=60, every=0.5)
    return len(CATALOGUE)
