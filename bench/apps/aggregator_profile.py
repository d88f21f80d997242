"""The aggregator as it is, under cProfile in every gRPC worker thread, for `bench/pubsub_profile.py`.

`bindings.server` builds its server on a `ThreadPoolExecutor`; this launcher swaps in one whose worker
threads each start a `cProfile.Profile` on the thread's CPU clock first, so gRPC's Python request
handling, FunctionApp's topic path, the counters and the Dapr client's calls are all seen, without the
waits on daprd (gRPC's C threads are not Python). When the app has drained after SIGTERM the threads'
profiles are merged into `BENCH_PROFILE` (pstats).
"""

from __future__ import annotations

import cProfile
import os
import pstats
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bindings import server

_profiles: list[cProfile.Profile] = []
_lock = threading.Lock()


def _start() -> None:
    profile = cProfile.Profile(time.thread_time)  # CPU, not the wait on daprd
    with _lock:
        _profiles.append(profile)
    profile.enable()


class _Profiled(ThreadPoolExecutor):
    def __init__(self, max_workers: int | None = None, **kwargs: Any) -> None:  # noqa: ANN401
        super().__init__(max_workers=max_workers, initializer=_start, **kwargs)


setattr(server, "ThreadPoolExecutor", _Profiled)  # noqa: B010 - a patch, on purpose

from functions.aggregator.app import app  # noqa: E402 - after the patch above

if __name__ == "__main__":
    app.run()
    with _lock:
        stats = [pstats.Stats(profile) for profile in _profiles]  # each disabled as it is read
    for more in stats[1:]:
        stats[0].add(more)
    if stats:
        stats[0].dump_stats(os.environ["BENCH_PROFILE"])
