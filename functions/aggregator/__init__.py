"""aggregator: counts every domain event once, per day, currency and dimension (issue 18)."""
