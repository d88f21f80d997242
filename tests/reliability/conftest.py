"""The reliability suite runs on the integration fixtures: real daprd, Azurite and the local stand-ins."""

from __future__ import annotations

from tests.integration.conftest import daprd_binary, stack_factory

__all__ = ["daprd_binary", "stack_factory"]
