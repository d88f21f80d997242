"""Local stand-ins for the outside services Bindery talks to: a card processor and SendGrid."""
