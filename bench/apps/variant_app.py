"""The framework bench app with parts taken out, for `bench/callback_probe.py`'s breakdown.

`BENCH_VARIANT` (comma-separated) picks what is removed:
`noop-handle`: `FunctionApp.handle` does nothing (no parse, validation, dispatch or log line);
`no-guard`: no token check, drain accounting or redelivery mapping around the servicer methods
(and no interceptors, where the guard was one before it moved into the methods).
"""

from __future__ import annotations

import os
from typing import Any

import grpc
from framework_app import app

from bindings.guard import Guard

VARIANT = set(filter(None, os.environ.get("BENCH_VARIANT", "").split(",")))

if "noop-handle" in VARIANT:
    app.handle = lambda _binding, _data, _metadata: None  # type: ignore[method-assign, assignment]

if "no-guard" in VARIANT:
    _server = grpc.server

    def _without_interceptors(*args: Any, **kwargs: Any) -> grpc.Server:  # noqa: ANN401
        kwargs.pop("interceptors", None)
        return _server(*args, **kwargs)

    grpc.server = _without_interceptors
    Guard.servicer = lambda _guard, servicer, _service: servicer  # type: ignore[method-assign, assignment]

if __name__ == "__main__":
    app.run()
