"""Unit tests of the tile builder."""
