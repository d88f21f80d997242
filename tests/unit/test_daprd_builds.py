"""Selecting a daprd build: by name, version or series, from an argument, $BINDERY_DAPR or the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tooling import cli, daprd
from tooling.daprd_builds import DaprdError, select


def test_nothing_selected_means_the_default_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without an argument or $BINDERY_DAPR, the default module deploy/daprd is used."""
    monkeypatch.delenv("BINDERY_DAPR", raising=False)
    assert select().name == "local"
    assert select().source_dir.name == "daprd"


@pytest.mark.parametrize("spelling", ["aca", "1.16", "1.16.x", "v1.16"])
def test_the_aca_build_is_selected_by_name_or_series(spelling: str) -> None:
    """`aca`, its minor series and `1.16.x` all name deploy/daprd-aca."""
    assert select(spelling).source_dir.name == "daprd-aca"


def test_a_pinned_version_selects_its_build() -> None:
    """The exact version a module pins selects that module."""
    for name in ("local", "aca"):
        assert select(select(name).pinned_version()).name == name


def test_the_environment_variable_selects_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """$BINDERY_DAPR picks the build when no argument does; an argument wins over it."""
    monkeypatch.setenv("BINDERY_DAPR", "aca")
    assert daprd.source_dir().name == "daprd-aca"
    assert daprd.pinned_version() == daprd.pinned_version("aca")
    assert select("local").name == "local"


@pytest.mark.parametrize("spelling", ["1.15", "1.16.99", "azure", "latest"])
def test_an_unknown_build_is_refused_naming_the_choices(spelling: str) -> None:
    """A version no module pins (or an unknown name) is an error that lists the builds."""
    with pytest.raises(DaprdError, match=r"local \(1\.\d+\.\d+\), aca \(1\.16\.\d+\)"):
        select(spelling)


def test_the_cli_passes_its_version_option_through(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`bindery daprd --version aca` prints the path of the ACA build."""
    asked: list[str | None] = []

    def find_or_build(choice: str | None = None) -> Path:
        asked.append(choice)
        return Path("bin/daprd")

    monkeypatch.setattr(daprd, "find_or_build", find_or_build)
    assert cli.main(["daprd", "--version", "aca"]) == 0
    assert asked == ["aca"]
    assert capsys.readouterr().out.strip() == str(Path("bin/daprd"))
