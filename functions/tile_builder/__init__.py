"""tile-builder: builds the dashboard's tiles from the aggregator's counters (issue 19)."""
