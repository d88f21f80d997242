"""Integration tests through the real daprd, Azurite and SMTP capture."""
