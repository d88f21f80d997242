"""Unit tests of the document pipelines."""
