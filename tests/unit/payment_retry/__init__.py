"""Unit tests of the payment-retry (dunning) policy, schedule and decline classification."""
