"""email_webhook: SendGrid's signed event webhook: verify, then hand the batch to a queue."""
