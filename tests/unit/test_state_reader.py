"""`bindery cases|emails --state-url`: the deployed tables, and a clear error when unreadable."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tooling import state_reader
from tooling.procs import free_port


@pytest.mark.parametrize(
    ("read", "table"),
    [
        (lambda url: state_reader.emails_text(url, None, "unknown"), '"bindery_email_state"'),
        (lambda url: state_reader.cases_text(url, None, None), '"bindery_state"'),
    ],
)
def test_an_unreachable_store_is_a_clear_error_naming_the_deployed_table(
    read: Callable[[str], str], table: str
) -> None:
    """Each command reads its store's table (components/azure's tablePrefix); a refused connection says so."""
    url = f"host=127.0.0.1 port={free_port()} dbname=postgres user=bindery"
    with pytest.raises(ValueError, match="cannot read the state store") as caught:
        read(url)
    assert table in str(caught.value)
    assert "Connection refused" in str(caught.value)
