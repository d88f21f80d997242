"""A local SMTP server that writes every message it receives as an .eml file.

Run as `python -m tooling.smtp_capture --port P --dir D`. Each file holds the
message as received, preceded by `X-Bindery-Envelope-From` and `X-Bindery-Envelope-To`
headers carrying the SMTP envelope, so tests can check who a message really reached
(BCC recipients appear only in the envelope).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

_log = logging.getLogger(__name__)


class CaptureHandler:
    """aiosmtpd handler: one .eml file a message, written atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802, ANN401 - aiosmtpd's hook name
        """Store the message with its envelope and accept it."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        name = f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        head = (
            f"X-Bindery-Envelope-From: {envelope.mail_from}\r\n"
            f"X-Bindery-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode()
        temporary = self.directory / f".{name}.tmp"
        temporary.write_bytes(head + bytes(envelope.original_content or envelope.content))
        temporary.replace(self.directory / name)
        _log.info("captured %s for %s", name, ", ".join(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


def main() -> None:
    """Serve until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    controller = Controller(CaptureHandler(args.dir), hostname="127.0.0.1", port=args.port)
    controller.start()
    _log.info("SMTP capture on 127.0.0.1:%d writing to %s", args.port, args.dir)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.run_until_complete(stop.wait())
    controller.stop()


if __name__ == "__main__":
    main()
