"""An SMTP capture that can hold one message's reply, so a test can kill the sender while it waits.

Every message is stored as the stack's own capture stores it (`tooling.smtp_capture`), so
`effects.Mailbox` counts it. A `Hold` names a recipient and a stage:

* `rcpt`: the reply to `RCPT TO` waits. No DATA has been sent: the mail has not left.
* `data`: the message is stored first, then the reply to DATA's final "." waits. The server has the
  mail, as an MTA that queues it at end of data (Postfix does): it is delivered whatever happens next.

Only the first arrival for a held address waits; later ones (a resend) pass straight through.
`socket_owner` names the process at the other end of a held session (the daprd that sends).
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Self, TypeVar

from aiosmtpd.controller import Controller

from tooling import procs
from tooling.smtp_capture import CaptureHandler

Stage = Literal["rcpt", "data"]
T = TypeVar("T")


@dataclass
class Hold:
    """One recipient's first message, held at `stage` until `release` is set."""

    address: str
    stage: Stage
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    peer_port: int = 0  # the sender's source port (daprd's end of the SMTP session)


class HoldingCapture(CaptureHandler):
    """`CaptureHandler` that holds the replies named by `hold` and counts the DATA each address got."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.holds: dict[str, Hold] = {}
        self.received: Counter[str] = Counter()  # complete messages (DATA) per envelope recipient

    def hold(self, address: str, stage: Stage) -> Hold:
        """Hold the first message to `address` at `stage`."""
        self.holds[address] = Hold(address, stage)
        return self.holds[address]

    def release_all(self) -> None:
        """Let every held reply go (teardown: nothing may stay blocked)."""
        for hold in self.holds.values():
            hold.release.set()

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self,
        _server: Any,
        session: Any,
        envelope: Any,
        address: str,
        _options: Any,
    ) -> str:
        """Accept the recipient, after holding the reply when asked to."""
        await self._wait(address, "rcpt", session)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        """Store the message, then hold the reply when asked to."""
        answer = await super().handle_DATA(server, session, envelope)
        self.received.update(envelope.rcpt_tos)
        for address in envelope.rcpt_tos:
            await self._wait(address, "data", session)
        return answer

    async def _wait(self, address: str, stage: Stage, session: Any) -> None:
        hold = self.holds.get(address)
        if hold is None or hold.stage != stage or hold.arrived.is_set():
            return
        hold.peer_port = int(session.peer[1])
        hold.arrived.set()
        await asyncio.get_running_loop().run_in_executor(None, hold.release.wait)


class HeldSmtp:
    """A `HoldingCapture` served on a free loopback port from a background thread."""

    def __init__(self, directory: Path) -> None:
        self.port = procs.free_port()
        self.handler = HoldingCapture(directory)
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> Self:
        self._controller.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.handler.release_all()
        self._controller.stop()


def socket_owner(port: int, owners: dict[int, T]) -> T | None:
    """The owner (by pid in `owners`) of the loopback TCP socket whose local port is `port`."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    for pid, owner in owners.items():
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if str(fd.readlink()) in inodes:
                    return owner
            except OSError:
                continue
    return None
