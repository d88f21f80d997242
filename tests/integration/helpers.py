"""Helpers for integration tests: polling, probe records, the probe app spec."""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from functions.common import names
from functions.email_webhook.app import PATH
from tooling.paths import project_root
from tooling.sidecar import AppSpec

if TYPE_CHECKING:
    from tooling.stack import Stack

HERE = Path(__file__).parent
# The state stores a PostgreSQL run renders as state.postgresql (Azure deploys them so).
STORES = (names.STATESTORE, names.EMAIL_STATE, names.BILLING_STATE, names.AGGREGATES, names.ARCHIVE_STATE)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The JSON lines written so far (none if the file does not exist yet).

    A last line without its newline is still being written (the writers end every line with one): it is
    left for the next read instead of failing to parse.
    """
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().split("\n")[:-1] if line.strip()]


def probe_spec(app_id: str, log: Path, **env: str) -> AppSpec:
    """The probe app as `app_id`, recording to `log`."""
    return AppSpec(
        app_id,
        "probe_app",
        env={"PYTHONPATH": str(HERE / "probe"), "PROBE_LOG": str(log), "PROBE_APP_ID": app_id, **env},
    )


def post_webhook(stack: Stack, body: bytes, headers: dict[str, str]) -> int:
    """POST `body` to email-webhook; the HTTP status, or 0 when nothing answered."""
    port = stack.apps[names.EMAIL_WEBHOOK].ports.app
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{PATH}", data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def midday_zone(now: datetime) -> str:
    """A fixed-offset IANA zone where it is about noon now: dunning emails are held in quiet hours."""
    offset = 12 - now.hour
    offset = offset + 24 if offset < -12 else offset - 24 if offset > 14 else offset
    return f"Etc/GMT{-offset:+d}"  # POSIX sign: Etc/GMT-5 is UTC+5


def postgres_components(folder: Path, connection: str) -> Path:
    """components/local copied into `folder`, every state store as state.postgresql v2 (azure's tables)."""
    for path in (project_root() / "components" / "local").glob("*.yaml"):
        doc: dict[str, Any] = yaml.safe_load(path.read_text())
        if doc["metadata"]["name"] not in STORES:
            shutil.copy(path, folder / path.name)  # as it is: its placeholders are rendered later
            continue
        # The key prefix of the local component, the table prefix of the deployed one (as in Azure).
        deployed = yaml.safe_load((project_root() / "components" / "azure" / path.name).read_text())
        kept = [item for item in doc["spec"]["metadata"] if item["name"] == "keyPrefix"]
        kept += [item for item in deployed["spec"]["metadata"] if item["name"] == "tablePrefix"]
        doc["spec"] = {
            "type": "state.postgresql",
            "version": "v2",
            "metadata": [{"name": "connectionString", "value": connection}, *kept],
        }
        (folder / path.name).write_text(yaml.safe_dump(doc, sort_keys=False))
    return folder


def publish_event(stack: Stack, app: str, topic: str, event: dict[str, object]) -> None:
    """Publish `event` as JSON on `topic` of domain-events through `app`'s daprd, as a publisher would."""
    port = stack.apps[app].ports.http
    headers = {"Content-Type": "application/json"}
    if stack.dapr_token:
        headers["dapr-api-token"] = stack.dapr_token
    url = f"http://127.0.0.1:{port}/v1.0/publish/{names.DOMAIN_EVENTS}/{topic}"
    request = urllib.request.Request(url, data=json.dumps(event).encode(), headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
        assert answer.status == 204
