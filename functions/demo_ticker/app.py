"""demo-ticker: cron tick → Heartbeat on `demo-events`.

A placeholder flow that proves the path end to end until the real functions land.
"""

from __future__ import annotations

from bindings.app import CronTick, FunctionApp
from bindings.dapr_ports import DaprQueue
from functions.common import names
from functions.common.messages import Heartbeat

app = FunctionApp(names.DEMO_TICKER)
events = DaprQueue(names.DEMO_EVENTS_OUT)


@app.cron(names.DEMO_TICK)
def on_tick(tick: CronTick) -> None:
    """Send one heartbeat per tick, identified by the tick's second."""
    events.send(Heartbeat(id=tick.fired_at.strftime("%Y%m%dT%H%M%SZ"), fired_at=tick.fired_at))


if __name__ == "__main__":
    app.run()
