"""Send mails through daprd's SMTP binding with DaprMailer from many threads at once.

Run beside a sidecar (DAPR_GRPC_PORT, DAPR_HTTP_PORT, DAPR_API_TOKEN in the environment); reads a
JSON list of mails ({sender, to, cc, bcc, subject, html}) on stdin, prints the count sent.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor

from functions.common import names
from functions.common.mail import DaprMailer, OutgoingMail


def main() -> None:
    """Send every mail on 32 threads; exit non-zero if any send failed."""
    fields = ("to", "cc", "bcc")
    mails = [OutgoingMail(**{**m, **{name: tuple(m[name]) for name in fields}}) for m in json.load(sys.stdin)]
    mailer = DaprMailer(names.EMAIL)
    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(mailer.send, mails))
    sys.stdout.write(json.dumps({"sent": len(mails)}) + "\n")


if __name__ == "__main__":
    main()
