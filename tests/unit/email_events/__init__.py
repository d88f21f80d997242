"""Unit tests of the SendGrid webhook verification and the email lifecycle."""
