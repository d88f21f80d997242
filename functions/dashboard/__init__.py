"""dashboard: the operators' page and its tiles, read from the `tiles` store (HTTP, behind sign-in)."""
