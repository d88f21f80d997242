"""Ports for the local stack: one process never hands out the same port twice."""

from __future__ import annotations

from typing import ClassVar, Self

import pytest

from tooling import procs


class _Probe:
    """A socket whose bound port comes from a script, as a kernel that offers a just-closed port again."""

    script: ClassVar[list[int]] = []

    def __init__(self, *_: object) -> None:
        self.port = 0

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def bind(self, _: tuple[str, int]) -> None:
        self.port = self.script.pop(0)

    def getsockname(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)


def test_a_port_the_kernel_offers_again_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same free port offered twice in a row is handed out once: a sidecar never shares its app's port."""
    monkeypatch.setattr(procs, "_ISSUED", set())
    monkeypatch.setattr(_Probe, "script", [50001, 50001, 50001, 50002])
    monkeypatch.setattr("tooling.procs.socket.socket", _Probe)
    assert [procs.free_port(), procs.free_port()] == [50001, 50002]


def test_real_ports_are_distinct_and_free() -> None:
    """Many ports in a row from the real kernel are all different, and each can be bound."""
    ports = [procs.free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    assert not any(procs.port_open(port)() for port in ports[:20])
