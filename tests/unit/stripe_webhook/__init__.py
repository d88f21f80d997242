"""Unit tests of the Stripe webhook intake: signatures, the mapping to payment events, the HTTP app."""
