"""The invariant table every reliability run ends with: one row per invariant, expected against observed."""

from __future__ import annotations

Row = tuple[str, str, str, bool]  # invariant, expected, observed, holds


def table(rows: list[Row]) -> str:
    """Format `rows` as a fixed-width table; a failing invariant says NO."""
    width = max(len(name) for name, *_ in rows)
    lines = [f"{'INVARIANT':{width}}  {'EXPECTED':>8}  {'OBSERVED':>8}  OK"]
    lines += [f"{name:{width}}  {want:>8}  {got:>8}  {'yes' if ok else 'NO'}" for name, want, got, ok in rows]
    return "\n".join(lines)
