"""Local development tooling: daprd builds, the local stack, the `bindery` command."""
