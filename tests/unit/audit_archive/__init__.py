"""Tests of the audit archive."""
