"""Bindery's thin framework over Dapr: the only package that imports dapr.

Function apps import `bindings.app.FunctionApp`, `bindings.errors` and the typed ports in
`bindings.ports`. This module imports nothing, so the CLI starts without loading dapr.
"""
