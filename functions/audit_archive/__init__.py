"""audit-archive: every domain event kept once, rendered into one JSON-lines blob a day and topic."""
