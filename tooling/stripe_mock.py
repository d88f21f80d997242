"""stripe-mock, Stripe's official API mock, built from the Go module proxy and run on a loopback port.

It answers every v1 route of Stripe's OpenAPI spec (bundled in the binary) with a fixture object, after
checking the request against the spec: the `Authorization` header (`Bearer sk_test_…` or `rk_test_…`),
the `Content-Type`, every parameter's name and type. It never declines and ignores idempotency keys
(the processor sandbox covers those). Built like actionlint (`tooling/tools.py`): `go install` at a
pinned version into `<cache>/tools/stripe-mock-<version>`, once. Run with `-strict-version-check`, a
request whose `Stripe-Version` is not the spec's version is refused too, so a pinned version that
drifts from what stripe-mock describes fails the contract tests.

    with stripe_mock.start(log) as mock:
        urllib.request.urlopen(f"{mock.url}/v1/customers/cus_1")
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Self

from tooling import procs
from tooling.tools import go_install

if TYPE_CHECKING:
    from pathlib import Path

MODULE, VERSION = "github.com/stripe/stripe-mock", "v0.203.0"  # its spec: API version 2026-08-26.dahlia


def binary() -> Path:
    """The path of stripe-mock at the pinned version, built with `go install` on first use."""
    return go_install("stripe-mock", MODULE, VERSION, ldflags=f"-s -w -X main.version={VERSION}")


@dataclass
class StripeMock:
    """A running stripe-mock: plain HTTP on 127.0.0.1:`port`; `stop()` (or leaving `with`) ends it."""

    proc: procs.Proc
    port: int

    @property
    def url(self) -> str:
        """The base URL, as a `bindings.http` component's `url`."""
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop the process (its process group)."""
        self.proc.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def start(log: Path, *, timeout: float = 60.0) -> StripeMock:
    """Build if needed, start stripe-mock on a free loopback port (HTTP only), return once it listens."""
    port = procs.free_port()
    argv = [str(binary()), "-http-addr", f"127.0.0.1:{port}", "-strict-version-check"]
    proc = procs.start("stripe-mock", argv, log=log)
    try:
        procs.wait_until(proc, procs.port_open(port), timeout=timeout, what="stripe-mock listening")
    except BaseException:
        proc.stop()
        raise
    return StripeMock(proc=proc, port=port)
