"""Three replicas of every queue or cron app and one webhook, sharing PostgreSQL; kills, restarts, outages.

The harness starts each app with its own daprd (`tooling.sidecar`); this module adds what a fault
run needs on top: the state stores rendered as `state.postgresql` v2, `kill -9` of one half of an app
and its restart on the same ports (`procs.Proc.restart`), and services taken down and brought back on
the same ports and data.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from functions.common import names
from tests.integration.helpers import postgres_components
from tooling import postgres, procs
from tooling.sidecar import AppSpec, RunningApp
from tooling.stack import Stack

REPLICAS = 3
Half = Literal["app", "daprd"]


def specs(env: dict[str, str]) -> dict[str, AppSpec]:
    """One spec per app id: the four queue or cron apps (replicated) and the webhook (not)."""
    return {
        names.PAYMENT_RETRY: AppSpec(names.PAYMENT_RETRY, "functions.payment_retry.app", env=env),
        # The SMTP binding (the default provider), so an SMTP outage reaches email-send itself.
        names.EMAIL_SEND: AppSpec(
            names.EMAIL_SEND, "functions.email_send.app", env={"EMAIL_PROVIDER": "smtp"}
        ),
        names.EMAIL_EVENTS: AppSpec(names.EMAIL_EVENTS, "functions.email_events.app"),
        names.RECEIPT_RENDER: AppSpec(names.RECEIPT_RENDER, "functions.receipt_render.app"),
        names.EMAIL_WEBHOOK: AppSpec(names.EMAIL_WEBHOOK, "functions.email_webhook.app", protocol="http"),
    }


@dataclass
class Fleet:
    """The stack, its PostgreSQL, the running names per app id, and the faults injected so far."""

    stack: Stack
    database: postgres.Postgres
    replicas: dict[str, list[str]]
    kills: list[tuple[str, Half, float]] = field(default_factory=list)  # name, half, seconds to ready
    outages: dict[str, tuple[float, float]] = field(default_factory=dict)  # service -> planned, actual s

    def start(self, app_specs: dict[str, AppSpec], counts: Mapping[str, int] | None = None) -> None:
        """Start every replica; the first alone, so PostgreSQL's table is created by one sidecar.

        `counts`: replicas per app id (default: REPLICAS of each, the webhook alone and unnamed).
        """
        counts = counts or {app_id: 0 if app_id == names.EMAIL_WEBHOOK else REPLICAS for app_id in app_specs}
        todo = [
            AppSpec(spec.app_id, spec.module, env=spec.env, instance=f"r{n}", protocol=spec.protocol)
            for spec in app_specs.values()
            for n in range(counts[spec.app_id])
        ]
        if names.EMAIL_WEBHOOK in app_specs and not counts[names.EMAIL_WEBHOOK]:
            todo.append(app_specs[names.EMAIL_WEBHOOK])
        self.stack.start_app(todo[0])
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(self.stack.start_app, todo[1:]))
        for spec in todo:
            self.replicas.setdefault(spec.app_id, []).append(spec.name)

    def running(self, app_id: str, index: int = 0) -> RunningApp:
        """Replica `index` (modulo the replica count) of `app_id`."""
        names_ = self.replicas[app_id]
        return self.stack.apps[names_[index % len(names_)]]

    def kill(self, running: RunningApp, half: Half) -> float:
        """`kill -9` the app process or its daprd, start it again on the same ports; seconds until ready."""
        proc = running.app if half == "app" else running.daprd
        os.kill(proc.popen.pid, signal.SIGKILL)
        proc.popen.wait(10)
        started = time.monotonic()
        proc.restart()
        if half == "app":
            ready = procs.port_open(running.ports.app)
        else:
            ready = procs.http_status(f"http://127.0.0.1:{running.ports.http}/v1.0/healthz", 204)
        procs.wait_until(proc, ready, timeout=60, what=f"{half} ready again after kill -9")
        took = time.monotonic() - started
        self.kills.append((running.spec.name, half, took))
        return took

    def outage(self, service: str, proc: procs.Proc, seconds: float, ports: tuple[int, ...]) -> float:
        """Stop `proc` (SIGTERM, SIGINT for PostgreSQL), wait `seconds`, restart it; seconds unreachable."""
        down = time.monotonic()
        proc.stop(signal.SIGINT if service == "postgres" else signal.SIGTERM)
        time.sleep(seconds)
        proc.restart()
        for port in ports:
            procs.wait_until(proc, procs.port_open(port), timeout=60, what=f"{service} back on {port}")
        self.outages[service] = (seconds, time.monotonic() - down)
        return self.outages[service][1]

    def smtp(self) -> procs.Proc:
        """The SMTP capture's process."""
        return next(proc for proc in self.stack._procs if proc.name == "smtp-capture")  # noqa: SLF001 - no accessor

    def services(self) -> list[procs.Proc]:
        """Every service process: Azurite, the SMTP capture, both sandboxes, and PostgreSQL."""
        return [*self.stack._procs, self.database.proc]  # noqa: SLF001 - no accessor


def start_fleet(
    stack_factory: Callable[..., Stack],
    folder: Path,
    values: dict[str, str],
    env: dict[str, str],
    apps: tuple[dict[str, AppSpec], Mapping[str, int]] | None = None,
) -> Fleet:
    """PostgreSQL, then a stack over the PostgreSQL components, then every replica (`apps`: specs, counts)."""
    database = postgres.start(folder / "postgres.log")
    try:
        components = postgres_components(folder, database.connection_string)
        stack = stack_factory(apps=[], components=components, values=values)
        fleet = Fleet(stack=stack, database=database, replicas={})
        fleet.start(*(apps or (specs(env), None)))
    except BaseException:
        database.stop()
        raise
    return fleet
