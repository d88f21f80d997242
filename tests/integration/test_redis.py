"""The local pub/sub broker: the stack's redis-server on loopback, daprd publishing to it, restarts kept."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.integration.helpers import HERE, probe_spec
from tooling import redis
from tooling.stack import Stack
from tooling.waiting import eventually

PUBSUB = "probe-events"


@pytest.fixture(scope="module")
def stack(stack_factory: Callable[..., Stack], tmp_path_factory: pytest.TempPathFactory) -> Stack:
    """A stack with the probe app, whose daprd loads `probe-events` (pubsub.redis on the stack's Redis)."""
    log = tmp_path_factory.mktemp("redis") / "probe.jsonl"
    return stack_factory(apps=[probe_spec("probe", log)], components=HERE / "components")


def broker(stack: Stack) -> redis.Redis:
    """The stack's running Redis."""
    assert stack.redis is not None
    return stack.redis


def publish(stack: Stack, topic: str, data: dict[str, str]) -> bool:
    """Publish `data` on `topic` through the probe's daprd; whether daprd accepted it (204)."""
    headers = {"Content-Type": "application/json", "dapr-api-token": stack.dapr_token or ""}
    request = urllib.request.Request(
        f"http://127.0.0.1:{stack.apps['probe'].ports.http}/v1.0/publish/{PUBSUB}/{topic}",
        data=json.dumps(data).encode(),
        headers=headers,
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
            return int(answer.status) == 204
    except urllib.error.HTTPError:
        return False


def test_the_stack_serves_redis_on_loopback_and_points_the_component_at_it(stack: Stack) -> None:
    """A raw RESP PING answers +PONG; loopback, protected, AOF; the rendered component names its host."""
    server = broker(stack)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"*1\r\n$4\r\nPING\r\n")
        assert sock.recv(64) == b"+PONG\r\n"
    for key, value in {
        "bind": b"127.0.0.1",
        "protected-mode": b"yes",
        "unixsocket": b"",
        "appendonly": b"yes",
        "appendfsync": b"everysec",
    }.items():
        assert server.command("CONFIG", "GET", key) == [key.encode(), value], key
    assert server.data == stack.root / "redis"
    rendered = yaml.safe_load((stack.resources / "probe-events.yaml").read_text())
    metadata = {item["name"]: item["value"] for item in rendered["spec"]["metadata"]}
    assert metadata["redisHost"] == server.host == f"127.0.0.1:{server.port}"


def test_daprd_publishes_onto_the_topic_stream(stack: Stack) -> None:
    """An event published through daprd is an entry of the Redis stream named after the topic."""
    marker = uuid.uuid4().hex
    assert publish(stack, "redis-probe", {"marker": marker})
    [entry] = [fields for fields in stack.redis_stream("redis-probe") if marker in fields["data"]]
    assert json.loads(entry["data"])["data"] == {"marker": marker}


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_streams_and_consumer_groups_survive_a_restart_on_the_same_port(stack: Stack, how: str) -> None:
    """Stopped or killed, then restarted: the stream, its group and the group's pending entry are back."""
    server = broker(stack)
    stream, port = f"survives-{how}", server.port
    server.command("XADD", stream, "*", "data", "before")
    server.command("XGROUP", "CREATE", stream, "readers", "0")
    server.command("XREADGROUP", "GROUP", "readers", "one", "COUNT", "1", "STREAMS", stream, ">")
    if how == "kill":
        time.sleep(1.5)  # appendfsync everysec: a crash may lose the last second of writes
    getattr(server, how)()
    assert not server.proc.alive()
    server.restart()
    assert server.port == port
    assert server.command("XLEN", stream) == 1
    pending = server.command("XPENDING", stream, "readers")
    assert isinstance(pending, list)
    assert pending[0] == 1  # read, never acknowledged: still the group's to redeliver


def test_daprd_publishes_again_once_the_broker_is_back(stack: Stack) -> None:
    """Killed and restarted, the broker takes daprd's publishes again: the sidecar reconnects by itself."""
    server = broker(stack)
    server.kill()
    assert not publish(stack, "after-restart", {"marker": "while down"})
    server.restart()
    marker = uuid.uuid4().hex
    eventually(lambda: publish(stack, "after-restart", {"marker": marker}), "a publish after the restart")
    assert any(marker in fields["data"] for fields in stack.redis_stream("after-restart"))


def test_redis_log_is_under_the_stack_root(stack: Stack) -> None:
    """redis-server writes its log beside the other services' logs."""
    log = stack.log_dir / "redis.log"
    assert log == broker(stack).proc.log
    assert "Ready to accept connections" in Path(log).read_text()
