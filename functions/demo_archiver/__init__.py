"""The demo flow's second half: each `Heartbeat` becomes a JSON blob in `documents`."""
