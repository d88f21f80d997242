"""Unit tests: pure logic, small fakes behind the typed ports."""
