"""The demo flow's first half: a cron tick becomes a `Heartbeat` on the demo-events queue."""
