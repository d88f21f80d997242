"""Checks that run external tools: veraPDF (Java), checkov, hadolint, actionlint (Go), pdftoppm (poppler)."""
