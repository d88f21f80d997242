"""PDF/A-2b as veraPDF, the reference validator, judges it: both example documents conform.

veraPDF (pinned in tooling.tools, resolved from Maven Central with Maven on first use and run on
Java) validates every file in one JVM start: the two samples, and a plain fpdf2 file as a control
that must fail, so a validator that passes everything cannot pass this test.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fpdf import FPDF

from tests.unit.receipt_render.samples import SAMPLES
from tooling import tools

CONTROL = "plain-fpdf"


def plain_pdf() -> bytes:
    """A one-line fpdf2 document without PDF/A: no XMP metadata, a core font that is not embedded."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="not an archive")
    return bytes(pdf.output())


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The JSON report of veraPDF on the samples and the control, all in one run with the 2b profile."""
    folder = tmp_path_factory.mktemp("pdfa")
    documents = {name: render() for name, render in SAMPLES.items()} | {CONTROL: plain_pdf()}
    for name, pdf in documents.items():
        (folder / f"{name}.pdf").write_bytes(pdf)
    done = subprocess.run(
        [*tools.verapdf(), "--flavour", "2b", "--format", "json", "--maxfailuresdisplayed", "3",
         *(str(folder / f"{name}.pdf") for name in sorted(documents))],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    # veraPDF exits 1 when some file does not conform (the control); any other code is an error.
    assert done.returncode == 1, done.stderr[-2000:]
    parsed: dict[str, Any] = json.loads(done.stdout)["report"]
    return parsed


def results(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each file's validation result, keyed by its name without `.pdf`."""
    found = {}
    for job in report["jobs"]:
        (result,) = job["validationResult"]
        found[Path(job["itemDetails"]["name"]).stem] = result
    return found


def failures(result: dict[str, Any]) -> list[str]:
    """Each failed rule as `clause-test (count): description`."""
    return [
        f"{rule['clause']}-{rule['testNumber']} ({rule['failedChecks']}): {rule['description']}"
        for rule in result["details"]["ruleSummaries"]
        if rule["status"] == "failed"
    ]


def test_the_validator_is_the_pinned_verapdf_and_read_every_file(report: dict[str, Any]) -> None:
    """The report comes from the pinned veraPDF and no file failed to parse or raised an error."""
    versions = {part["id"]: part["version"] for part in report["buildInformation"]["releaseDetails"]}
    assert versions["validation-model"] == tools.VERAPDF
    summary = report["batchSummary"]
    assert summary["totalJobs"] == len(SAMPLES) + 1
    assert summary["failedParsingJobs"] == summary["veraExceptions"] == summary["outOfMemory"] == 0
    assert summary["validationSummary"]["failedJobCount"] == 0
    assert set(results(report)) == {*SAMPLES, CONTROL}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_template_is_valid_pdf_a_2b(name: str, report: dict[str, Any]) -> None:
    """Every rule of the PDF/A-2B profile passes for the template's sample document."""
    result = results(report)[name]
    assert result["profileName"] == "PDF/A-2B validation profile"
    assert failures(result) == []
    assert result["compliant"] is True
    assert result["details"]["passedRules"] > 100


def test_a_pdf_that_is_not_pdf_a_fails(report: dict[str, Any]) -> None:
    """The control fails for its missing XMP metadata and its unembedded font, so the check has teeth."""
    result = results(report)[CONTROL]
    assert result["compliant"] is False
    failed = {line.split(" ")[0] for line in failures(result)}
    assert {"6.6.2.1-1", "6.2.11.4.1-1"} <= failed
