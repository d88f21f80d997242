"""Unit tests of the email_send function."""
