"""The aggregator with its counting taken out, for `bench/pubsub_events.py`: FunctionApp's topic path alone.

Its dunning handler runs as in the app (the CloudEvent's data parsed into a `DunningEvent`, the day,
dimensions and gauge moves worked out, the log line) but `counters.count` answers "counted" without a
state call. It subscribes to `BENCH_TOPIC` in place of `dunning` (set before the app module is
imported), so it is fed its own events rather than a copy of the aggregator's.
"""

from __future__ import annotations

import os

from functions.aggregator import counters
from functions.common import domain_events

domain_events.DUNNING = os.environ["BENCH_TOPIC"]  # type: ignore[misc]
counters.count = lambda *_args, **_kwargs: True

from functions.aggregator.app import app  # noqa: E402 - after the patches above

if __name__ == "__main__":
    app.run()
