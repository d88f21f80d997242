"""email_events: apply verified SendGrid events to each email's timeline and the suppression list."""
