"""stripe_webhook: Stripe's signed v1 events: verify, map to Bindery's payment events, then queue them."""
