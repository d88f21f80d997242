"""The pub/sub baseline: a bare AppCallback gRPC server answering every topic event SUCCESS.

Subscribed to `BENCH_PUBSUB`/`BENCH_TOPIC`; it neither parses nor stores an event, checks no token
and writes no log line: what any subscriber behind daprd costs at the least. The same generated
`dapr.proto` stubs and thread pool size (`BINDERY_WORKERS`' default, 8) as `bindings/server.py`.
"""

from __future__ import annotations

import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
from dapr.proto.runtime.v1 import appcallback_pb2, appcallback_pb2_grpc

PUBSUB = os.environ.get("BENCH_PUBSUB", "domain-events")
TOPIC = os.environ.get("BENCH_TOPIC", "dunning")
_SUCCESS = appcallback_pb2.TopicEventResponse(status=appcallback_pb2.TopicEventResponse.SUCCESS)


class BareSubscriber(appcallback_pb2_grpc.AppCallbackServicer):
    """One subscription; every event answered SUCCESS."""

    def ListInputBindings(self, _request: Any, _context: Any) -> Any:  # noqa: N802, ANN401 - gRPC names
        """No input bindings."""
        return appcallback_pb2.ListInputBindingsResponse()

    def ListTopicSubscriptions(self, _request: Any, _context: Any) -> Any:  # noqa: N802, ANN401
        """The one topic."""
        subscription = appcallback_pb2.TopicSubscription(pubsub_name=PUBSUB, topic=TOPIC)
        return appcallback_pb2.ListTopicSubscriptionsResponse(subscriptions=[subscription])

    def OnTopicEvent(self, _request: Any, _context: Any) -> Any:  # noqa: N802, ANN401
        """SUCCESS, unread."""
        return _SUCCESS


def serve(servicer: appcallback_pb2_grpc.AppCallbackServicer) -> None:
    """Serve `servicer` on 127.0.0.1:`APP_PORT` until SIGTERM or SIGINT."""
    server = grpc.server(ThreadPoolExecutor(max_workers=8))
    appcallback_pb2_grpc.add_AppCallbackServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]
    server.add_insecure_port(f"127.0.0.1:{os.environ['APP_PORT']}")
    stop = threading.Lock()  # a bare lock, as bindings/server.py: the handler runs on the waiting thread
    stop.acquire()

    def request_stop(_signum: int, _frame: object) -> None:
        if stop.locked():
            stop.release()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, request_stop)
    server.start()
    stop.acquire()
    server.stop(0)


if __name__ == "__main__":
    serve(BareSubscriber())
