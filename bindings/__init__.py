"""Bindery's thin framework over Dapr: the only package that imports dapr; it imports no other of ours.

Function apps import `bindings.app.FunctionApp`, `bindings.errors` and the typed ports in
`bindings.ports` (in-memory ones for tests in `bindings.testing`); what apps pass each other is
`functions.common`'s. This module imports nothing, so the CLI starts without loading dapr.
"""
