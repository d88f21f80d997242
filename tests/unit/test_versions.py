"""docs/versions.md names every pin at the version set where it lives, and the tests use the locked data."""

from __future__ import annotations

import re
import tomllib
import zoneinfo
from importlib import metadata

import babel
import babel.core

from tooling import azurite, tools
from tooling.paths import project_root

ROOT = project_root()
DOC = (ROOT / "docs" / "versions.md").read_text()


def lines_naming(name: str) -> list[str]:
    """The lines of docs/versions.md that mention `name`."""
    return [line for line in DOC.splitlines() if name in line]


def assert_pinned(name: str, version: str) -> None:
    """Some line that names `name` gives `version`."""
    assert any(version in line for line in lines_naming(name)), (name, version)


def go_mod_version(module: str, folder: str = "daprd") -> str:
    """The version deploy/<folder>/go.mod requires of `module`."""
    text = (ROOT / "deploy" / folder / "go.mod").read_text()
    match = re.search(rf"^\s*{re.escape(module)} v(\S+)\s*$", text, re.MULTILINE)
    assert match, module
    return match.group(1)


def test_the_page_names_the_daprd_build_and_its_toolchain() -> None:
    """dapr, components-contrib and the Go line are those of deploy/daprd/go.mod and deploy/daprd-aca."""
    assert_pinned("daprd (local stack", f"dapr {go_mod_version('github.com/dapr/dapr')}")
    assert_pinned(
        "daprd (local stack", f"components-contrib {go_mod_version('github.com/dapr/components-contrib')}"
    )
    aca_dapr = go_mod_version("github.com/dapr/dapr", "daprd-aca")
    aca_contrib = go_mod_version("github.com/dapr/components-contrib", "daprd-aca")
    assert_pinned("Azure Container Apps' line", f"dapr {aca_dapr}, components-contrib {aca_contrib}")
    go_line = re.search(r"^go (\S+)$", (ROOT / "deploy" / "daprd" / "go.mod").read_text(), re.MULTILINE)
    assert go_line
    assert_pinned("Go toolchain", f"go {go_line.group(1)}")


def test_the_page_names_the_tools_at_their_pins() -> None:
    """Azurite, actionlint, checkov, veraPDF and uv as the code and the tool locks pin them."""
    assert_pinned("Azurite", azurite.version())
    assert_pinned("actionlint", tools.ACTIONLINT[1])
    assert_pinned("checkov", tools.CHECKOV)
    assert_pinned("veraPDF", tools.VERAPDF)
    uv = re.search(r"^uv==(\S+) ", (ROOT / "tools" / "uv.txt").read_text(), re.MULTILINE)
    assert uv
    assert_pinned("| uv |", uv.group(1))


def test_the_page_names_the_exact_pins_of_pyproject() -> None:
    """Every `==` requirement of pyproject.toml is on the page with its version."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    texts = [
        *project["dependencies"],
        *(r for extra in project["optional-dependencies"].values() for r in extra),
    ]
    exact = {text.split("==")[0]: text.split("==")[1] for text in texts if "==" in text}
    assert exact
    for name, version in exact.items():
        assert_pinned(f"| {name} |", version)


def test_the_locale_and_time_zone_data_are_the_locked_packages() -> None:
    """CLDR comes with the locked Babel, and zoneinfo reads the locked tzdata, not the system's database."""
    assert_pinned("CLDR", f"babel {babel.__version__}")
    assert_pinned("CLDR", f"CLDR {babel.core.get_cldr_version()}")
    assert_pinned("IANA time zones", f"tzdata {metadata.version('tzdata')}")
    assert zoneinfo.TZPATH == ()
    # With no search path, a zone can only come from the tzdata package.
    assert str(zoneinfo.ZoneInfo.no_cache("Europe/Zurich")) == "Europe/Zurich"
