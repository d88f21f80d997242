"""Unit tests of the dashboard app: its routes, its files and its answers when the store fails."""
