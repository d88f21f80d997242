"""The Dapr implementation of each typed port, over the one shared client."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from bindings.client import call
from bindings.errors import NotFoundError, TransientError
from bindings.messages import encode_message
from bindings.ports import StateItem

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from dapr.clients.grpc._state import StateOptions
    from pydantic import BaseModel

    from bindings.ports import Write


@functools.cache
def _options(*, first_write: bool) -> StateOptions:
    """First-write with no ETag means "insert only"; an unguarded save must say last-write.

    Imported on first use: the Dapr client package costs half a second of start-up.
    """
    from dapr.clients.grpc._state import Concurrency, Consistency, StateOptions  # noqa: PLC0415

    concurrency = Concurrency.first_write if first_write else Concurrency.last_write
    return StateOptions(consistency=Consistency.strong, concurrency=concurrency)


_BLOB_NOT_FOUND = "blob not found"


class DaprBlobStore:
    """`BlobStore` over a `bindings.azure.blobstorage` output binding."""

    def __init__(self, binding: str) -> None:
        self.binding = binding

    def put(
        self, name: str, data: bytes, *, content_type: str, metadata: Mapping[str, str] | None = None
    ) -> None:
        """Create or overwrite blob `name`; extra `metadata` becomes blob metadata."""
        request = {**(metadata or {}), "blobName": name, "contentType": content_type}
        call(
            f"put blob {name!r} via {self.binding}",
            lambda c: c.invoke_binding(self.binding, "create", data, request),
        )

    def get(self, name: str) -> bytes:
        """Return the bytes of blob `name`; `NotFoundError` (a `PermanentError`) when it does not exist."""
        try:
            response = call(
                f"get blob {name!r} via {self.binding}",
                lambda c: c.invoke_binding(self.binding, "get", b"", {"blobName": name}),
            )
        except TransientError as error:
            # The blob binding answers a missing blob with INTERNAL "blob not found" (components-contrib
            # bindings/azure/blobstorage ErrBlobNotFound), which no retry will change.
            if _BLOB_NOT_FOUND in str(error):
                raise NotFoundError(f"blob {name!r} does not exist ({self.binding})") from error
            raise
        return bytes(response.data)


class DaprQueue:
    """`Queue` over a `bindings.azure.storagequeues` output binding (plain JSON text)."""

    def __init__(self, binding: str) -> None:
        self.binding = binding

    def send(self, message: BaseModel) -> None:
        """Enqueue `message` as compact ASCII JSON."""
        data = encode_message(message)
        call(f"send to queue {self.binding}", lambda c: c.invoke_binding(self.binding, "create", data, {}))


class DaprPublisher:
    """`Publisher` over a pub/sub component; the CloudEvent's id and type are the caller's, not random."""

    def __init__(self, pubsub: str) -> None:
        self.pubsub = pubsub

    def publish(self, topic: str, event: BaseModel, *, event_id: str) -> None:
        """Publish `event` as compact ASCII JSON on `topic` with CloudEvent id `event_id`."""
        data = encode_message(event)
        kind = str(getattr(event, "type", "") or type(event).__name__)
        overrides = {"cloudevent.id": event_id, "cloudevent.type": kind}
        call(
            f"publish to {self.pubsub}/{topic}",
            lambda c: c.publish_event(
                self.pubsub, topic, data, publish_metadata=overrides, data_content_type="application/json"
            ),
        )


class DaprStateStore:
    """`StateStore` over a Dapr state component with strong consistency and first-write ETags."""

    def __init__(self, store: str) -> None:
        self.store = store

    def get(self, key: str) -> StateItem:
        """Read `key`."""
        response = call(f"get state {key!r}", lambda c: c.get_state(self.store, key))
        if not response.data:
            return StateItem(key=key, value=None, etag=None)
        return StateItem(key=key, value=bytes(response.data), etag=response.etag or None)

    def get_many(self, keys: Sequence[str]) -> list[StateItem]:
        """Read `keys` with one bulk call; a key the store could not read fails the call (transient)."""
        if not keys:
            return []
        what = f"get state {keys[0]!r} and {len(keys) - 1} more"
        response = call(what, lambda c: c.get_bulk_state(self.store, list(keys), parallelism=len(keys)))
        found = {item.key: item for item in response.items}
        items = []
        for key in keys:
            item = found.get(key)
            if item is None or item.error:
                raise TransientError(f"{what}: {key!r}: {item.error if item else 'missing from the answer'}")
            data = (item.data.encode() if isinstance(item.data, str) else bytes(item.data)) or None
            items.append(StateItem(key=key, value=data, etag=(item.etag or None) if data else None))
        return items

    def save(
        self, key: str, value: bytes, *, etag: str | None = None, ttl_seconds: int | None = None
    ) -> None:
        """Write `key`, guarded by `etag` when given; `ttl_seconds` is the store's `ttlInSeconds`."""
        metadata = {} if ttl_seconds is None else {"ttlInSeconds": str(ttl_seconds)}
        call(
            f"save state {key!r}",
            lambda c: c.save_state(
                self.store,
                key,
                value,
                etag=etag,
                options=_options(first_write=bool(etag)),
                state_metadata=metadata,
            ),
        )

    def create(self, key: str, value: bytes) -> None:
        """Write `key` only if absent: first-write with no ETag fails when the key exists."""
        call(
            f"create state {key!r}",
            lambda c: c.save_state(self.store, key, value, options=_options(first_write=True)),
        )

    def delete(self, key: str, *, etag: str | None = None) -> None:
        """Delete `key`."""
        call(
            f"delete state {key!r}",
            lambda c: c.delete_state(self.store, key, etag=etag, options=_options(first_write=bool(etag))),
        )

    def transact(self, writes: Sequence[Write]) -> None:
        """Upsert `writes` in one `ExecuteStateTransaction`; a guarded one is first-write, with its ETag.

        Through the SDK's generated stub, not `execute_state_transaction`: the SDK drops each operation's
        options, and first-write (the insert-only guard) is one. daprd answers a failed guard with an
        INTERNAL "etag mismatch" (sqlite) or "no item was updated" (PostgreSQL), which `call` makes a
        `ConflictError`; the store rolls the whole transaction back.
        """
        if not writes:
            return
        from dapr.proto import api_v1, common_v1  # noqa: PLC0415 - see `_options`

        operations = [
            api_v1.TransactionalStateOperation(
                operationType="upsert",
                request=common_v1.StateItem(
                    key=write.key,
                    value=write.value,
                    etag=common_v1.Etag(value=write.etag) if write.etag is not None else None,
                    options=_options(first_write=write.guarded).get_proto(),  # type: ignore[no-untyped-call]
                ),
            )
            for write in writes
        ]
        request = api_v1.ExecuteStateTransactionRequest(storeName=self.store, operations=operations)
        what = f"transaction on {writes[0].key!r} and {len(writes) - 1} more"
        call(what, lambda c: c._stub.ExecuteStateTransaction(request))  # noqa: SLF001 - see above
