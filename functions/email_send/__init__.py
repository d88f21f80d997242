"""email_send: templated email over the SMTP binding, sent at most once per request."""
