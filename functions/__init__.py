"""Bindery's function apps: one small package each, `app.py` holding the app object."""
