"""Start one function app and its own daprd on free loopback ports."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tooling import procs

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path


@dataclass(frozen=True, slots=True)
class AppSpec:
    """What to run: the Dapr app id and the Python module whose `__main__` serves it."""

    app_id: str
    module: str
    env: Mapping[str, str] = field(default_factory=dict)
    instance: str = ""  # replicas of one app id differ here (process names, log files)
    protocol: str = "grpc"  # how daprd reaches the app: grpc (FunctionApp) or http (the webhook)

    @property
    def name(self) -> str:
        """`app_id`, or `app_id-instance` for a replica."""
        return f"{self.app_id}-{self.instance}" if self.instance else self.app_id


@dataclass(frozen=True, slots=True)
class Ports:
    """The ports of one app and its sidecar."""

    app: int
    grpc: int
    http: int
    internal: int
    metrics: int

    @classmethod
    def free(cls) -> Ports:
        """Pick five free ports."""
        return cls(*(procs.free_port() for _ in range(5)))


@dataclass
class RunningApp:
    """An app process and its sidecar."""

    spec: AppSpec
    ports: Ports
    app: procs.Proc
    daprd: procs.Proc

    def stop(self) -> None:
        """Stop the sidecar first (no new deliveries), then the app."""
        self.daprd.stop()
        self.app.stop()


def start(
    spec: AppSpec,
    *,
    daprd: Path,
    resources: Path,
    log_dir: Path,
    app_token: str | None = None,
    dapr_token: str | None = None,
    daprd_app_token: str | None = None,
    timeout: float = 60.0,
) -> RunningApp:
    """Start the app, then its daprd; return once daprd's /v1.0/healthz answers 204.

    `daprd_app_token` overrides the token daprd presents to the app (tests use it to send a
    wrong one); by default both sides share `app_token`.
    """
    ports = Ports.free()
    tokens = {"DAPR_API_TOKEN": dapr_token} if dapr_token else {}
    app_env = {
        # Documents in Azurite and the processor sandbox's invoice pages have http links on loopback:
        # email-send may mail those here, and stripe-webhook carry the invoice pages, never in Azure.
        "EMAIL_LINKS_LOOPBACK_HTTP": "1",
        "STRIPE_WEBHOOK_LINKS_LOOPBACK_HTTP": "1",
        **spec.env,
        **tokens,
        "APP_PORT": str(ports.app),
        "DAPR_GRPC_PORT": str(ports.grpc),
        "DAPR_HTTP_PORT": str(ports.http),
        "PYTHONUNBUFFERED": "1",
    }
    if app_token:
        app_env["APP_API_TOKEN"] = app_token
    app = procs.start(
        spec.name, [sys.executable, "-m", spec.module], log=log_dir / f"{spec.name}.log", env=app_env
    )
    sidecar_token = daprd_app_token if daprd_app_token is not None else app_token
    daprd_env = {**tokens, **({"APP_API_TOKEN": sidecar_token} if sidecar_token else {})}
    sidecar = procs.start(
        f"{spec.name}-daprd",
        [
            str(daprd),
            "--app-id",
            spec.app_id,
            "--app-port",
            str(ports.app),
            "--app-protocol",
            spec.protocol,
            "--app-channel-address",
            "127.0.0.1",
            "--dapr-listen-addresses",
            "127.0.0.1",
            "--dapr-grpc-port",
            str(ports.grpc),
            "--dapr-http-port",
            str(ports.http),
            "--dapr-internal-grpc-port",
            str(ports.internal),
            "--dapr-internal-grpc-listen-address",
            "127.0.0.1",
            "--metrics-port",
            str(ports.metrics),
            "--resources-path",
            str(resources),
            "--log-level",
            "info",
        ],
        log=log_dir / f"{spec.name}-daprd.log",
        env=daprd_env,
    )
    running = RunningApp(spec=spec, ports=ports, app=app, daprd=sidecar)
    try:
        procs.wait_until(app, procs.port_open(ports.app), timeout=timeout, what="app listening")
        procs.wait_until(
            sidecar,
            procs.http_status(f"http://127.0.0.1:{ports.http}/v1.0/healthz", 204),
            timeout=timeout,
            what="daprd healthy",
        )
    except Exception:
        running.stop()
        raise
    return running


def start_alone(
    app_id: str, *, daprd: Path, resources: Path, log: Path, timeout: float = 60.0
) -> tuple[procs.Proc, Ports]:
    """Start a daprd with no app (benchmarks drive its APIs directly); return once it is healthy."""
    ports = Ports.free()
    argv = [
        str(daprd), "--app-id", app_id, "--resources-path", str(resources),
        "--dapr-listen-addresses", "127.0.0.1", "--dapr-grpc-port", str(ports.grpc),
        "--dapr-http-port", str(ports.http), "--dapr-internal-grpc-port", str(ports.internal),
        "--dapr-internal-grpc-listen-address", "127.0.0.1", "--metrics-port", str(ports.metrics),
        "--log-level", "warn",
    ]  # fmt: skip
    proc = procs.start(f"{app_id}-daprd", argv, log=log)
    health = procs.http_status(f"http://127.0.0.1:{ports.http}/v1.0/healthz", 204)
    procs.wait_until(proc, health, timeout=timeout, what="daprd healthy")
    return proc, ports
