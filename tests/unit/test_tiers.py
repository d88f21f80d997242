"""The test tiers: `make test` runs every test folder; tests/unit calls no program outside the virtualenv."""

from __future__ import annotations

import re

from tooling.paths import project_root

ROOT = project_root()
# What the unit tier must not start: the tools that need Java, Go or poppler (tests/tools runs them).
EXTERNAL = re.compile(r"\btools\.(verapdf|checkov|actionlint)\(|[\"']pdftoppm[\"']|\bstripe_mock\.")


def _folders_run_by(target: str) -> set[str]:
    """The test folders a Makefile target's pytest commands name (through `$(UNIT)` too)."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    unit = re.search(r"^UNIT := (.+)$", makefile, re.MULTILINE)
    assert unit is not None
    recipe = re.search(rf"^{target}:[^\n]*\n((?:\t[^\n]*\n)+)", makefile, re.MULTILINE)
    assert recipe is not None
    text = recipe.group(1).replace("$(UNIT)", unit.group(1))
    return set(re.findall(r"\btests/(\w+)", text))


def test_make_test_runs_every_test_folder() -> None:
    """Each folder under tests/ that holds tests is named by `make test`."""
    folders = {
        path.parent.relative_to(ROOT / "tests").parts[0] for path in (ROOT / "tests").rglob("test_*.py")
    }
    assert folders >= {"unit", "tools", "integration", "reliability"}
    assert _folders_run_by("test") == folders


def test_the_unit_tier_starts_no_external_tool() -> None:
    """No unit test builds or runs veraPDF, checkov, actionlint, pdftoppm or stripe-mock."""
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "tests" / "unit").rglob("*.py"))
        if path.name != "test_tiers.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if EXTERNAL.search(line)
    ]
    assert offenders == []
