"""Dunning: the failed-payment retry policy (versioned data) and its pure schedule and decline logic."""
