"""Instructions per event of `FunctionApp.handle` under valgrind's callgrind: with the log line and without.

`python bench/log_instructions.py [--events N]` runs `apps/handle_probe.py`'s event loop under callgrind
at INFO (a JSON log line an event, written to /dev/null) and at WARNING, each level twice: handling
`warm` events and `warm + N`, both after building the same bodies. The difference divided by N is the
instructions of one event, without start-up, imports or the first events' warm-up. Prints JSON.
Instruction counts barely move with machine load, unlike CPU time; hash seeds are fixed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
_TOTALS = re.compile(rb"^(?:summary|totals): (\d+)", re.MULTILINE)


def _child(level: str, handled: int, total: int) -> None:
    """In the process under callgrind: build `total` bodies, handle the first `handled`."""
    import handle_probe  # noqa: PLC0415 - on bench/apps, put on the path by the parent

    bodies = handle_probe.prepare(level, total)
    handle_probe.handle_all(bodies[:handled])


def instructions(level: str, handled: int, total: int) -> int:
    """Instructions (callgrind's Ir) of one process that handles `handled` of `total` events."""
    root = HERE.parent
    env = {**os.environ, "PYTHONPATH": f"{HERE / 'apps'}{os.pathsep}{root}", "PYTHONHASHSEED": "0"}
    with tempfile.TemporaryDirectory() as work:
        out = Path(work) / "callgrind.out"
        command = [
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-line=no",
            sys.executable, str(Path(__file__).resolve()), "--child", level, str(handled), str(total),
        ]  # fmt: skip
        subprocess.run(command, env=env, cwd=root, capture_output=True, check=True)
        found = _TOTALS.search(out.read_bytes())
    if found is None:
        raise RuntimeError(f"no totals in callgrind output for {level} {handled}/{total}")
    return int(found.group(1))


def per_event(events: int = 1000, warm: int = 200) -> dict[str, Any]:
    """Instructions per handled event at INFO and WARNING, and their difference (the log line)."""
    out: dict[str, Any] = {"events": events, "warm": warm}
    for level in ("INFO", "WARNING"):
        base = instructions(level, warm, warm + events)
        out[level] = round((instructions(level, warm + events, warm + events) - base) / events)
    out["log_line"] = out["INFO"] - out["WARNING"]
    return out


def main() -> int:
    """Print the per-event instruction counts as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1000, help="events counted, after the warm-up")
    parser.add_argument("--child", nargs=3, metavar=("LEVEL", "HANDLED", "TOTAL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        level, handled, total = args.child
        _child(level, int(handled), int(total))
        return 0
    print(json.dumps(per_event(args.events), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
