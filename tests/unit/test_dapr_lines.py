"""Bindery uses nothing the Dapr line Azure Container Apps runs (1.16) lacks but the local one (1.18) has."""

from __future__ import annotations

import re

from tooling.paths import project_root

# Blob binding operations and metadata in components-contrib 1.18.3 that 1.16.5 does not have: on ACA an
# unknown operation is refused and `signTTL` is silently stored as blob metadata instead of signing.
BLOB_ONLY_ON_1_18 = {"presign", "bulkGet", "bulkCreate", "bulkDelete"}
METADATA_ONLY_ON_1_18 = ("signTTL", "filePath")
# The state API's KeysLike (sqlite, postgresql, redis in 1.18.3; none in 1.16.5).
STATE_ONLY_ON_1_18 = ("KeysLike", "keys_like")


def _sources() -> dict[str, str]:
    root = project_root()
    return {
        str(path.relative_to(root)): path.read_text()
        for folder in ("bindings", "functions")
        for path in (root / folder).rglob("*.py")
    }


def test_bindery_invokes_only_binding_operations_both_lines_have() -> None:
    """No presign or bulk blob operation: they exist locally (1.18) and fail on ACA (1.16)."""
    used = {
        operation
        for text in _sources().values()
        for operation in re.findall(r'invoke_binding\(\s*[^,]+,\s*"(\w+)"', text)
    }
    assert {"create", "get", "post"} <= used
    assert not used & BLOB_ONLY_ON_1_18


def test_bindery_uses_no_binding_metadata_or_state_api_only_1_18_has() -> None:
    """No signTTL/filePath blob metadata and no KeysLike state query anywhere in the apps."""
    found = [
        (name, word)
        for name, text in _sources().items()
        for word in (*METADATA_ONLY_ON_1_18, *STATE_ONLY_ON_1_18)
        if f'"{word}"' in text or (word in STATE_ONLY_ON_1_18 and word in text)
    ]
    assert found == []
