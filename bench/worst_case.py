"""The worst valid invoice per script, rendered cold, against the document queues' visibility timeout.

Every field at its validated maximum: `MAX_LINES` lines of 200-character descriptions made of words
in one script (seeded, so every run draws the same text), the customer's name and six address lines
at their maxima. Each script renders in a fresh process whose fonts were parsed beforehand, as
receipt-render does at start; CJK slices come from the folder `make setup` and the image build cut.
A render that outlives the queue's visibility timeout is started again by another replica (an
issued document makes that harmless, but it costs the render twice), so the figure is the render's
share of the timeout. `python bench/worst_case.py` prints the results as JSON (`--quick`: 100 lines).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import subprocess
import sys
import time
from typing import Any

from pypdf import PdfReader

from tooling.paths import project_root
from tooling.stack import DEFAULTS

ALPHABETS = {
    "latin": "abcdefghijklmnopqrstuvwxyzÀÉÎõüçWM",
    "greek": "αβγδεζηθικλμνξοπρστυφχψωΩΣ",
    "cyrillic": "абвгдежзийклмнопрстуфхцчшщыэюяЖЩ",
    "arabic": "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
    "hebrew": "אבגדהוזחטיכלמנסעפצקרשת",
    "cjk": "".join(chr(point) for point in range(0x4E00, 0x9FA6, 37)),  # Han across the whole block
}
ALPHABETS["mixed"] = "".join(ALPHABETS.values())  # every script in one word: shaping and many fonts


def text(script: str, length: int, rnd: random.Random) -> str:
    """`length` characters of words in `script` (CJK without spaces, as it is written)."""
    alphabet, gap, joined = ALPHABETS[script], "" if script == "cjk" else " ", ""
    while len(joined) < length:
        joined += gap + "".join(rnd.choice(alphabet) for _ in range(rnd.randint(2, 9)))
    return joined.lstrip()[: length - 1] + alphabet[0]  # no space at either end: validation strips it


def order(script: str, lines: int) -> dict[str, Any]:
    """The order document: every text field at its maximum in `script`."""
    from functions.receipt_render import fields  # noqa: PLC0415 - the child process only

    rnd = random.Random(script)
    return {
        "order_id": "ord-worst", "invoice_number": "INV-WORST-1", "issued_at": "2026-03-04T10:00:00Z",
        "customer": {"name": text(script, 200, rnd), "address": [text(script, 300, rnd) for _ in range(6)]},
        "email": "bo@example.com", "currency": "EUR",
        "lines": [{"description": text(script, 200, rnd), "quantity": "1", "unit_price": "1.00"}
                  for _ in range(min(lines, fields.MAX_LINES))],
    }  # fmt: skip


def one(script: str, lines: int) -> dict[str, Any]:
    """In this process: parse the fonts, then render the worst invoice once (CPU and wall seconds)."""
    from functions.receipt_render import fonts, invoice  # noqa: PLC0415

    fonts.warm()
    loaded = invoice.Invoice("orders/worst.json", invoice.Order.model_validate(order(script, lines)))
    cpu, wall = time.process_time(), time.perf_counter()
    pdf = invoice.render(loaded)
    return {
        "cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall, "bytes": len(pdf),
        "pages": len(PdfReader(io.BytesIO(pdf)).pages),
    }  # fmt: skip


def timeouts() -> dict[str, float]:
    """The visibility timeout of the local stack and of the Azure deployment's default (seconds)."""
    bicep = (project_root() / "deploy" / "aca" / "main.bicep").read_text()
    azure = re.search(r"param queueVisibilityTimeout string = '(\d+)s'", bicep)
    if azure is None:
        raise LookupError("deploy/aca/main.bicep states no queueVisibilityTimeout default in seconds")
    return {"local": float(DEFAULTS["QUEUE_VISIBILITY_TIMEOUT"].removesuffix("s")), "azure": float(azure[1])}


def measure(*, quick: bool = False, lines: int | None = None) -> dict[str, Any]:
    """Each script in its own process, and each render's share of the smaller visibility timeout."""
    lines = lines or (100 if quick else 1_000)
    limit = timeouts()
    scripts: dict[str, Any] = {}
    for script in ALPHABETS:
        done = subprocess.run(
            [sys.executable, __file__, "--one", script, "--lines", str(lines)], capture_output=True,
            text=True, check=True, timeout=900, env={**os.environ, "PYTHONPATH": str(project_root())},
        )  # fmt: skip
        row = json.loads(done.stdout)
        scripts[script] = {**row, "share": row["wall"] / min(limit.values())}
    return {"lines": lines, "timeouts": limit, "scripts": scripts}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100 lines instead of 1,000")
    parser.add_argument("--one", choices=list(ALPHABETS), help="render one script in this process")
    parser.add_argument("--lines", type=int, default=1_000)
    args = parser.parse_args()
    result = one(args.one, args.lines) if args.one else measure(quick=args.quick)
    sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
