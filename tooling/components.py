"""Render a components folder: fill `${NAME}` placeholders, refuse any left unfilled."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

_PLACEHOLDER = re.compile(r"\$\{([A-Z0-9_]+)\}")


def render(source: Path, target: Path, values: Mapping[str, str]) -> list[Path]:
    """Write every `*.yaml` of `source` into `target` with placeholders filled from `values`."""
    target.mkdir(parents=True, exist_ok=True)
    for stale in target.glob("*.yaml"):
        stale.unlink()
    written = []
    for path in sorted(source.glob("*.yaml")):
        text = path.read_text()
        missing = sorted(set(_PLACEHOLDER.findall(text)) - set(values))
        if missing:
            raise KeyError(f"{path.name}: no value for {', '.join(missing)}")
        out = target / path.name
        out.write_text(_PLACEHOLDER.sub(lambda m: values[m.group(1)], text))
        written.append(out)
    return written


def load(folder: Path) -> dict[str, dict[str, Any]]:
    """Return the components of `folder` by name, each with `type`, `metadata` (name → value) and `scopes`.

    Other resources daprd loads from the folder (a `Resiliency`) are left out: see `resources`.
    """
    found: dict[str, dict[str, Any]] = {}
    for path, doc in resources(folder, "Component"):
        name = doc["metadata"]["name"]
        if name in found:
            raise ValueError(f"{folder}: component {name!r} is defined twice")
        found[name] = {
            "file": path.name,
            "type": doc["spec"]["type"],
            "version": doc["spec"].get("version"),
            "metadata": {
                item["name"]: item.get("value", item.get("secretKeyRef")) for item in doc["spec"]["metadata"]
            },
            "scopes": tuple(doc.get("scopes") or ()),
        }
    return found


def resources(folder: Path, kind: str) -> list[tuple[Path, dict[str, Any]]]:
    """The documents of `folder`'s `*.yaml` files whose `kind` is `kind` (Component, Resiliency)."""
    docs = [(path, yaml.safe_load(path.read_text())) for path in sorted(folder.glob("*.yaml"))]
    return [(path, doc) for path, doc in docs if doc.get("kind") == kind]


def storage_entities(folder: Path) -> tuple[set[str], set[str]]:
    """Return the (queues, containers) that the components of `folder` use."""
    queues, containers = set(), set()
    for component in load(folder).values():
        meta = component["metadata"]
        if component["type"] == "bindings.azure.storagequeues":
            queues.add(str(meta["queue"]))
        elif component["type"] == "bindings.azure.blobstorage":
            containers.add(str(meta["containerName"]))
    return queues, containers
