"""This machine, as `make system` left it: every program the commands need is there."""

from __future__ import annotations

import os

import pytest

from tests.unit.test_system_packages import run


@pytest.mark.parametrize("profile", ["demo", "test"])
def test_with_everything_present_it_only_looks(profile: str) -> None:
    """On this machine (set up by make) nothing is missing: exit 0, silent."""
    done = run(profile, os.environ["PATH"])
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
