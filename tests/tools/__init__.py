"""Checks that run other programs: veraPDF, checkov, hadolint, actionlint, pdftoppm, the bench harness."""
