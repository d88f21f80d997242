"""The contracts between function apps: messages, app and component names, and the ports they share.

Each function imports the framework (`bindings`) and this package, never another function.
"""
